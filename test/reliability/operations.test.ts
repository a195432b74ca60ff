/**
 * Operations (issue 6 §7): GET /metrics in Prometheus format (requests by route template and status, latency,
 * database pool, provisioning operations), security headers, no X-Powered-By, the body limit as a 413 SCIM error,
 * and graceful shutdown on SIGTERM (a slow in-flight request finishes, new ones are refused, exit code 0).
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
  client, connect, createDatabase, GROUP_SCHEMA, newUser, PATCH_OP, spawnServer, startServer, type SpawnedServer, type TestDatabase, type TestServer,
} from '../helpers/server.ts';
import { assertScimError, sleep } from './util.ts';

const METRICS_TOKEN = 'metrics-scrape-token-0123456789';
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

/** The value of one sample line (name + exact label set), or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('operations [sqlite]', { timeout: 120_000 }, () => {
  let db: TestDatabase;
  let server: TestServer;
  before(async () => {
    db = await createDatabase('sqlite');
    server = await startServer('sqlite', db, { env: { BODY_LIMIT_BYTES: '4096', METRICS_TOKEN } });
  });
  after(async () => {
    await server?.stop();
    await db?.drop();
  });

  test('GET /metrics: Prometheus text with route templates, latency, pool and provisioning operations; admin or METRICS_TOKEN only', async () => {
    const api = client(server);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await api.post('/Users', newUser());
      assert.equal(r.status, 201);
      ids.push(r.body.id);
      assert.equal((await api.get(`/Users/${r.body.id}`)).status, 200);
    }
    assert.equal((await api.get(`/Users/${crypto.randomUUID()}`)).status, 404);
    const g = await api.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: 'ops' });
    assert.equal((await api.patch(`/Groups/${g.body.id}`, { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: ids.map((value) => ({ value })) }] })).status, 204);
    assert.equal((await api.get('/scim/v2/no/such/thing/at/all')).status, 404);

    const res = await fetch(`${server.url}/metrics`, { headers: { Authorization: `Bearer ${server.adminToken}` } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.ok(!UUID.test(text), 'a raw id leaked into a metric label');
    assert.ok((sample(text, 'scim_http_requests_total', { method: 'GET', route: '/scim/v2/Users/:id', status: '200' }) ?? 0) >= 3);
    assert.ok((sample(text, 'scim_http_requests_total', { method: 'GET', route: '/scim/v2/Users/:id', status: '404' }) ?? 0) >= 1);
    assert.equal(sample(text, 'scim_http_requests_total', { method: 'POST', route: '/scim/v2/Users', status: '201' }), 3);
    assert.equal(sample(text, 'scim_http_requests_total', { method: 'PATCH', route: '/scim/v2/Groups/:id', status: '204' }), 1);
    assert.ok(sample(text, 'scim_http_request_duration_seconds_count', { method: 'POST', route: '/scim/v2/Users' }) === 3);
    assert.ok(sample(text, 'scim_http_request_duration_seconds_bucket', { method: 'POST', route: '/scim/v2/Users', le: '+Inf' }) === 3);
    for (const state of ['used', 'free', 'pending']) assert.notEqual(sample(text, 'scim_db_pool_connections', { state }), undefined, state);
    assert.equal(sample(text, 'scim_db_pool_max', {}), 1);
    assert.equal(sample(text, 'scim_provisioning_operations_total', { operation: 'create_user' }), 3);
    assert.equal(sample(text, 'scim_provisioning_operations_total', { operation: 'create_group' }), 1);
    assert.equal(sample(text, 'scim_provisioning_operations_total', { operation: 'add_group_member' }), 3);
    assert.ok((sample(text, 'scim_process_resident_memory_bytes', {}) ?? 0) > 0);

    // Access: METRICS_TOKEN and the admin token; a SCIM token is forbidden, no token unauthorized.
    assert.equal((await fetch(`${server.url}/metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } })).status, 200);
    const scim = await client(server).get(`${server.url}/metrics`);
    assert.equal(scim.status, 403);
    assertScimError(scim.body, 403, scim.text);
    const none = await fetch(`${server.url}/metrics`);
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
  });

  test('security headers on every kind of answer, and no X-Powered-By', async () => {
    const api = client(server);
    const answers = [
      await fetch(`${server.url}/healthz`),
      await fetch(`${server.base}/Users`, { headers: { Authorization: `Bearer ${server.token}` } }),
      await fetch(`${server.base}/Users`), // 401
      await fetch(`${server.url}/nope`), // 404
      await fetch(`${server.base}/Users`, { method: 'POST', headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/scim+json' }, body: '{' }), // 400
    ];
    assert.equal((await api.get('/ServiceProviderConfig')).headers.get('x-powered-by'), null);
    for (const r of answers) {
      const h = (n: string) => r.headers.get(n);
      assert.equal(h('x-powered-by'), null, `X-Powered-By on ${r.url} ${r.status}`);
      assert.equal(h('x-content-type-options'), 'nosniff');
      assert.match(h('content-security-policy') ?? '', /default-src 'none'/);
      assert.match(h('content-security-policy') ?? '', /frame-ancestors 'none'/);
      assert.match(h('strict-transport-security') ?? '', /max-age=\d+/);
      assert.equal(h('x-frame-options'), 'SAMEORIGIN');
      assert.equal(h('referrer-policy'), 'no-referrer');
      assert.equal(h('cross-origin-resource-policy'), 'same-origin');
      assert.ok(h('x-request-id'));
    }
  });

  test('a body over BODY_LIMIT_BYTES is a 413 SCIM error; one under it is fine', async () => {
    const api = client(server);
    const big = await api.post('/Users', newUser({ displayName: 'x'.repeat(5000) }));
    assert.equal(big.status, 413, big.text);
    assertScimError(big.body, 413, big.text);
    const small = await api.post('/Users', newUser({ displayName: 'x'.repeat(1000) }));
    assert.equal(small.status, 201, small.text);
  });
});

describe('graceful shutdown on SIGTERM [sqlite]', { timeout: 60_000 }, () => {
  let db: TestDatabase;
  let server: SpawnedServer;
  before(async () => {
    db = await createDatabase('sqlite');
    server = await spawnServer('sqlite', db);
  });
  after(async () => {
    await server?.stop('SIGKILL');
    await db?.drop();
  });

  test('a slow in-flight request finishes, new requests are refused, the process exits 0', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 }); // as an IdP's HTTP client keeps connections
    const u = new URL(server.url);
    const body = Buffer.from(JSON.stringify(newUser()));
    const half = Math.floor(body.length / 2);

    // The slow request: its body trickles in around the signal.
    let answered: { status: number; text: string } | undefined;
    const slow = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request({ host: u.hostname, port: u.port, method: 'POST', path: '/scim/v2/Users', agent, headers: {
        Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/scim+json', 'Content-Length': String(body.length),
      } }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve((answered = { status: res.statusCode!, text })));
      });
      req.on('error', reject);
      req.write(body.subarray(0, half));
      setTimeout(() => req.end(body.subarray(half)), 1500);
    });
    // An idle keep-alive connection, opened before the signal.
    const warm = await fetch(`${server.url}/healthz`);
    assert.equal(warm.status, 200);

    await sleep(300);
    const exited = new Promise<number | null>((r) => server.proc.once('exit', (code) => r(code)));
    server.proc.kill('SIGTERM');
    await sleep(300);

    // New requests are refused: a closed listener, or a 503 SCIM error with Connection: close.
    const late = await fetch(`${server.base}/Users`, { headers: { Authorization: `Bearer ${server.token}` } })
      .then(async (r) => ({ status: r.status, body: await r.json().catch(() => undefined), connection: r.headers.get('connection') }), (e) => ({ status: 0, error: String(e?.cause?.code ?? e) }));
    if (late.status !== 0) {
      assert.equal(late.status, 503);
      assertScimError((late as any).body, 503);
    } else {
      assert.match((late as any).error, /ECONNREFUSED|ECONNRESET|UND_ERR_SOCKET|other side closed/);
    }
    assert.equal(answered, undefined, 'the slow request is still in flight');
    assert.equal(server.proc.exitCode, null, 'the process waits for the in-flight request');

    const done = await slow;
    assert.equal(done.status, 201, done.text);
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([exited, new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), 15_000); })]);
    clearTimeout(timer); // or the test file's process would wait for it
    assert.equal(code, 0, 'exit code after SIGTERM');
    agent.destroy();

    // The request that finished during shutdown was committed.
    const k = connect(db.url);
    try {
      assert.ok(await k('users').where({ id: JSON.parse(done.text).id }).first());
    } finally {
      await k.destroy();
    }
  });
});
