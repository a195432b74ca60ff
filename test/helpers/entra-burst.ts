/**
 * The workload of the connector fault scenarios: what Entra sends in one provisioning cycle (people created a few at a
 * time, a group of some of them, attribute updates, a deactivation, a late group member) plus an administrator linking
 * the group to a group-constrained team and to a private channel in it. Every SCIM and admin answer is checked to be
 * the normal 2xx one (the `workspace` helpers assert it), whatever Mattermost is doing meanwhile.
 * Also the checks that go with it: one Mattermost account per email, and how many accounts were made.
 */
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import type { FakeMattermost } from '../fakes/mattermost/index.ts';
import { PATCH_OP, type TestServer } from './server.ts';
import { teamName, workspace } from './workspace-http.ts';

export interface Burst { users: string[]; group: string; team: string; channel: string; deactivated: string; renamed: string[] }

/**
 * Run the burst against `servers` (requests spread over them round-robin). `people` users are created; the first
 * half join the group before the links exist, one more joins after, three are renamed and one group member is
 * deactivated.
 */
export async function entraBurst(servers: TestServer[], people = 12): Promise<Burst> {
  const ws = servers.map((s) => workspace(s));
  let turn = 0;
  const next = () => ws[turn++ % ws.length]!;
  // Entra's provisioning service sends a handful of requests at once, not hundreds.
  const users = await mapLimit(Array.from({ length: people }, (_, i) => i), 4, (i) => next().user({ name: { givenName: `Given${i}`, familyName: `Family${i}` } }));
  const half = users.slice(0, Math.max(2, Math.floor(people / 2)));
  const team = await next().team(teamName('faults'), { groupConstrained: true });
  const channel = await next().channel(team.id, 'incident', { type: 'P' });
  const group = await next().group(half);
  await next().linkTeam(group, team.id, { autoAdd: true });
  await next().linkChannel(group, channel, { autoAdd: true, schemeAdmin: true });
  const renamed = users.slice(-3);
  await mapLimit(renamed, 3, async (id) => {
    const r = await next().scim.patch(`/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'name.givenName', value: `Renamed-${id.slice(0, 6)}` }, { op: 'replace', path: 'title', value: 'On call' }] });
    assert.ok([200, 204].includes(r.status), r.text);
  });
  const deactivated = half[0]!;
  await next().setActive(deactivated, false);
  await next().addMembers(group, [users[half.length]!]);
  return { users, group, team: team.id, channel, deactivated, renamed };
}

/** Run `fn` over `items`, at most `limit` at a time. */
async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/**
 * Every person of the store has at most one Mattermost account with their email, a live one exactly one, and every
 * account in Mattermost (but the fake's own two) is bound to one of ours: a create whose answer was lost and that
 * was never adopted would be an account nobody manages.
 */
export async function assertOneAccountPerEmail(sql: Knex, mm: FakeMattermost): Promise<void> {
  const bound = new Set((await sql('mattermost_bindings').where({ kind: 'user' }).select('mm_id')).map((b: any) => b.mm_id));
  const orphans = [...mm.state.users.values()].filter((u) => !OWN.has(u.username) && !bound.has(u.id)).map((u) => u.email);
  assert.deepEqual(orphans, [], 'every Mattermost account is bound to one of ours');
  const byEmail = new Map<string, number>();
  for (const u of mm.state.users.values()) byEmail.set(u.email, (byEmail.get(u.email) ?? 0) + 1);
  const dup = [...byEmail].filter(([, n]) => n > 1);
  assert.deepEqual(dup, [], 'no email has two Mattermost accounts');
  const users = await sql('users').select('user_name', 'email', 'active', 'deleted_at');
  for (const u of users) {
    const live = (u.active === true || u.active === 1) && u.deleted_at == null;
    const n = byEmail.get(String(u.email ?? '').toLowerCase()) ?? 0;
    if (live) assert.equal(n, 1, `${u.user_name} has ${n} Mattermost accounts`);
  }
}

/** Accounts in the fake other than its own two (the connector's bot and a plain user). */
export const accountsMade = (mm: FakeMattermost) => [...mm.state.users.values()].filter((u) => !OWN.has(u.username)).length;
const OWN = new Set(['connector', 'plainuser']);

/** Requests the fake saw that match "METHOD path" (the path without the query). */
export const requestsTo = (mm: FakeMattermost, re: RegExp) => mm.requests.filter((r) => re.test(`${r.method} ${r.path}`));
