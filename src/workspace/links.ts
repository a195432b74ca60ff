/**
 * Group ↔ team/channel links (Mattermost GroupTeams/GroupChannels, `POST/PUT/DELETE /groups/{id}/{teams|channels}/
 * {id}/link`, api4/group.go). Linking, changing or unlinking reconciles that team or channel at once, as Mattermost
 * starts `SyncRolesAndMembership` for the syncable (server/channels/app/syncables.go).
 */
import type { Knex } from 'knex';
import { LINK_OPERATIONS, writeAudit } from '../store/audit.js';
import {
  deleteLink, findLiveGroup, getLink, getLiveGroup, insertLink, listGroupsWithLinks, updateLink, type GroupRef, type SyncableKind,
} from '../store/workspace.js';
import { groupLinksOut, linkOut } from './representation.js';
import { emptyStats, type AuditCtx, type ReconcileStats, type SyncEngine } from '../sync/engine.js';
import { readChannel } from './channels.js';
import { auditOf, type WorkspaceCtx } from './context.js';
import { badRequest, notFound } from './errors.js';
import { assertLive, readTeam } from './teams.js';

/**
 * What a link says. `allowGuests` (default false): whether the link adds guests too. Mattermost's group sync adds
 * guests like anyone (`TeamMembersToAdd` has no role filter, sqlstore/group_store.go); here a guest gets only what
 * an admin explicitly opened to guests (README "Guests"). Like auto_add, it governs adding only: turning it off
 * removes no guest, and a link permits a guest's membership of a constrained team whatever it says (rules.ts
 * grantsTeam), so a member who becomes a guest keeps their memberships (Mattermost `DemoteUserToGuest`).
 */
export interface LinkInput { autoAdd?: boolean; schemeAdmin?: boolean; allowGuests?: boolean }

type LinkFlags = { autoAdd: boolean; schemeAdmin: boolean; allowGuests: boolean };

export interface LinkResult {
  link: ReturnType<typeof linkOut>;
  created: boolean;
  changed: boolean;
  reconcile: ReconcileStats;
}

function checkInput(v: LinkInput): LinkFlags {
  for (const k of ['autoAdd', 'schemeAdmin', 'allowGuests'] as const) {
    if (v[k] !== undefined && typeof v[k] !== 'boolean') throw badRequest('invalid_value', `${k} must be a boolean`);
  }
  return { autoAdd: v.autoAdd ?? true, schemeAdmin: v.schemeAdmin ?? false, allowGuests: v.allowGuests ?? false };
}

const sameFlags = (a: LinkFlags, b: LinkFlags): boolean => a.autoAdd === b.autoAdd && a.schemeAdmin === b.schemeAdmin && a.allowGuests === b.allowGuests;

async function liveSyncable(tx: Knex.Transaction, kind: SyncableKind, id: string): Promise<void> {
  if (kind === 'team') {
    const t = await readTeam(tx, id);
    assertLive(t, `team ${t.name}`);
  } else {
    const c = await readChannel(tx, id);
    assertLive(c, `channel ${c.name}`);
    const t = await readTeam(tx, c.team_id);
    assertLive(t, `team ${t.name}`);
  }
}

/**
 * Create or change a link inside the caller's transaction. `reconcile: 'always'` (admin API, CLI) syncs the team or
 * channel even when nothing changed, as Mattermost does on every link/patch; 'ifChanged' (the mapping file, applied
 * on every group rename and start) only when the link was created or changed.
 */
export async function linkTx(
  tx: Knex.Transaction, sync: SyncEngine, kind: SyncableKind, groupId: string, syncableId: string, input: LinkInput, a: AuditCtx,
  opts: { reconcile: 'always' | 'ifChanged'; cause?: string } = { reconcile: 'always' },
): Promise<LinkResult> {
  const v = checkInput(input);
  if (!(await getLiveGroup(tx, groupId, { forUpdate: true }))) throw notFound('group', groupId);
  await liveSyncable(tx, kind, syncableId);
  const now = Date.now();
  const existing = await getLink(tx, kind, groupId, syncableId);
  let changed = false;
  if (!existing) {
    await insertLink(tx, kind, groupId, syncableId, { ...v, now });
    changed = true;
  } else if (!sameFlags(linkOut(kind, existing), v)) {
    await updateLink(tx, kind, groupId, syncableId, { ...v, now });
    changed = true;
  }
  const row = (await getLink(tx, kind, groupId, syncableId))!;
  if (changed) {
    await writeAudit(tx, {
      ...a, operation: LINK_OPERATIONS[kind][existing ? 'update' : 'link'], resourceType: 'Link', resourceId: groupId, cause: opts.cause ?? null,
      before: existing ? linkOut(kind, existing) : null, after: linkOut(kind, row),
    });
  }
  const reconcile = changed || opts.reconcile === 'always'
    ? await sync.reconcile(tx, kind === 'team' ? { teamId: syncableId } : { channelId: syncableId }, {}, a)
    : emptyStats();
  return { link: linkOut(kind, row), created: !existing, changed, reconcile };
}

export async function link(ctx: WorkspaceCtx, kind: SyncableKind, groupId: string, syncableId: string, input: LinkInput): Promise<LinkResult> {
  return ctx.db.transaction((tx) => linkTx(tx, ctx.sync, kind, groupId, syncableId, input, auditOf(ctx)));
}

/**
 * Unlink and reconcile: a constrained team or channel loses the members only this group permitted. Unconstrained
 * ones keep everyone (Mattermost docs: removing a team or channel from a group "will not remove" existing members).
 * The link row is deleted (our links carry no deleted_at; relinking starts afresh).
 */
export async function unlink(ctx: WorkspaceCtx, kind: SyncableKind, groupId: string, syncableId: string): Promise<{ reconcile: ReconcileStats }> {
  return ctx.db.transaction(async (tx) => {
    // The group row, as in linkTx: a member added meanwhile must see either the link or its absence, not both.
    await getLiveGroup(tx, groupId, { forUpdate: true });
    const existing = await getLink(tx, kind, groupId, syncableId);
    if (!existing) throw notFound(`link of group ${groupId} to ${kind}`, syncableId);
    await deleteLink(tx, kind, groupId, syncableId);
    await writeAudit(tx, { ...auditOf(ctx), operation: LINK_OPERATIONS[kind].unlink, resourceType: 'Link', resourceId: groupId, before: linkOut(kind, existing) });
    const reconcile = await ctx.sync.reconcile(tx, kind === 'team' ? { teamId: syncableId } : { channelId: syncableId }, {}, auditOf(ctx));
    return { reconcile };
  });
}

export async function listGroups(ctx: WorkspaceCtx, q: { limit: number; after?: string }) {
  const items = (await listGroupsWithLinks(ctx.db, q)).map(groupLinksOut);
  return { items, next: items.length === q.limit ? items[items.length - 1]!.id : null };
}

export async function readGroup(ctx: WorkspaceCtx, id: string) {
  const [g] = await listGroupsWithLinks(ctx.db, { limit: 1, id });
  if (!g) throw notFound('group', id);
  return groupLinksOut(g);
}

/** A group named by id, exact externalId or exact displayName (CLI convenience), in that order. */
export async function resolveGroup(db: Knex | Knex.Transaction, ref: string): Promise<GroupRef> {
  const g = (await getLiveGroup(db, ref)) ?? (await findLiveGroup(db, { externalId: ref })) ?? (await findLiveGroup(db, { displayName: ref }));
  if (!g) throw notFound('group', ref);
  return g;
}
