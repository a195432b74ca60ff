/**
 * The audit search (issue 16): GET /admin/v1/audit and `cli audit` answer "what did Entra change yesterday?" —
 * newest first, paged by a keyset that neither skips nor repeats, filtered by time range, actor, operation,
 * resource and request id, with unknown parameters refused. On SQLite the planner is asked which index serves each
 * filter, so a search stays an index read as the log grows.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { client, connect, createDatabase, newUser, PATCH_OP, startServer, stores, type TestDatabase, type TestServer } from '../helpers/server.ts';
import { runCli } from '../helpers/cli.ts';
import { createToken } from '../../src/store/tokens.ts';
import { auditSearch } from '../../src/store/audit.ts';

const deactivate = { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: false }] };

for (const store of stores()) {
  describe(`audit search [${store}]`, () => {
    let db: TestDatabase;
    let server: TestServer;
    let sql: Knex;
    let entra: ReturnType<typeof client>;
    let okta: ReturnType<typeof client>;
    let admin: (query: string) => Promise<{ status: number; body: any; text: string }>;
    const made: { entra: string[]; okta: string[]; requestId: string; deactivated: string } = { entra: [], okta: [], requestId: '', deactivated: '' };

    before(async () => {
      db = await createDatabase(store);
      server = await startServer(store, db);
      sql = connect(server.dbUrl);
      const entraToken = (await createToken(sql, 'entra-prod', 'scim', 'test'))!.token;
      const oktaToken = (await createToken(sql, 'okta-prod', 'scim', 'test'))!.token;
      entra = client(server, entraToken);
      okta = client(server, oktaToken);
      const a = client(server, server.adminToken);
      admin = async (query) => {
        const r = await a.get(`${server.url}/admin/v1/audit${query}`);
        return { status: r.status, body: r.body, text: r.text };
      };
      for (let i = 0; i < 7; i++) {
        const r = await entra.post('/Users', newUser());
        assert.equal(r.status, 201, r.text);
        made.entra.push(r.body.id);
      }
      for (let i = 0; i < 3; i++) made.okta.push((await okta.post('/Users', newUser())).body.id);
      made.requestId = `req-${randomUUID()}`;
      made.deactivated = made.entra[2]!;
      const p = await entra.patch(`/Users/${made.deactivated}`, deactivate, { 'X-Request-Id': made.requestId });
      assert.equal(p.status, 200, p.text);
    });
    after(async () => {
      await sql?.destroy();
      await server?.stop();
      await db?.drop();
    });

    test('newest first by default; pages of 4 walk the whole log with no gap or repeat; order=asc reverses', async () => {
      const all = (await sql('audit_log').orderBy('id', 'desc').pluck('id')).map(Number);
      const seen: number[] = [];
      let next: string | null = null;
      do {
        const r = await admin(`?limit=4${next ? `&after=${next}` : ''}`);
        assert.equal(r.status, 200, r.text);
        seen.push(...r.body.items.map((e: any) => e.id));
        next = r.body.next;
      } while (next);
      assert.deepEqual(seen, all);
      const asc = await admin('?order=asc&limit=1000');
      assert.deepEqual(asc.body.items.map((e: any) => e.id), [...all].reverse());
    });

    test('by actor (exact and prefix), operation (one or several), resource and request id', async () => {
      const byEntra = (await admin('?actor=token:entra-prod&operation=create_user&limit=1000')).body.items;
      assert.deepEqual(byEntra.map((e: any) => e.resourceId), [...made.entra].reverse(), 'newest first, only Entra');
      const prefixed = (await admin('?actor=token:*&operation=create_user&limit=1000')).body.items;
      assert.equal(prefixed.length, 10);
      assert.equal((await admin('?actor=token:entra&limit=1000')).body.items.length, 0, 'exact unless it ends with *');
      const both = (await admin('?operation=deactivate_user,create_user&limit=1000')).body.items;
      assert.deepEqual(new Set(both.map((e: any) => e.operation)), new Set(['create_user', 'deactivate_user']));
      assert.equal(both.length, 11, 'ten creates, one deactivation');
      const person = (await admin(`?resourceId=${made.deactivated}`)).body.items;
      // A PATCH of active writes the attribute change and the deactivation (with its session revocation).
      assert.deepEqual(person.map((e: any) => e.operation), ['deactivate_user', 'update_user', 'create_user']);
      const typed = (await admin(`?resourceType=Group&resourceId=${made.deactivated}`)).body.items;
      assert.equal(typed.length, 0, 'resourceType narrows');
      const request = (await admin(`?requestId=${made.requestId}`)).body.items;
      assert.deepEqual(request.map((e: any) => [e.operation, e.actor, e.resourceId]), [['deactivate_user', 'token:entra-prod', made.deactivated], ['update_user', 'token:entra-prod', made.deactivated]]);
    });

    test('by time range: since is inclusive, until exclusive, dates and offsets understood', async () => {
      const rows = (await admin('?order=asc&limit=1000')).body.items;
      const pivot = rows[5];
      const since = (await admin(`?order=asc&limit=1000&since=${encodeURIComponent(pivot.at)}`)).body.items;
      assert.ok(since.every((e: any) => Date.parse(e.at) >= Date.parse(pivot.at)));
      assert.ok(since.some((e: any) => e.id === pivot.id), 'since is inclusive');
      const until = (await admin(`?order=asc&limit=1000&until=${encodeURIComponent(pivot.at)}`)).body.items;
      assert.ok(until.every((e: any) => Date.parse(e.at) < Date.parse(pivot.at)), 'until is exclusive');
      assert.equal(since.length + until.length, rows.length, 'the two halves are the whole log');
      const offset = new Date(Date.parse(pivot.at) + 3_600_000).toISOString().replace('Z', '+01:00');
      assert.equal((await admin(`?limit=1000&since=${encodeURIComponent(offset)}`)).body.items.length, since.length, '+01:00 is read as an offset');
      const today = new Date().toISOString().slice(0, 10);
      assert.equal((await admin(`?limit=1000&until=${today}`)).body.items.length, 0, 'a date is its start in UTC');
      assert.equal((await admin('?limit=1000&since=2000-01-01&until=2000-01-02')).body.items.length, 0);
    });

    test('unknown or malformed parameters are JSON 400s, never ignored', async () => {
      for (const q of ['?sinse=2026-01-01', '?operaton=create_user', '?since=yesterday', '?since=2026-12-01T10:00',
        '?since=2026-02-31', '?until=2026-01-01&since=2026-01-02', '?operation=create_users', '?operation=,', '?order=up',
        '?after=abc', '?limit=0', '?actor=a&actor=b']) {
        const r = await admin(q);
        assert.equal(r.status, 400, `${q}: ${r.text}`);
        assert.equal(r.body.error.code, 'invalid_query', q);
        assert.equal(typeof r.body.error.message, 'string');
      }
    });

    test('cli audit: a table by default, JSON with --json, --since as a time ago, filters as the API', async () => {
      const table = await runCli(server.dbUrl, ['audit', '--actor', 'token:okta-prod', '--since', '1h']);
      assert.equal(table.code, 0, table.stderr);
      const lines = table.stdout.trim().split('\n');
      assert.match(lines[0]!, /^ID\s+AT\s+ACTOR\s+OPERATION\s+RESOURCE\s+CAUSE\s+REQUESTID$/);
      assert.equal(lines.length, 4, table.stdout);
      assert.ok(lines.slice(1).every((l) => l.includes('token:okta-prod') && l.includes('create_user')));
      const json = await runCli(server.dbUrl, ['audit', '--operation', 'deactivate_user', '--json']);
      assert.equal(json.code, 0, json.stderr);
      assert.deepEqual(JSON.parse(json.stdout).map((e: any) => e.resourceId), [made.deactivated]);
      const old = await runCli(server.dbUrl, ['audit', '--until', '1d', '--json']);
      assert.deepEqual(JSON.parse(old.stdout), [], 'nothing is a day old');
      const paged = await runCli(server.dbUrl, ['audit', '--limit', '2']);
      assert.match(paged.stderr, /more: --after \d+/);
      for (const bad of [['audit', '--since', 'soon'], ['audit', '--operation', 'nope'], ['audit', '--limit', '5000']]) {
        const r = await runCli(server.dbUrl, bad);
        assert.equal(r.code, 1, bad.join(' '));
        assert.match(r.stderr, /^error: /);
        assert.equal(r.stdout, '');
      }
    });

    if (store === 'sqlite') {
      test('each filter is read through an index, newest first without a sort', async () => {
        const plan = async (q: Parameters<typeof auditSearch>[1]) => {
          const { sql: text, bindings } = auditSearch(sql, { limit: 100, ...q }).toSQL();
          return (await sql.raw(`EXPLAIN QUERY PLAN ${text}`, bindings as any[])).map((r: any) => r.detail).join(' | ');
        };
        assert.match(await plan({ resourceId: 'x' }), /audit_resource_id_idx/);
        assert.match(await plan({ actor: 'token:entra-prod' }), /audit_actor_idx/);
        assert.match(await plan({ operations: ['create_user'] }), /audit_operation_idx/);
        assert.match(await plan({ requestId: 'r' }), /audit_request_idx/);
        for (const q of [{ resourceId: 'x' }, { actor: 'a' }, { operations: ['create_user'] }, {}]) {
          assert.doesNotMatch(await plan(q), /TEMP B-TREE/, `${JSON.stringify(q)} sorts in the index, not after`);
        }
      });
    }
  });
}
