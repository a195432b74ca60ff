/**
 * Applying mapping rules (src/workspace/mapping-file.ts): when a group appears, is renamed, rebound or restored (the
 * group lifecycle calls them through its `applyGroupRules` port, inside the SCIM transaction) and at start-up for the
 * groups that already exist. Applying a rule links the group
 * to the team or channel, creating them if the rule says so, and reconciles that team or channel when the link was
 * created or changed. A rule that cannot apply (no such team and no createTeam, archived team...) never fails the
 * SCIM request: it is recorded in the audit log as `mapping_skipped`.
 */
import type { Knex } from 'knex';
import { writeAudit } from '../store/audit.js';
import { findLiveGroup, findLiveGroupsByName, getChannelByName, getTeamByName } from '../store/workspace.js';
import { createChannelTx } from './channels.js';
import { linkTx } from './links.js';
import { createTeamTx } from './teams.js';
import type { AuditCtx, SyncEngine } from '../sync/engine.js';
import type { ApplyGroupRules, NamedGroup } from '../scim/use-cases/context.js';
import { ruleMatches, type MappingRule } from './mapping-file.js';

export type RuleOutcome = { rule: MappingRule; result: 'linked' | 'unchanged' | 'skipped'; reason?: string };

/** How a skipped rule is reported: an audit row inside a SCIM request, the start-up log line otherwise. */
export interface ApplyOptions { auditSkips: boolean }

export async function applyRule(
  tx: Knex.Transaction, sync: SyncEngine, groupId: string, rule: MappingRule, a: AuditCtx, apply: ApplyOptions = { auditSkips: true },
): Promise<RuleOutcome> {
  const skip = async (reason: string): Promise<RuleOutcome> => {
    if (apply.auditSkips) await writeAudit(tx, { ...a, operation: 'mapping_skipped', resourceType: 'Link', resourceId: groupId, cause: 'mapping', after: { rule, reason } });
    return { rule, result: 'skipped', reason };
  };
  let team = await getTeamByName(tx, rule.team);
  if (!team) {
    if (!rule.createTeam) return skip(`no team named "${rule.team}"`);
    await createTeamTx(tx, sync, { name: rule.team, ...rule.createTeam }, { ...a });
    team = (await getTeamByName(tx, rule.team))!;
  }
  if (team.archived_at != null) return skip(`team "${rule.team}" is archived`);
  const link = { autoAdd: rule.autoAdd, schemeAdmin: rule.schemeAdmin, allowGuests: rule.allowGuests };
  const opts = { reconcile: 'ifChanged' as const, cause: 'mapping' };
  if (rule.channel === undefined) {
    const r = await linkTx(tx, sync, 'team', groupId, team.id, link, a, opts);
    return { rule, result: r.changed ? 'linked' : 'unchanged' };
  }
  let channel = await getChannelByName(tx, team.id, rule.channel);
  if (!channel) {
    if (!rule.createChannel) return skip(`team "${rule.team}" has no channel named "${rule.channel}"`);
    const { displayName, type, groupConstrained } = rule.createChannel;
    await createChannelTx(tx, team.id, { name: rule.channel, displayName, type, groupConstrained }, a);
    channel = (await getChannelByName(tx, team.id, rule.channel))!;
  }
  if (channel.archived_at != null) return skip(`channel "${rule.channel}" is archived`);
  const r = await linkTx(tx, sync, 'channel', groupId, channel.id, link, a, opts);
  return { rule, result: r.changed ? 'linked' : 'unchanged' };
}

/** The rules naming this group, applied in file order. */
export async function applyRulesToGroup(
  tx: Knex.Transaction, sync: SyncEngine, group: NamedGroup, rules: MappingRule[], a: AuditCtx,
): Promise<RuleOutcome[]> {
  const out: RuleOutcome[] = [];
  for (const rule of rules) if (ruleMatches(rule, group)) out.push(await applyRule(tx, sync, group.id, rule, a));
  return out;
}

/** The group lifecycle's `applyGroupRules` port for these rules (the file's, in file order). */
export function groupRulesPort(sync: SyncEngine, rules: MappingRule[]): ApplyGroupRules {
  return async (tx, group, a) => {
    if (rules.length) await applyRulesToGroup(tx, sync, group, rules, a);
  };
}

/**
 * At start-up: every rule whose group exists now, one transaction per rule and group. A displayName rule applies to
 * every live group of that name (display names are not unique, RFC 7643 §4.2), as it does when such a group is
 * created or renamed; an externalId names one group. Rules whose group does not exist yet wait for the group (the
 * lifecycle's `applyGroupRules` when it appears). Idempotent: an unchanged link is not reconciled again.
 */
export async function applyMappingsAtStart(
  db: Knex, sync: SyncEngine, rules: MappingRule[], a: AuditCtx,
): Promise<{ linked: number; unchanged: number; skipped: number; waiting: number; skips: { rule: number; reason: string }[] }> {
  const counts = { linked: 0, unchanged: 0, skipped: 0, waiting: 0, skips: [] as { rule: number; reason: string }[] };
  for (const [i, rule] of rules.entries()) {
    const groups = 'externalId' in rule.group ? [await findLiveGroup(db, rule.group)].filter((g) => g !== undefined) : await findLiveGroupsByName(db, rule.group.displayName);
    if (groups.length === 0) {
      counts.waiting++;
      continue;
    }
    for (const group of groups) {
      const r = await db.transaction((tx) => applyRule(tx, sync, group.id, rule, a, { auditSkips: false }));
      counts[r.result]++;
      if (r.reason) counts.skips.push({ rule: i, reason: r.reason });
    }
  }
  return counts;
}
