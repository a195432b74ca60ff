/**
 * `--compare <SCIM base URL>`: another SCIM server, measured with the same scenarios in the same run. It is not ours,
 * so the bench only speaks its SCIM API: it creates the users the lookups need through POST /Users, counts whatever
 * status it answers (a server that says 200 where we say 201, or 409 to a name from an earlier run, is not a crash),
 * and sends its token to its URL only: fetch never follows a redirect with it (`redirect: 'manual'`) and autocannon
 * never follows one at all. The token is never printed: `redact` scrubs it from anything the bench might print.
 */
import { userBody, userName, externalId } from './seed.js';
import { q } from './scenario.js';

export interface Peer {
  /** Label in the tables: --compare-name, or the URL's host. */
  name: string;
  /** scheme://host:port, the only place the token goes. */
  origin: string;
  /** The SCIM base path on origin, without a trailing slash ('' for a server mounted at the root). */
  basePath: string;
  token: string;
}

/** The --compare URL, checked: http(s), no credentials in it (they go in --compare-token), no query or fragment. */
export function parsePeer(url: string, token: string | undefined, name?: string): Peer {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error('--compare takes a SCIM base URL, e.g. https://scim.example.com/scim/v2');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('--compare takes an http:// or https:// URL');
  if (u.username || u.password) throw new Error('--compare: put no credentials in the URL; pass the bearer token with --compare-token');
  if (u.search || u.hash) throw new Error('--compare takes the SCIM base URL without a query or fragment (the bench adds /Users?filter=...)');
  if (!token) throw new Error('--compare needs --compare-token (or BENCH_COMPARE_TOKEN): the bearer token the other server accepts');
  const label = name || u.host;
  // The rows of this server are labelled by store; the other server's label must not be mistaken for one of them.
  if (/^(sqlite|pg)(\+mm)?$/.test(label)) throw new Error(`--compare-name ${label} is the label of this server's own rows: choose another`);
  return { name: label, origin: u.origin, basePath: u.pathname.replace(/\/+$/, ''), token };
}

/** Where the peer is, for printing: no token, no credentials (parsePeer refused them). */
export const describePeer = (p: Peer) => `${p.name} (${p.origin}${p.basePath})`;

/** `text` with every occurrence of the secrets replaced, for error messages and logs. */
export function redact(text: string, secrets: (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('[token]');
  return out;
}

async function send(p: Peer, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${p.origin}${p.basePath}${path}`, {
    method,
    redirect: 'manual',
    headers: { authorization: `Bearer ${p.token}`, accept: 'application/scim+json, application/json', ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let json: any;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  return { status: res.status, json };
}

/**
 * Before anything is seeded: one GET /Users?count=1. A peer that cannot be reached, or that refuses the token (401,
 * 403), or that redirects, makes the whole comparison meaningless, so the bench stops there; any other answer is
 * reported and the run goes on.
 */
export async function checkPeer(p: Peer): Promise<string> {
  let r;
  try {
    r = await send(p, 'GET', '/Users?count=1');
  } catch (err) {
    throw new Error(`--compare: ${describePeer(p)} did not answer GET /Users?count=1: ${(err as Error).message}${(err as { cause?: { code?: string } }).cause?.code ? ` (${(err as { cause: { code: string } }).cause.code})` : ''}`);
  }
  if (r.status === 401 || r.status === 403) throw new Error(`--compare: ${describePeer(p)} refused the token (${r.status} to GET /Users?count=1)`);
  if (r.status >= 300 && r.status < 400) throw new Error(`--compare: ${describePeer(p)} answered ${r.status} (a redirect) to GET /Users?count=1: pass the URL it redirects to; the token is never sent after a redirect`);
  const total = typeof r.json?.totalResults === 'number' ? `, totalResults ${r.json.totalResults}` : '';
  return `${r.status} to GET /Users?count=1${total}`;
}

export interface PeerSeed { created: number; present: number; failed: Record<string, number>; seconds: number }

/**
 * The users lookup-username-hit looks for (userName(i), i < n, Entra's body), created through the peer's own API,
 * `concurrency` at a time. 409 (uniqueness, RFC 7644 3.3) means a previous run created it: still a target.
 */
export async function seedPeer(p: Peer, n: number, concurrency = 4): Promise<PeerSeed> {
  const t = performance.now();
  const out: PeerSeed = { created: 0, present: 0, failed: {}, seconds: 0 };
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < n; i = next++) {
      let status: string;
      try {
        status = String((await send(p, 'POST', '/Users', userBody(userName(i), externalId(i), i))).status);
      } catch (err) {
        status = (err as Error).name === 'TimeoutError' ? 'timeout' : 'connection error';
      }
      if (status.startsWith('2')) out.created++;
      else if (status === '409') out.present++;
      else out.failed[status] = (out.failed[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  out.seconds = (performance.now() - t) / 1000;
  return out;
}

/**
 * A sample of the seeded names looked up once each: how many the peer finds. A server whose filter does not find them
 * would look fast on lookup-username-hit while answering misses; the note says so.
 */
export async function probeHits(p: Peer, n: number, sample = 10): Promise<{ found: number; probed: number }> {
  let found = 0;
  const probed = Math.min(n, sample);
  for (let k = 0; k < probed; k++) {
    const i = Math.floor((k * n) / probed);
    const r = await send(p, 'GET', `/Users?filter=${q(`userName eq "${userName(i)}"`)}`).catch(() => undefined);
    const hits = r?.json?.totalResults ?? r?.json?.Resources?.length ?? 0;
    if (r && r.status === 200 && hits >= 1) found++;
  }
  return { found, probed };
}

/** Until a lookup answers within 50 ms (requests a stopped scenario left queued are done), as drain() does for ours. */
export async function drainPeer(p: Peer): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const t = performance.now();
    await send(p, 'GET', '/Users?count=1').catch(() => undefined);
    if (performance.now() - t < 50) break;
  }
  await new Promise((r) => setTimeout(r, 500));
}
