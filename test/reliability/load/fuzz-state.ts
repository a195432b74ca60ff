/**
 * What the fuzzer's accepted writes said, and the check that the server's state agrees once the run is over: every
 * resource a write was accepted for is still there unless a DELETE of it was accepted; its version never went back;
 * every accepted answer of the version it is at now describes what a GET returns now; nothing is listed that no
 * accepted POST created; the unfiltered totals count what is listed; group members are live users.
 */
import { isDeepStrictEqual } from 'node:util';
import type { client as Client } from '../../helpers/server.ts';
import { resourceTypeOf, type Req, type Res, type Seeds } from './fuzz-arbitraries.ts';

type Api = ReturnType<typeof Client>;
interface Accepted { type: 'User' | 'Group'; method: string; version?: number; body?: any; projected: boolean }

const versionOf = (v: unknown): number | undefined => {
  const m = /^W\/"(\d+)"$/.exec(String(v ?? ''));
  return m ? Number(m[1]) : undefined;
};

export class Ledger {
  readonly writes = new Map<string, Accepted[]>();
  /** Ids an accepted POST answered with. */
  readonly created = new Set<string>();
  /** Ids an accepted DELETE removed. */
  readonly deleted = new Set<string>();

  record(req: Req, res: Res): void {
    const type = resourceTypeOf(req.path);
    if (!type || res.status < 200 || res.status >= 300 || !['POST', 'PUT', 'PATCH', 'DELETE'].includes(req.method)) return;
    if (/\/\.search(\?|$)/i.test(req.path)) return;
    let body: any;
    try { body = res.text ? JSON.parse(res.text) : undefined; } catch { body = undefined; }
    const fromPath = /^\/scim\/v2\/(?:users|groups)\/([0-9a-f-]{36})(?:\?|$)/i.exec(req.path)?.[1]?.toLowerCase();
    const id: string | undefined = req.method === 'POST' ? body?.id : fromPath;
    if (!id) return;
    const version = versionOf(res.headers.etag ?? body?.meta?.version);
    const projected = /[?&](attributes|excludedAttributes)=/i.test(req.path);
    const list = this.writes.get(id) ?? [];
    list.push({ type, method: req.method, version, body: body && typeof body === 'object' ? body : undefined, projected });
    this.writes.set(id, list);
    if (req.method === 'POST') this.created.add(id);
    if (req.method === 'DELETE') this.deleted.add(id);
  }

  get size(): number {
    let n = 0;
    for (const l of this.writes.values()) n += l.length;
    return n;
  }
}

/**
 * Differences between an accepted answer and the stored state, where both show an attribute (an answer projected by
 * `attributes`/`excludedAttributes` shows fewer). A user's `groups` is computed from memberships (RFC 7643 §4.1.2)
 * and moves without a user version; group members are compared by value (a member's `display` follows the user).
 */
function differences(answer: any, now: any, type: 'User' | 'Group', projected: boolean): string[] {
  const out: string[] = [];
  const skip = new Set(type === 'User' ? ['groups'] : ['members']);
  const keys = new Set([...Object.keys(answer), ...(projected ? [] : Object.keys(now))]);
  for (const k of keys) {
    if (skip.has(k)) continue;
    if (!(k in answer) && projected) continue;
    if (!isDeepStrictEqual(answer[k], now[k])) out.push(`${k}: answered ${JSON.stringify(answer[k])?.slice(0, 200)}, now ${JSON.stringify(now[k])?.slice(0, 200)}`);
  }
  if (type === 'Group' && Array.isArray(answer.members) && (!projected || 'members' in answer)) {
    const values = (ms: any[] | undefined) => new Set((ms ?? []).map((m) => String(m.value)));
    const [a, b] = [values(answer.members), values(now.members)];
    if (a.size !== b.size || [...a].some((v) => !b.has(v))) out.push(`members: answered ${[...a].sort().join(',')}, now ${[...b].sort().join(',')}`);
  }
  return out;
}

async function listAll(api: Api, endpoint: 'Users' | 'Groups'): Promise<{ ids: string[]; total: number; problems: string[] }> {
  const problems: string[] = [];
  const ids: string[] = [];
  const count0 = await api.get(`/${endpoint}?count=0`);
  const total = count0.body?.totalResults;
  for (let start = 1; ; start += 100) {
    const page = await api.get(`/${endpoint}?startIndex=${start}&count=100&attributes=id`);
    if (page.status !== 200) { problems.push(`GET /${endpoint} page at ${start}: ${page.status}`); break; }
    ids.push(...(page.body.Resources ?? []).map((r: any) => r.id));
    if (!page.body.Resources?.length || start + 100 > page.body.totalResults) break;
  }
  if (total !== ids.length) problems.push(`${endpoint}: count=0 says totalResults ${total}, paging lists ${ids.length}`);
  if (new Set(ids).size !== ids.length) problems.push(`${endpoint}: paging lists an id twice`);
  return { ids, total, problems };
}

export async function stateProblems(api: Api, ledger: Ledger, seeds: Seeds): Promise<string[]> {
  const problems: string[] = [];
  for (const [id, events] of ledger.writes) {
    const type = events[0]!.type;
    const r = await api.get(`/${type}s/${id}`);
    if (r.status === 404) {
      if (!ledger.deleted.has(id)) problems.push(`${type} ${id}: 404, though no DELETE of it was accepted`);
      continue;
    }
    if (r.status !== 200) { problems.push(`${type} ${id}: GET ${r.status}`); continue; }
    const now = versionOf(r.body.meta?.version);
    const known = events.filter((e) => e.version !== undefined);
    const max = Math.max(0, ...known.map((e) => e.version!));
    if (now === undefined || now < max) problems.push(`${type} ${id}: at ${r.body.meta?.version} after an accepted write answered W/"${max}"`);
    for (const e of known) {
      if (e.version !== now || !e.body) continue;
      for (const d of differences(e.body, r.body, type, e.projected)) problems.push(`${type} ${id} at W/"${now}", ${e.method} answer vs GET: ${d}`);
    }
  }
  const users = await listAll(api, 'Users');
  const groups = await listAll(api, 'Groups');
  problems.push(...users.problems, ...groups.problems);
  const known = new Set([...seeds.users, ...seeds.disposable, seeds.group, ...ledger.created]);
  for (const id of [...users.ids, ...groups.ids]) if (!known.has(id)) problems.push(`${id} is listed, but no accepted POST created it`);
  const live = new Set(users.ids);
  for (const id of groups.ids) {
    const g = await api.get(`/Groups/${id}`);
    for (const m of g.body?.members ?? []) if (!live.has(m.value)) problems.push(`Group ${id} has member ${m.value}, which is not a live user`);
  }
  return problems;
}
