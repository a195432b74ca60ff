/**
 * HTTP edges found in the hardening review (issue 10 §6): a JSON body without Content-Type is JSON on the SCIM mount
 * (Okta's SPEC test sends its creates that way); the admin API refuses a body that is not JSON (plain `curl -d` sends
 * application/x-www-form-urlencoded) with 415 instead of ignoring it; a NUL in an admin path, query or body is a 400
 * on both stores; a method an admin path does not offer is 405 with Allow; the start-up line survives LOG_LEVEL=warn;
 * request lines carry the client address and, for a 4xx/5xx, the detail that was sent.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createDatabase, newUser, PATCH_OP, rand, startServer, stores, USER_SCHEMA, type TestDatabase, type TestServer } from '../helpers/server.ts';
import { rawRequest, sleep } from '../reliability/util.ts';

const json = (r: { text: string }) => { try { return JSON.parse(r.text); } catch { return undefined; } };

function adminError(r: { status: number; headers: Record<string, unknown>; text: string }, status: number, code?: string): void {
  assert.equal(r.status, status, r.text);
  assert.match(String(r.headers['content-type']), /^application\/json/, r.text);
  const body = json(r);
  assert.equal(body?.error?.status, status, r.text);
  if (code) assert.equal(body.error.code, code, r.text);
  assert.equal(typeof body.error.message, 'string');
}

for (const store of stores()) {
  describe(`HTTP hardening [${store}]`, () => {
    let db: TestDatabase;
    let server: TestServer;
    before(async () => {
      db = await createDatabase(store);
      server = await startServer(store, db, { env: { LOG_LEVEL: 'http', TRUST_PROXY_HOPS: '1' } });
    });
    after(async () => {
      await server?.stop();
      await db?.drop();
    });
    const scim = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
      rawRequest(`${server.base}${path}`, { method, headers: { Authorization: `Bearer ${server.token}`, ...headers }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const admin = (method: string, path: string, body?: string, headers: Record<string, string> = {}) =>
      rawRequest(`${server.url}/admin/v1${path}`, { method, headers: { Authorization: `Bearer ${server.adminToken}`, ...headers }, ...(body !== undefined ? { body } : {}) });
    const newTeam = async () => {
      const r = await admin('POST', '/teams', JSON.stringify({ name: `t-${rand()}`, displayName: 'Team' }), { 'Content-Type': 'application/json' });
      assert.equal(r.status, 201, r.text);
      return json(r).team;
    };

    test('SCIM POST, PUT and PATCH with a JSON body and no Content-Type are parsed as JSON', async () => {
      const body = newUser();
      const created = await scim('POST', '/Users', body);
      assert.equal(created.status, 201, created.text);
      const id = json(created).id;
      assert.equal(json(created).userName, body.userName);
      const put = await scim('PUT', `/Users/${id}`, { schemas: [USER_SCHEMA], userName: body.userName, displayName: 'Put Without Type' });
      assert.equal(put.status, 200, put.text);
      assert.equal(json(put).displayName, 'Put Without Type');
      const patch = await scim('PATCH', `/Users/${id}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: 'No Type' }] });
      assert.equal(patch.status, 200, patch.text);
      assert.equal(json(patch).title, 'No Type');
      // A declared type that is not JSON is still not read as JSON.
      const text = await scim('POST', '/Users', newUser(), { 'Content-Type': 'text/plain' });
      assert.ok(text.status >= 400 && text.status < 500, text.text);
    });

    test('the admin API refuses a non-JSON Content-Type with 415 (never 200 with nothing changed) and parses JSON sent without one', async () => {
      const team = await newTeam();
      const form = { 'Content-Type': 'application/x-www-form-urlencoded' };
      const patched = await admin('PATCH', `/teams/${team.id}`, JSON.stringify({ displayName: 'Changed' }), form);
      adminError(patched, 415, 'unsupported_media_type');
      assert.match(json(patched).error.message, /application\/json/);
      adminError(await admin('POST', '/teams', JSON.stringify({ name: `t-${rand()}`, displayName: 'x' }), form), 415, 'unsupported_media_type');
      adminError(await admin('POST', '/teams', JSON.stringify({ name: `t-${rand()}`, displayName: 'x' }), { 'Content-Type': 'text/plain' }), 415, 'unsupported_media_type');
      assert.equal(json(await admin('GET', `/teams/${team.id}`)).displayName, 'Team', 'nothing changed');
      // curl -d with -H 'Content-Type: application/json', and a JSON body with no Content-Type at all: both applied.
      const ok = await admin('PATCH', `/teams/${team.id}`, JSON.stringify({ displayName: 'Changed' }));
      assert.equal(ok.status, 200, ok.text);
      assert.equal(json(await admin('GET', `/teams/${team.id}`)).displayName, 'Changed');
      // A request without a body keeps working whatever its Content-Type says.
      assert.equal((await admin('POST', `/teams/${team.id}/archive`, undefined, form)).status, 200);
    });

    test('a NUL in an admin path, query or body is a 400, never a 5xx', async () => {
      const team = await newTeam();
      const user = json(await scim('POST', '/Users', newUser(), { 'Content-Type': 'application/scim+json' }));
      const type = { 'Content-Type': 'application/json' };
      const cases: [string, string, string?][] = [
        ['GET', '/teams/%00'], ['GET', `/teams/${team.id}%00`], ['PATCH', `/teams/a%00b`, JSON.stringify({ displayName: 'x' })],
        ['GET', '/teams?after=%00'], ['GET', `/teams/${team.id}/members?after=a%00`], ['GET', '/audit?resourceId=%00'],
        ['DELETE', `/teams/${team.id}/members/${user.id}%00`], ['GET', `/users/%00/memberships`], ['GET', '/groups/%00'],
        ['POST', '/teams', JSON.stringify({ name: `t-${rand()}`, displayName: 'a\u0000b' })],
        ['POST', '/teams', JSON.stringify({ ['na\u0000me']: 'x' })],
        ['PATCH', `/teams/${team.id}`, JSON.stringify({ displayName: '\u0000' })],
        ['POST', `/teams/${team.id}/members`, JSON.stringify({ userId: `${user.id}\u0000` })],
        ['POST', `/teams/${team.id}/channels`, JSON.stringify({ name: `c-${rand()}`, displayName: ['x\u0000'] })],
      ];
      for (const [method, path, body] of cases) {
        const r = await admin(method, path, body, body ? type : {});
        assert.equal(r.status, 400, `${method} ${path} ${body ?? ''}: ${r.status} ${r.text}`);
        adminError(r, 400);
        assert.match(json(r).error.message, /NUL/, `${method} ${path}`);
      }
      assert.equal(json(await admin('GET', `/teams/${team.id}`)).displayName, 'Team');
    });

    test('a method an admin path does not offer is 405 with Allow; an unknown path is still 404', async () => {
      const team = await newTeam();
      const g = randomUUID();
      const cases: [string, string, string[]][] = [
        ['DELETE', '/teams', ['GET', 'POST']],
        ['PUT', `/teams/${team.id}`, ['GET', 'PATCH']],
        ['DELETE', `/teams/${team.id}`, ['GET', 'PATCH']],
        ['GET', `/teams/${team.id}/archive`, ['POST']],
        ['GET', '/reconcile', ['POST']],
        ['POST', '/audit', ['GET']],
        ['PATCH', `/groups/${g}/teams/${team.id}`, ['PUT', 'DELETE']],
        ['POST', `/teams/${team.id}/members/${g}`, ['DELETE']],
      ];
      for (const [method, path, allowed] of cases) {
        const r = await admin(method, path);
        adminError(r, 405, 'method_not_allowed');
        const allow = String(r.headers.allow ?? '').split(/,\s*/);
        for (const m of allowed) assert.ok(allow.includes(m), `${method} ${path}: Allow ${r.headers.allow}`);
        assert.ok(!allow.includes(method), `${method} ${path}: Allow ${r.headers.allow}`);
      }
      adminError(await admin('GET', '/nonexistent'), 404, 'not_found');
      adminError(await admin('DELETE', '/teams/a/b/c'), 404, 'not_found');
    });

    test('request lines carry the client address (TRUST_PROXY_HOPS) and the detail of a 4xx, never a token, body or query', async () => {
      const secret = `secret-${rand()}`;
      const ids = { notFound: `h-${randomUUID()}`, unauth: `h-${randomUUID()}`, adminBad: `h-${randomUUID()}`, scimBad: `h-${randomUUID()}`, ok: `h-${randomUUID()}` };
      await rawRequest(`${server.base}/Nope?filter=${secret}`, { headers: { Authorization: `Bearer ${server.token}`, 'X-Request-Id': ids.notFound, 'X-Forwarded-For': '203.0.113.7' } });
      await rawRequest(`${server.base}/Users`, { headers: { Authorization: `Bearer ${secret}`, 'X-Request-Id': ids.unauth } });
      await admin('POST', '/teams', JSON.stringify({ name: secret, bogus: 1 }), { 'Content-Type': 'application/json', 'X-Request-Id': ids.adminBad });
      await scim('POST', '/Users', { schemas: [USER_SCHEMA], password: secret }, { 'Content-Type': 'application/scim+json', 'X-Request-Id': ids.scimBad });
      await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${secret}"`)}`, undefined, { 'X-Request-Id': ids.ok, 'X-Forwarded-For': '198.51.100.9, 203.0.113.8' });
      await sleep(200);
      const lines = server.output().split('\n').filter((l) => l.includes('"message":"request"'));
      const line = (id: string) => {
        const found = lines.filter((l) => l.includes(id));
        assert.equal(found.length, 1, `one line for ${id}`);
        assert.ok(!found[0]!.includes(secret) && !found[0]!.includes(server.token), `no token, body or query: ${found[0]}`);
        return JSON.parse(found[0]!);
      };
      const nf = line(ids.notFound);
      assert.equal(nf.status, 404);
      assert.equal(nf.client, '203.0.113.7', 'the address the proxy saw (TRUST_PROXY_HOPS=1)');
      assert.match(nf.detail, /not found/i);
      const un = line(ids.unauth);
      assert.equal(un.status, 401);
      assert.equal(un.client, '127.0.0.1');
      assert.match(un.detail, /bearer token is not valid/);
      const ab = line(ids.adminBad);
      assert.equal(ab.status, 400);
      assert.match(ab.detail, /unknown field "bogus"/);
      const sb = line(ids.scimBad);
      assert.equal(sb.status, 400);
      assert.equal(typeof sb.detail, 'string');
      const ok = line(ids.ok);
      assert.equal(ok.status, 200);
      assert.equal(ok.client, '203.0.113.8', 'one trusted hop: the last address in X-Forwarded-For');
      assert.equal(ok.detail, undefined, 'no detail on a success');
    });
  });
}

/** Start the server at a log level; its output is what it logged, the listening line included. */
async function startAt(level: string, dbUrl: string): Promise<{ out: () => string; port: number | undefined; stop: () => Promise<unknown> }> {
  const s = await startServer('sqlite', dbUrl, { env: { ADMIN_TOKEN: '', LOG_LEVEL: level } });
  return { out: s.output, port: Number(new URL(s.url).port), stop: () => s.stop() };
}

describe('start-up line', () => {
  for (const level of ['warn', 'error']) {
    test(`LOG_LEVEL=${level} still prints where the server listens and its PUBLIC_URL`, { timeout: 60_000 }, async () => {
      const db = await createDatabase('sqlite');
      const s = await startAt(level, db.url);
      const output = s.out;
      try {
        assert.ok(s.port, `no listening line at LOG_LEVEL=${level}:\n${output()}`);
        const lines = output().split('\n').filter((l) => l.includes('"message":"listening"'));
        assert.equal(lines.length, 1, output());
        const line = JSON.parse(lines[0]!);
        assert.equal(line.publicUrl, `http://127.0.0.1:${s.port}/scim/v2`);
        // The level still filters everything else: a request is not logged.
        const r = await fetch(`http://127.0.0.1:${s.port}/scim/v2/Users?count=1`);
        assert.equal(r.status, 401);
        await sleep(100);
        assert.ok(!output().includes('"message":"request"'), 'request lines are still filtered');
      } finally {
        await s.stop();
        await db.drop();
      }
    });
  }
});
