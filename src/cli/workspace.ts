/**
 * Workspace commands: `team`, `channel` (with `members`: who is in it), `link`, `unlink`, `reconcile`, `memberships`. They call the same
 * use-cases as the admin API (src/workspace/), not HTTP, so the rules, transactions and audit rows are identical;
 * the audit actor is `admin:cli:<os user>`. Teams and channels are named by id or name, groups by id, externalId or
 * exact displayName (refused when several groups have it).
 */
import type { Command } from 'commander';
import type { Knex } from 'knex';
import { findLiveGroup, findLiveGroupsByName, getChannel, getChannelByName, getLiveGroup, getTeam, getTeamByName, type ChannelRow, type TeamRow } from '../store/workspace.js';
import { findUserId } from '../store/users.js';
import { SyncEngine } from '../sync/engine.js';
import { AppError } from '../errors/app-error.js';
import { archiveChannel, createChannel, listChannels, updateChannel } from '../workspace/channels.js';
import type { WorkspaceCtx } from '../workspace/context.js';
import { link, resolveGroup, unlink } from '../workspace/links.js';
import { listMembers, membershipsOf } from '../workspace/members.js';
import { previewReconcile, runReconcile } from '../workspace/reconcile.js';
import { archiveTeam, createTeam, listTeams, updateTeam } from '../workspace/teams.js';
import { actor, CliError, note, withDb } from './context.js';
import { printJson as json, printList } from './output.js';
import { collectPages, noteMore, type PageOptions } from './paging.js';
import { startProgress } from './progress.js';

/** Open the database, build the use-case context, turn use-case errors into one-line CLI errors. */
async function withWorkspace<T>(fn: (ctx: WorkspaceCtx) => Promise<T>): Promise<T> {
  return withDb(async (db, config) => {
    const sync = new SyncEngine({ defaultChannels: config.defaultChannels });
    try {
      return await fn({ db, sync, actor: `admin:${actor()}` });
    } catch (err) {
      if (err instanceof AppError) throw new CliError(err.message);
      throw err;
    }
  });
}

async function teamRef(db: Knex, ref: string): Promise<TeamRow> {
  const t = (await getTeam(db, ref)) ?? (await getTeamByName(db, ref));
  if (!t) throw new CliError(`no team with id or name "${ref}"`);
  return t;
}

/**
 * A group by id, externalId or exact displayName. Display names are not unique (RFC 7643 §4.2): a name two live
 * groups share is refused with their ids, never resolved to one of them by chance.
 */
async function groupRef(db: Knex, ref: string) {
  const byId = (await getLiveGroup(db, ref)) ?? (await findLiveGroup(db, { externalId: ref }));
  if (byId) return byId;
  const named = await findLiveGroupsByName(db, ref);
  if (named.length > 1) {
    throw new CliError(`"${ref}" is the displayName of ${named.length} groups: ${named.map((g) => `${g.id}${g.external_id ? ` (externalId ${g.external_id})` : ''}`).join(', ')}; name the group by id or externalId`);
  }
  return resolveGroup(db, ref);
}

async function channelRef(db: Knex, team: TeamRow, ref: string): Promise<ChannelRow> {
  const c = (await getChannelByName(db, team.id, ref)) ?? (await getChannel(db, ref));
  if (!c || c.team_id !== team.id) throw new CliError(`team ${team.name} has no channel with id or name "${ref}"`);
  return c;
}

interface MemberListOptions extends PageOptions { active?: boolean; removed?: boolean; json?: boolean }

/** `team members` and `channel members`: the listing of GET /admin/v1/teams/<t>/members (src/workspace/members.ts). */
async function printMembers(ctx: WorkspaceCtx, kind: 'team' | 'channel', ref: string, o: MemberListOptions): Promise<void> {
  if (o.active && o.removed) throw new CliError('give --active or --removed, not both');
  const active = o.active ? true : o.removed ? false : undefined;
  const { items, next } = await collectPages(o, (page) => listMembers(ctx, kind, ref, { ...page, ...(active !== undefined ? { active } : {}) }));
  printList(items, [
    'userName', 'role', 'cause', { header: 'member', value: (m) => (m.active ? 'yes' : 'removed') }, 'userActive', 'addedBy', { header: 'since', value: 'createdAt' },
    'removedBy', 'userId',
  ], o);
  noteMore(next);
}

/** The paging and filter options of a member listing. */
function memberListOptions(c: Command): Command {
  return c
    .option('--active', 'only live memberships')
    .option('--removed', 'only removed memberships (tombstones)')
    .option('--limit <n>', 'members per page (1-1000)', '100')
    .option('--after <userId>', 'the page after this user id (the cursor the previous page printed)')
    .option('--all', 'every page, not just the first')
    .option('--json', 'print JSON instead of a table');
}


export function register(program: Command): void {
  // ---- team ----------------------------------------------------------------------------------------------------
  const team = program.command('team').description('workspace teams (created with their default channels)');
  team.command('create')
    .argument('<name>', 'URL name: 2-64 lower-case letters, digits, hyphens')
    .option('--display-name <text>', 'shown name (default: the name)')
    .option('--type <type>', 'O (open) or I (invite only)', 'O')
    .option('--constrained', 'group-constrained: members only through linked groups')
    .action(async (name: string, o: { displayName?: string; type: string; constrained?: boolean }) => {
      await withWorkspace(async (ctx) => json(await createTeam(ctx, { name, displayName: o.displayName ?? name, type: o.type as 'O' | 'I', groupConstrained: !!o.constrained })));
    });
  team.command('list')
    .option('--all', 'include archived teams')
    .option('--json', 'print JSON instead of a table')
    .action(async (o: { all?: boolean; json?: boolean }) => {
      await withWorkspace(async (ctx) => {
        const items = [];
        for (let after: string | undefined, page; (page = await listTeams(ctx, { limit: 1000, ...(after ? { after } : {}), includeArchived: !!o.all })); after = page.next) {
          items.push(...page.items);
          if (!page.next) break;
        }
        printList(items, ['id', 'name', 'displayName', 'type', 'groupConstrained', 'archivedAt'], o);
      });
    });
  memberListOptions(team.command('members')
    .description('who is in a team: userName, role, why (group sync or by hand), whether they are active; removed members too unless --active')
    .argument('<team>', 'team id or name'))
    .action(async (ref: string, o: MemberListOptions) => {
      await withWorkspace((ctx) => printMembers(ctx, 'team', ref, o));
    });
  team.command('archive').argument('<team>', 'team id or name').action(async (ref: string) => {
    await withWorkspace(async (ctx) => json(await archiveTeam(ctx, (await teamRef(ctx.db, ref)).id)));
  });
  team.command('constrain')
    .description('make a team group-constrained (or not, with --off) and reconcile it')
    .argument('<team>', 'team id or name')
    .option('--off', 'remove the constraint')
    .action(async (ref: string, o: { off?: boolean }) => {
      await withWorkspace(async (ctx) => json(await updateTeam(ctx, (await teamRef(ctx.db, ref)).id, { groupConstrained: !o.off })));
    });

  // ---- channel -------------------------------------------------------------------------------------------------
  const channel = program.command('channel').description('channels of a team');
  channel.command('create')
    .argument('<team>', 'team id or name')
    .argument('<name>', 'channel name: 1-64 lower-case letters, digits, hyphens, underscores')
    .option('--display-name <text>', 'shown name (default: the name)')
    .option('--private', 'a private (P) channel instead of an open (O) one')
    .option('--constrained', 'group-constrained')
    .option('--default', 'joined by everyone who joins the team (open channels only)')
    .action(async (teamArg: string, name: string, o: { displayName?: string; private?: boolean; constrained?: boolean; default?: boolean }) => {
      await withWorkspace(async (ctx) => {
        const t = await teamRef(ctx.db, teamArg);
        json(await createChannel(ctx, t.id, { name, displayName: o.displayName ?? name, type: o.private ? 'P' : 'O', groupConstrained: !!o.constrained, isDefault: !!o.default }));
      });
    });
  channel.command('list')
    .argument('<team>', 'team id or name')
    .option('--all', 'include archived channels')
    .option('--json', 'print JSON instead of a table')
    .action(async (teamArg: string, o: { all?: boolean; json?: boolean }) => {
      await withWorkspace(async (ctx) => {
        const t = await teamRef(ctx.db, teamArg);
        const items = [];
        for (let after: string | undefined, page; (page = await listChannels(ctx, t.id, { limit: 1000, ...(after ? { after } : {}), includeArchived: !!o.all })); after = page.next) {
          items.push(...page.items);
          if (!page.next) break;
        }
        printList(items, ['id', 'name', 'displayName', 'type', 'groupConstrained', 'isDefault', 'archivedAt'], o);
      });
    });
  memberListOptions(channel.command('members')
    .description('who is in a channel: userName, role, why (group sync, default channel or by hand), whether they are active')
    .argument('<channel>', 'channel id or team/channel; or the team, with the channel as a second argument')
    .argument('[name]', 'channel id or name, when the first argument is its team'))
    .action(async (first: string, name: string | undefined, o: MemberListOptions) => {
      await withWorkspace(async (ctx) => {
        const ref = name === undefined ? first : (await channelRef(ctx.db, await teamRef(ctx.db, first), name)).id;
        await printMembers(ctx, 'channel', ref, o);
      });
    });
  channel.command('archive').argument('<team>', 'team id or name').argument('<channel>', 'channel id or name').action(async (teamArg: string, ref: string) => {
    await withWorkspace(async (ctx) => json(await archiveChannel(ctx, (await channelRef(ctx.db, await teamRef(ctx.db, teamArg), ref)).id)));
  });
  channel.command('constrain')
    .description('make a channel group-constrained (or not, with --off) and reconcile it')
    .argument('<team>', 'team id or name')
    .argument('<channel>', 'channel id or name')
    .option('--off', 'remove the constraint')
    .action(async (teamArg: string, ref: string, o: { off?: boolean }) => {
      await withWorkspace(async (ctx) => {
        const c = await channelRef(ctx.db, await teamRef(ctx.db, teamArg), ref);
        json(await updateChannel(ctx, c.id, { groupConstrained: !o.off }));
      });
    });

  // ---- links ---------------------------------------------------------------------------------------------------
  program.command('link')
    .description('link a group to a team, or to a channel of it, and reconcile that team or channel')
    .argument('<group>', 'group id, externalId or exact displayName')
    .argument('<team>', 'team id or name')
    .argument('[channel]', 'channel id or name (link the channel instead of the team)')
    .option('--no-auto-add', 'permit membership without adding group members automatically')
    .option('--scheme-admin', 'group members become team/channel admins')
    .option('--allow-guests', 'also add the group\'s guests (without it, group sync passes guests over)')
    .action(async (groupArg: string, teamArg: string, channelArg: string | undefined, o: { autoAdd: boolean; schemeAdmin?: boolean; allowGuests?: boolean }) => {
      await withWorkspace(async (ctx) => {
        const g = await groupRef(ctx.db, groupArg);
        const t = await teamRef(ctx.db, teamArg);
        const input = { autoAdd: o.autoAdd, schemeAdmin: !!o.schemeAdmin, allowGuests: !!o.allowGuests };
        const out = channelArg ? await link(ctx, 'channel', g.id, (await channelRef(ctx.db, t, channelArg)).id, input) : await link(ctx, 'team', g.id, t.id, input);
        note(out.created ? 'linked' : out.changed ? 'link changed' : 'link unchanged');
        json(out);
      });
    });
  program.command('unlink')
    .description('remove a group link and reconcile the team or channel')
    .argument('<group>', 'group id, externalId or exact displayName')
    .argument('<team>', 'team id or name')
    .argument('[channel]', 'channel id or name')
    .action(async (groupArg: string, teamArg: string, channelArg: string | undefined) => {
      await withWorkspace(async (ctx) => {
        const g = await groupRef(ctx.db, groupArg);
        const t = await teamRef(ctx.db, teamArg);
        json(channelArg ? await unlink(ctx, 'channel', g.id, (await channelRef(ctx.db, t, channelArg)).id) : await unlink(ctx, 'team', g.id, t.id));
      });
    });

  // ---- reconcile, memberships ------------------------------------------------------------------------------------
  program.command('reconcile')
    .description('bring memberships in line with the group links (idempotent); everything unless scoped')
    .option('--readd-removed', 're-add members who were removed or left, where a link would add them')
    .option('--team <team>', 'only this team (and its channels)')
    .option('--channel <channel>', 'only this channel (name needs --team, or give its id)')
    .option('--group <group>', 'only what this group is linked to')
    .option('--dry-run', 'change nothing: print what it would change (the audit rows it would write), as the console\'s preview')
    .action(async (o: { readdRemoved?: boolean; team?: string; channel?: string; group?: string; dryRun?: boolean }) => {
      await withWorkspace(async (ctx) => {
        const t = o.team ? await teamRef(ctx.db, o.team) : undefined;
        let channelId: string | undefined;
        if (o.channel) {
          const c = t ? await channelRef(ctx.db, t, o.channel) : await getChannel(ctx.db, o.channel);
          if (!c) throw new CliError(`no channel with id "${o.channel}" (give --team to name it)`);
          channelId = c.id;
        }
        const groupId = o.group ? (await groupRef(ctx.db, o.group)).id : undefined;
        const input = {
          readdRemoved: !!o.readdRemoved,
          ...(channelId ? { channelId } : t ? { teamId: t.id } : {}),
          ...(groupId ? { groupId } : {}),
        };
        if (o.dryRun) {
          json(await previewReconcile(ctx, input));
          return;
        }
        // One set-based transaction (src/sync/engine.ts): no count to show while it runs, so the time it has taken.
        const progress = startProgress('reconcile', 'memberships');
        progress.update(0);
        const ticker = setInterval(() => progress.update(0), 1000);
        let stats;
        try {
          stats = await runReconcile(ctx, input);
        } catch (err) {
          progress.abort();
          throw err;
        } finally {
          clearInterval(ticker);
        }
        const changed = stats.teamMembersAdded + stats.teamMembersRemoved + stats.channelMembersAdded + stats.channelMembersRemoved;
        progress.finish(`team members +${stats.teamMembersAdded} -${stats.teamMembersRemoved}, channel members +${stats.channelMembersAdded} -${stats.channelMembersRemoved}, admins +${stats.adminsPromoted} -${stats.adminsDemoted}`, changed);
        json(stats);
      });
    });

  program.command('memberships')
    .description("a person's team and channel memberships, removed ones included")
    .argument('<user>', 'user id or SCIM userName')
    .action(async (ref: string) => {
      await withWorkspace(async (ctx) => {
        const id = await findUserId(ctx.db, ref);
        if (!id) throw new CliError(`no user with id or userName "${ref}"`);
        json(await membershipsOf(ctx, id));
      });
    });
}
