/**
 * `npm run bench -- --compare` (bench/lib/peer.ts, report.ts compareTable): the URL it accepts, a peer that answers
 * otherwise than we do, the token going nowhere but the peer, and the side-by-side table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { checkPeer, parsePeer, probeHits, redact, seedPeer } from '../../bench/lib/peer.ts';
import { compareTable, type Row } from '../../bench/lib/report.ts';

async function serve(handler: (req: IncomingMessage, body: string) => [number, unknown?, Record<string, string>?]): Promise<{ url: string; seen: IncomingMessage[]; close(): Promise<void> }> {
  const seen: IncomingMessage[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      seen.push(req);
      const [status, json, headers] = handler(req, body);
      res.writeHead(status, { 'content-type': 'application/scim+json', ...headers });
      res.end(json === undefined ? '' : JSON.stringify(json));
    });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, seen, close: () => new Promise((ok) => { server.closeAllConnections(); server.close(() => ok()); }) };
}

test('the --compare URL: base path kept without its trailing slash, name defaults to the host', () => {
  const p = parsePeer('https://scim.example.com:8443/scim/v2/', 'tok');
  assert.deepEqual(p, { name: 'scim.example.com:8443', origin: 'https://scim.example.com:8443', basePath: '/scim/v2', token: 'tok' });
  assert.equal(parsePeer('http://127.0.0.1:9/', 'tok', 'gateway').basePath, '');
  assert.equal(parsePeer('http://127.0.0.1:9/', 'tok', 'gateway').name, 'gateway');
});

test('the --compare URL refuses credentials, queries, other schemes, a missing token and our own row labels', () => {
  assert.throws(() => parsePeer('https://user:secret@scim.example.com/scim/v2', 'tok'), /no credentials in the URL/);
  assert.throws(() => parsePeer('https://scim.example.com/scim/v2?x=1', 'tok'), /without a query/);
  assert.throws(() => parsePeer('ftp://scim.example.com/', 'tok'), /http/);
  assert.throws(() => parsePeer('not a url', 'tok'), /SCIM base URL/);
  assert.throws(() => parsePeer('https://scim.example.com/', undefined), /--compare-token/);
  assert.throws(() => parsePeer('https://scim.example.com/', 'tok', 'sqlite'), /own rows/);
});

test('redact replaces every occurrence of the token', () => {
  assert.equal(redact('Bearer abc123 and abc123 again', ['abc123', undefined]), 'Bearer [token] and [token] again');
});

test('seeding counts what the peer answers (2xx created, 409 present, anything else failed) and never throws', async () => {
  let n = 0;
  const peer = await serve(() => {
    const i = n++;
    return i % 4 === 0 ? [200, {}] : i % 4 === 1 ? [201, {}] : i % 4 === 2 ? [409, { status: '409' }] : [500, 'not json'];
  });
  try {
    const r = await seedPeer(parsePeer(`${peer.url}/scim/v2`, 'tok'), 20, 3);
    assert.equal(r.created, 10);
    assert.equal(r.present, 5);
    assert.deepEqual(r.failed, { 500: 5 });
    assert.equal(peer.seen.length, 20);
    assert.ok(peer.seen.every((req) => req.url === '/scim/v2/Users' && req.method === 'POST' && req.headers.authorization === 'Bearer tok'));
  } finally {
    await peer.close();
  }
});

test('the token goes to the peer only: a redirect elsewhere is not followed, and checkPeer stops on it', async () => {
  const elsewhere = await serve(() => [200, { totalResults: 1 }]);
  const peer = await serve(() => [307, undefined, { location: `${elsewhere.url}/scim/v2/Users` }]);
  try {
    const p = parsePeer(`${peer.url}/scim/v2`, 'secret-token');
    await assert.rejects(checkPeer(p), /redirect/);
    const seeded = await seedPeer(p, 3, 1);
    assert.deepEqual(seeded.failed, { 307: 3 });
    assert.deepEqual(await probeHits(p, 3), { found: 0, probed: 3 });
    assert.equal(elsewhere.seen.length, 0);
  } finally {
    await peer.close();
    await elsewhere.close();
  }
});

test('checkPeer stops on a refused token and names no token', async () => {
  const peer = await serve(() => [401, { status: '401' }]);
  try {
    await assert.rejects(checkPeer(parsePeer(`${peer.url}/scim/v2`, 'secret-token')), (err: Error) => /refused the token \(401/.test(err.message) && !err.message.includes('secret-token'));
  } finally {
    await peer.close();
  }
});

test('probeHits counts the sampled names the peer finds', async () => {
  const peer = await serve((req) => [200, { totalResults: /user0%40/.test(req.url!) ? 1 : 0, Resources: [] }]);
  try {
    assert.deepEqual(await probeHits(parsePeer(`${peer.url}/scim/v2`, 'tok'), 100, 10), { found: 1, probed: 10 });
  } finally {
    await peer.close();
  }
});

const row = (store: string, scenario: string, rps: number, bareRps: number, non2xx = 0): Row => ({
  store, size: 1000, scenario, shape: 'GET', peakRss: store === 'peer' ? NaN : 150, hwm: 150, bareRps, ratio: rps / bareRps,
  outcome: { requests: 3000, seconds: 3, rps, p50: 1, p95: 2, p99: 3, max: 4, errors: 0, non2xx, statuses: {}, connections: 10 },
});

test('the side-by-side table: this server first, then the peer, each with its ratio to the bare run beside it; errors flagged', () => {
  const t = compareTable([
    row('sqlite', 'lookup-username-hit', 1500, 6000), row('peer', 'lookup-username-hit', 1200, 6000),
    row('sqlite', 'create-users', 400, 4000), row('peer', 'create-users', 800, 5000, 3000),
    row('sqlite', 'lookup-username-miss', 1000, 10000), row('sqlite', 'lookup-username-miss', 1002, 10010),
  ], 'peer', ['lookup-username-hit', 'lookup-username-miss', 'create-users']).split('\n');
  assert.equal(t[0], '| scenario | bare express | this server, sqlite, 1k users | peer, 1k users |');
  assert.equal(t[2], '| lookup-username-hit | 6,000/s | 1,500/s (0.25x) | 1,200/s (0.20x) |');
  // Two rounds that print alike print once; a scenario the peer did not run shows '-'.
  assert.equal(t[3], '| lookup-username-miss | 10,000-10,010/s | 1,000-1,002/s (0.10x) | - |');
  assert.equal(t[4], '| create-users | 4,000-5,000/s | 400/s (0.10x) | 800/s (0.16x) [3000 of 3000 not 2xx] |');
  assert.equal(t.length, 5);
});
