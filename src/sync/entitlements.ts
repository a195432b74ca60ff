/**
 * Okta entitlements as memberships. A person's `entitlements[].value` naming one of the workspace's entitlements
 * (src/scim/shared/entitlement-id.ts; /Entitlements lists them) makes them a member of that team or channel, and its
 * admin flavour a team or channel admin; taking the entitlement away takes away what it gave. Run in the user's
 * transaction when their entitlements change (or they come back), with audit rows of cause `entitlement`.
 *
 * The rules, and where they come from:
 * - A membership an entitlement makes is recorded as `added_by = 'entitlement'`; removing the entitlement tombstones
 *   exactly those (`removed_by = 'entitlement'`, which the group sync treats as its own: a link that grants the
 *   membership again brings it back), unless a live linked group grants the membership too. Memberships an admin or
 *   a group gave are never removed by an entitlement.
 * - A channel needs its team first (Mattermost `AddChannelMember` fails for someone who is not on the team), so a
 *   channel entitlement brings the team in; joining a team joins its default channels (`JoinDefaultChannels`).
 * - Constrained teams and channels admit only people their linked groups hold (Mattermost group-constrained rules),
 *   and their admins are the links' to decide (`SyncSyncableRoles`): an entitlement does not override either.
 * - Newly granted, an entitlement brings back a membership the person left or an admin removed (it is a direct,
 *   per-person grant, like an admin's re-add); otherwise only tombstones the sync or an entitlement made come back.
 * - Joining a team this way joins its default channels, except for a guest (`JoinUserToTeam` skips them for guests).
 * - Guests may be given teams and channels this way (how Mattermost gives guests access: explicitly), but are
 *   never admins (Mattermost: a guest member cannot have scheme_admin).
 * - A deactivated or deleted person is given nothing until they are back; removals still apply.
 */
import type { Logger } from '../log.js';
import type { RoleMapping } from '../config/roles.js';
import { MEMBER_OPERATIONS, writeAuditMany, type AuditEntry } from '../store/audit.js';
import type { Tx } from '../store/db.js';
import type { ValueRow } from '../store/users.js';
import {
  entitlementMemberships, granteeOf, insertGranted, liveSyncablesNamed, membershipsOf, reviveGranted, setMemberAdmin, type Kind, type Syncable,
} from '../store/entitlement-grants.js';
import { liveChannelIdsInTeam, tombstoneMember } from '../store/workspace.js';
import { defaultChannelCandidates, isRemovedBySync } from '../store/group-sync/rules.js';
import { insertMissing, reviveTombstoned, type Changed } from '../store/group-sync/statements.js';
import { formatEntitlement, parseEntitlement, type EntitlementRef } from '../scim/shared/entitlement-id.js';
import type { AuditCtx } from './engine.js';

/** The entitlement values of a user's stored or written values, lower-cased, unique and sorted (comparable). */
export function entitlementValues(values: readonly ValueRow[]): string[] {
  return [...new Set(values.filter((v) => v.attr === 'entitlements' && v.value).map((v) => v.value!.trim().toLowerCase()))].sort();
}

export interface EntitlementChange { userId: string; before: readonly string[]; after: readonly string[]; mapping: RoleMapping; log: Logger }

/** Values that name none of our entitlements, logged once per process (bounded, as for unmapped roles). */
const reported = new Set<string>();
function reportIgnored(log: Logger, value: string, reason: string): void {
  if (reported.has(value) || reported.size >= 1000) return;
  reported.add(value);
  log.warn('entitlement value kept on the user and ignored', { entitlement: value.slice(0, 100), reason });
}

/** The refs of the values that are ours (admin flavours only when the mapping offers them), by id. */
function refsOf(values: readonly string[], c: EntitlementChange): Map<string, EntitlementRef> {
  const out = new Map<string, EntitlementRef>();
  for (const v of values) {
    const ref = parseEntitlement(v);
    if (!ref) reportIgnored(c.log, v, 'not a workspace entitlement (team:<team>, channel:<team>:<channel>)');
    else if (ref.admin && !c.mapping.adminEntitlements) reportIgnored(c.log, v, 'admin entitlements are not offered (adminEntitlements in ROLE_MAPPING_FILE)');
    else out.set(formatEntitlement(ref), ref);
  }
  return out;
}


interface Want { admin: boolean; fresh: boolean; entitlement: string }

function want(map: Map<string, Want>, id: string, w: Want): void {
  const had = map.get(id);
  map.set(id, had ? { admin: had.admin || w.admin, fresh: had.fresh || w.fresh, entitlement: had.admin || !w.admin ? had.entitlement : w.entitlement } : w);
}

export async function convergeEntitlements(tx: Tx, c: EntitlementChange, a: AuditCtx): Promise<void> {
  const wanted = refsOf(c.after, c);
  const had = refsOf(c.before, c);
  const user = await granteeOf(tx, c.userId);
  if (!user || user.deleted) return;
  const refs = [...wanted.values(), ...had.values()];
  const named = await liveSyncablesNamed(tx, refs.filter((r) => r.kind === 'team').map((r) => r.team), refs.flatMap((r) => (r.kind === 'channel' ? [{ team: r.team, channel: r.channel }] : [])));
  const syncableOf = (r: EntitlementRef): Syncable | undefined => (r.kind === 'team' ? named.teams.get(r.team) : named.channels.get(`${r.team}/${r.channel}`));

  // What the entitlements now ask for: teams (a channel's team too) and channels.
  const teams = new Map<string, Want>();
  const channels = new Map<string, Want & { teamId: string }>();
  for (const [id, r] of wanted) {
    const s = syncableOf(r);
    if (!s) { reportIgnored(c.log, id, 'no live team or channel of that name'); continue; }
    const fresh = !had.has(id);
    if (r.kind === 'team') want(teams, s.id, { admin: r.admin, fresh, entitlement: id });
    else {
      want(teams, s.teamId, { admin: false, fresh, entitlement: id });
      const prev = channels.get(s.id);
      channels.set(s.id, { admin: r.admin || !!prev?.admin, fresh: fresh || !!prev?.fresh, entitlement: prev && !r.admin ? prev.entitlement : id, teamId: s.teamId });
    }
  }

  const j = new Entries(a);
  const now = Date.now();
  if (user.active) {
    const live = await grant(tx, 'team', c, teams, new Map([...named.teams.values()].map((s) => [s.id, s])), user.guest, j, now);
    const joined = j.takeJoins();
    await joinDefaultChannels(tx, joined, j, now);
    const inTeam = new Map([...channels].filter(([, w]) => live.has(w.teamId)));
    await grant(tx, 'channel', c, inTeam, new Map([...named.channels.values()].map((s) => [s.id, s])), user.guest, j, now);
  }
  await revoke(tx, c, teams, channels, j, now);
  await demote(tx, c, wanted, had, syncableOf, j, now);
  await j.flush(tx);
}

/**
 * Give the wanted memberships of one kind; answers the syncables the person is now a live member of. Admin
 * flavours promote too, where the links do not decide the role.
 */
async function grant(tx: Tx, kind: Kind, c: EntitlementChange, wanted: Map<string, Want>, syncables: Map<string, Syncable>, guest: boolean, j: Entries, now: number): Promise<Set<string>> {
  const live = new Set<string>();
  const state = await membershipsOf(tx, kind, c.userId, [...wanted.keys()]);
  for (const [id, w] of wanted) {
    const s = syncables.get(id)!;
    const m = state.get(id);
    if (!m) continue;
    if (s.constrained && !m.permitted) {
      // Mattermost admits no outsider to a group-constrained team or channel, whoever adds them.
      c.log.info('entitlement not applied: group-constrained and no linked group holds the person', { userId: c.userId, entitlement: w.entitlement });
      if (m.row?.live) live.add(id);
      continue;
    }
    const admin = !guest && (m.linkAdmin || (w.admin && !s.constrained));
    if (!m.row) {
      if (await insertGranted(tx, kind, id, c.userId, admin, now)) j.add(kind, id, c.userId, admin, w.entitlement, false);
      live.add(id);
    } else if (!m.row.live) {
      if (w.fresh || isRemovedBySync(m.row.removedBy)) {
        if (await reviveGranted(tx, kind, id, c.userId, admin, now)) j.add(kind, id, c.userId, admin, w.entitlement, true);
        live.add(id);
      } else {
        c.log.info('entitlement not applied: the person left or an admin removed them', { userId: c.userId, entitlement: w.entitlement, removedBy: m.row.removedBy });
      }
    } else {
      live.add(id);
      if (admin && !m.row.schemeAdmin && (await setMemberAdmin(tx, kind, id, c.userId, true, now))) j.role(kind, id, c.userId, true, w.entitlement);
    }
  }
  return live;
}

/** A team joined through an entitlement joins its default channels, as every team join does (`JoinDefaultChannels`). */
async function joinDefaultChannels(tx: Tx, joined: { syncableId: string; userId: string; readded: boolean }[], j: Entries, now: number): Promise<void> {
  for (const t of joined) {
    const source = defaultChannelCandidates(t.syncableId, [t.userId]);
    j.defaults(await insertMissing(tx, source, now), false);
    if (t.readded) j.defaults(await reviveTombstoned(tx, source, 'sync', now), true);
  }
}

/** Take away what entitlements no longer held gave: channels first, then teams (leaving a team leaves its channels). */
async function revoke(tx: Tx, c: EntitlementChange, teams: Map<string, Want>, channels: Map<string, Want>, j: Entries, now: number): Promise<void> {
  const made = await entitlementMemberships(tx, c.userId);
  for (const ch of made.channels) {
    if (channels.has(ch.id) || ch.permitted) continue;
    if (await tombstoneMember(tx, 'channel', ch.id, c.userId, 'entitlement', now)) j.remove('channel', ch.id, c.userId, 'entitlement');
  }
  for (const t of made.teams) {
    if (teams.has(t.id) || t.permitted) continue;
    if (!(await tombstoneMember(tx, 'team', t.id, c.userId, 'entitlement', now))) continue;
    j.remove('team', t.id, c.userId, 'entitlement');
    for (const channelId of await liveChannelIdsInTeam(tx, t.id, c.userId)) {
      if (await tombstoneMember(tx, 'channel', channelId, c.userId, `team:${t.id}`, now)) j.remove('channel', channelId, c.userId, `team:${t.id}`);
    }
  }
}

/** An admin flavour taken away demotes, unless a scheme_admin link (or another admin entitlement) still makes them admin. */
async function demote(tx: Tx, c: EntitlementChange, wanted: Map<string, EntitlementRef>, had: Map<string, EntitlementRef>, syncableOf: (r: EntitlementRef) => Syncable | undefined, j: Entries, now: number): Promise<void> {
  for (const [id, r] of had) {
    if (!r.admin || wanted.has(id)) continue;
    const s = syncableOf(r);
    if (!s || s.constrained) continue; // a constrained syncable's admins are its links' (the sync demotes there)
    const m = (await membershipsOf(tx, r.kind, c.userId, [s.id])).get(s.id);
    if (!m?.row?.live || !m.row.schemeAdmin || m.linkAdmin) continue;
    if (await setMemberAdmin(tx, r.kind, s.id, c.userId, false, now)) j.role(r.kind, s.id, c.userId, false, id);
  }
}

/** The audit rows of one convergence, in the shape the group sync writes them (src/sync/engine.ts Journal). */
class Entries {
  private rows: AuditEntry[] = [];
  private joins: { syncableId: string; userId: string; readded: boolean }[] = [];
  constructor(private readonly a: AuditCtx) {}

  private resource = (kind: Kind) => (kind === 'team' ? 'TeamMember' as const : 'ChannelMember' as const);

  add(kind: Kind, id: string, userId: string, schemeAdmin: boolean, entitlement: string, readded: boolean): void {
    if (kind === 'team') this.joins.push({ syncableId: id, userId, readded });
    this.rows.push({
      ...this.a, operation: MEMBER_OPERATIONS[kind].add, resourceType: this.resource(kind), resourceId: userId, cause: 'entitlement',
      after: { [`${kind}Id`]: id, userId, schemeAdmin, entitlement, ...(readded ? { readded: true } : {}) },
    });
  }

  /** The team joins recorded since the last call (their default channels are joined next). */
  takeJoins(): { syncableId: string; userId: string; readded: boolean }[] {
    const out = this.joins;
    this.joins = [];
    return out;
  }

  defaults(list: Changed[], readded: boolean): void {
    for (const ch of list) {
      this.rows.push({
        ...this.a, operation: 'channel_add', resourceType: 'ChannelMember', resourceId: ch.userId, cause: ch.cause ?? 'default_channel',
        after: { channelId: ch.syncableId, userId: ch.userId, schemeAdmin: ch.schemeAdmin, ...(readded ? { readded: true } : {}) },
      });
    }
  }

  remove(kind: Kind, id: string, userId: string, cause: string): void {
    this.rows.push({ ...this.a, operation: MEMBER_OPERATIONS[kind].remove, resourceType: this.resource(kind), resourceId: userId, cause, before: { [`${kind}Id`]: id, userId } });
  }

  role(kind: Kind, id: string, userId: string, admin: boolean, entitlement: string): void {
    this.rows.push({
      ...this.a, operation: MEMBER_OPERATIONS[kind][admin ? 'promote' : 'demote'], resourceType: this.resource(kind), resourceId: userId, cause: 'entitlement',
      before: { schemeAdmin: !admin }, after: { [`${kind}Id`]: id, userId, schemeAdmin: admin, entitlement },
    });
  }

  async flush(tx: Tx): Promise<void> {
    if (this.rows.length) await writeAuditMany(tx, this.rows);
    this.rows = [];
  }
}
