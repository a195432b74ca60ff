/**
 * toAppError, table-driven: each kind of thing that can be thrown (an AppError, a SCIMMY error, body-parser and
 * router errors, database errors, anything else) and the status, scimType, code, detail and headers it is answered
 * with on the SCIM mount and on the admin mount; and that nothing internal (a driver message, SQL, an index name,
 * engine text) reaches the detail. The body-parser, router and database errors are real: produced by express.json()
 * and the router on an in-process server, and by the migrated SQLite (and PostgreSQL) store.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import SCIMMY from 'scimmy';
import { AppError, type ScimType } from '../../src/errors/app-error.ts';
import { toAppError, type Mount } from '../../src/errors/error-mapping.ts';
import { scimError } from '../../src/scim/shared/errors.ts';
import { badRequest, conflict, notFound, rethrowUnique } from '../../src/workspace/errors.ts';
import { openDb } from '../../src/store/db.ts';
import { foldGroup, foldUser } from '../../src/store/fold.ts';
import { stores } from '../helpers/server.ts';
import { fixture, type Fixture } from '../helpers/workspace-db.ts';

interface Expect { status: number; scimType: ScimType | null; code: string; detail: string; headers?: Record<string, string>; internal?: boolean }
interface Case {
  name: string;
  input: () => unknown;
  scim: Expect;
  /** Omitted: the same as on the SCIM mount. */
  admin?: Expect;
  /** Text of the input that must not reach the client. */
  secret?: RegExp;
}

const INTERNAL: Expect = { status: 500, scimType: null, code: 'internal', detail: 'internal server error', internal: true };

function check(c: Case, mount: Mount, want: Expect): void {
  const input = c.input();
  const e = toAppError(input, mount);
  assert.ok(e instanceof AppError);
  assert.deepEqual(
    { case: c.name, status: e.status, scimType: e.scimType, code: e.code, detail: e.detail, headers: { ...e.headers }, internal: e.internal },
    { case: c.name, headers: {}, internal: false, ...want },
  );
  assert.equal(toAppError(e, mount), e, 'an AppError maps to itself');
  if (e.internal) assert.equal(e.cause, input ?? null, 'the cause stays on the error, for the log');
  if (c.secret) {
    const text = input instanceof Error ? input.message : String(input);
    assert.match(text, c.secret, `${c.name}: the input holds the text that must stay out`);
    const bodies = [JSON.stringify({ detail: e.detail, scimType: e.scimType }), JSON.stringify({ code: e.code, message: e.detail }), JSON.stringify(e.headers)];
    for (const body of bodies) assert.doesNotMatch(body, c.secret);
  }
}

function table(title: string, cases: () => Case[]): void {
  describe(title, () => {
    for (const mount of ['scim', 'admin'] as const) {
      test(`on the ${mount} mount`, () => {
        for (const c of cases()) check(c, mount, mount === 'admin' ? c.admin ?? c.scim : c.scim);
      });
    }
  });
}

/** What `fn` throws (or rejects with). */
async function thrown(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  assert.fail('expected a throw');
}

table('application errors', () => [
  { name: 'scimError', input: () => scimError(409, 'uniqueness', 'userName is already taken'), scim: { status: 409, scimType: 'uniqueness', code: 'conflict', detail: 'userName is already taken' } },
  { name: 'scimError 412', input: () => scimError(412, null, 'resource version is 3, not W/"2"'), scim: { status: 412, scimType: null, code: 'precondition_failed', detail: 'resource version is 3, not W/"2"' } },
  { name: 'scimError 400', input: () => scimError(400, 'invalidFilter', 'bad filter'), scim: { status: 400, scimType: 'invalidFilter', code: 'invalid_request', detail: 'bad filter' } },
  { name: 'scim 429 with headers', input: () => AppError.scim(429, null, 'slow down', { 'Retry-After': '2' }), scim: { status: 429, scimType: null, code: 'too_many_requests', detail: 'slow down', headers: { 'Retry-After': '2' } } },
  { name: 'workspace badRequest', input: () => badRequest('invalid_name', 'name must be lowercase'), scim: { status: 400, scimType: 'invalidValue', code: 'invalid_name', detail: 'name must be lowercase' } },
  { name: 'workspace badRequest on the body', input: () => badRequest('invalid_body', 'the request body must be a JSON object'), scim: { status: 400, scimType: 'invalidSyntax', code: 'invalid_body', detail: 'the request body must be a JSON object' } },
  { name: 'workspace notFound', input: () => notFound('team', 'abc'), scim: { status: 404, scimType: null, code: 'not_found', detail: 'team abc not found' } },
  { name: 'workspace conflict, name taken', input: () => conflict('name_taken', 'a team named "x" already exists'), scim: { status: 409, scimType: 'uniqueness', code: 'name_taken', detail: 'a team named "x" already exists' } },
  { name: 'workspace conflict', input: () => conflict('archived', 'team x is archived'), scim: { status: 409, scimType: null, code: 'archived', detail: 'team x is archived' } },
]);

table('SCIMMY errors', () => [
  { name: 'schema validation', input: () => new SCIMMY.Types.Error(400, 'invalidValue', "Attribute 'userName' expected value type 'string'"), scim: { status: 400, scimType: 'invalidValue', code: 'invalid_request', detail: "Attribute 'userName' expected value type 'string'" } },
  { name: 'a 404 without scimType', input: () => new SCIMMY.Types.Error(404, null as unknown as string, 'Resource x not found'), scim: { status: 404, scimType: null, code: 'not_found', detail: 'Resource x not found' } },
  { name: 'status as a string', input: () => new SCIMMY.Types.Error('409' as unknown as number, 'uniqueness', 'taken'), scim: { status: 409, scimType: 'uniqueness', code: 'conflict', detail: 'taken' } },
  { name: 'a 5xx is SCIMMY failing', input: () => new SCIMMY.Types.Error(500, null as unknown as string, "Cannot read properties of undefined (reading 'x')"), scim: INTERNAL, secret: /Cannot read|reading/ },
]);

table('anything else', () => [
  { name: 'an Error', input: () => new Error('SELECT * FROM api_tokens WHERE token_hash = $1'), scim: INTERNAL, secret: /SELECT|api_tokens|token_hash/ },
  { name: 'a TypeError', input: () => new TypeError("Cannot read properties of undefined (reading 'value')"), scim: INTERNAL, secret: /Cannot read|reading/ },
  { name: 'a string', input: () => 'connection string postgres://user:secret@db/scim', scim: INTERNAL, secret: /secret|postgres/ },
  { name: 'undefined', input: () => undefined, scim: INTERNAL },
  { name: 'null', input: () => null, scim: INTERNAL },
  { name: 'a 5xx with a status', input: () => Object.assign(new Error('stream encoding should not be set'), { status: 500, type: 'stream.encoding.set' }), scim: INTERNAL, secret: /stream/ },
]);

// http-errors style errors from the layers under us that no request here produces (body-parser's size check on a
// length the HTTP parser already enforces, other 4xx statuses): shaped as http-errors makes them.
const httpError = (status: number, message: string, props: Record<string, unknown> = {}) => Object.assign(new Error(message), { status, statusCode: status, expose: status < 500, ...props });
table('http-errors style errors', () => [
  {
    name: 'request.size.invalid', input: () => httpError(400, 'request size did not match content length', { type: 'request.size.invalid', expected: 10, received: 5 }),
    scim: { status: 400, scimType: 'invalidSyntax', code: 'invalid_body', detail: 'request size did not match Content-Length' },
    admin: { status: 400, scimType: 'invalidSyntax', code: 'invalid_body', detail: 'the request body could not be read (content encoding or framing is invalid)' },
  },
  {
    name: 'an exposed 4xx', input: () => httpError(410, 'Gone'),
    scim: { status: 410, scimType: null, code: 'error', detail: 'Gone' },
    admin: { status: 400, scimType: 'invalidSyntax', code: 'invalid_body', detail: 'the request body could not be read (content encoding or framing is invalid)' },
  },
  {
    name: 'an unexposed 4xx', input: () => Object.assign(httpError(404, 'ENOENT: /srv/app/secret.json'), { expose: false }),
    scim: { status: 404, scimType: null, code: 'not_found', detail: 'the request was refused' },
    admin: { status: 400, scimType: 'invalidSyntax', code: 'invalid_body', detail: 'the request body could not be read (content encoding or framing is invalid)' },
    secret: /ENOENT|secret/,
  },
]);

/** Real errors of express.json() and the router, caught by an error handler on an in-process server. */
describe('body-parser and router errors', () => {
  const caught = new Map<string, unknown>();
  let server: Server;
  const send = (name: string, method: string, path: string, headers: Record<string, string>, body?: string) => new Promise<void>((resolve, reject) => {
    const req = request({ port: (server.address() as AddressInfo).port, method, path, headers: { ...headers, 'x-case': name } }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end(body);
  });
  /** A client that sends part of a body, then goes away. */
  const abort = (name: string) => new Promise<void>((resolve) => {
    const req = request({ port: (server.address() as AddressInfo).port, method: 'POST', path: '/', headers: { 'content-type': 'application/json', 'content-length': '12', 'x-case': name } });
    req.on('error', () => undefined);
    req.write('{"a":');
    setTimeout(() => { req.destroy(); resolve(); }, 50);
  });

  before(async () => {
    const app = express();
    app.use(express.json({ limit: 16 }));
    app.get('/p/:x', (_req, res) => { res.end(); });
    app.post('/', (_req, res) => { res.end(); });
    app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
      caught.set(String(req.headers['x-case']), err);
      res.status(400).end();
    });
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const json = { 'content-type': 'application/json' };
    await send('json', 'POST', '/', json, '{"a":');
    await send('large', 'POST', '/', json, JSON.stringify({ a: 'x'.repeat(64) }));
    await send('charset', 'POST', '/', { 'content-type': 'application/json; charset=klingon' }, '{}');
    await send('encoding', 'POST', '/', { ...json, 'content-encoding': 'x-unknown' }, '{}');
    await send('gzip', 'POST', '/', { ...json, 'content-encoding': 'gzip' }, 'these bytes are not gzip');
    await send('path', 'GET', '/p/%E0%A4%A', {});
    await abort('aborted');
    for (let i = 0; i < 100 && !caught.has('aborted'); i++) await new Promise((r) => setTimeout(r, 20));
  });
  after(() => { server.close(); });

  const got = (name: string) => () => {
    assert.ok(caught.has(name), `the server caught no error for ${name}`);
    return caught.get(name);
  };
  const UNREADABLE = 'the request body could not be read (content encoding or framing is invalid)';
  const cases = (): Case[] => [
    {
      name: 'invalid JSON', input: got('json'), secret: /Unexpected|position|JSON at/,
      scim: { status: 400, scimType: 'invalidSyntax', code: 'invalid_json', detail: 'request body is not valid JSON' },
      admin: { status: 400, scimType: 'invalidSyntax', code: 'invalid_json', detail: 'the request body is not valid JSON' },
    },
    {
      name: 'too large', input: got('large'),
      scim: { status: 413, scimType: null, code: 'too_large', detail: 'request body is larger than 16 bytes' },
      admin: { status: 413, scimType: null, code: 'too_large', detail: 'the request body is too large' },
    },
    {
      name: 'unsupported charset', input: got('charset'), secret: /klingon/i,
      scim: { status: 400, scimType: 'invalidSyntax', code: 'unsupported_encoding', detail: 'request body encoding is not supported' },
      admin: { status: 415, scimType: null, code: 'unsupported_encoding', detail: 'the request body encoding is not supported' },
    },
    {
      name: 'unsupported content encoding', input: got('encoding'), secret: /x-unknown/,
      scim: { status: 400, scimType: 'invalidSyntax', code: 'unsupported_encoding', detail: 'request body encoding is not supported' },
      admin: { status: 415, scimType: null, code: 'unsupported_encoding', detail: 'the request body encoding is not supported' },
    },
    {
      name: 'a body that does not decompress', input: got('gzip'), secret: /header|zlib|incorrect/i,
      scim: { status: 400, scimType: 'invalidSyntax', code: 'invalid_body', detail: UNREADABLE },
    },
    {
      name: 'a path that is not valid percent-encoding', input: got('path'), secret: /URI malformed|Failed to decode/,
      scim: { status: 400, scimType: null, code: 'invalid_path', detail: 'the request path is not valid percent-encoded UTF-8' },
    },
    {
      name: 'a body the client stopped sending', input: got('aborted'),
      scim: { status: 400, scimType: 'invalidSyntax', code: 'invalid_body', detail: 'request aborted' },
      admin: { status: 400, scimType: 'invalidSyntax', code: 'invalid_body', detail: UNREADABLE },
    },
  ];
  for (const mount of ['scim', 'admin'] as const) {
    test(`on the ${mount} mount`, () => {
      for (const c of cases()) check(c, mount, mount === 'admin' ? c.admin ?? c.scim : c.scim);
    });
  }
});

describe('database errors: an unreachable database', () => {
  let refused: unknown;
  before(async () => {
    // Nothing listens on port 1: the driver's own ECONNREFUSED, as when PostgreSQL is down.
    const db = openDb({ url: 'postgres://postgres@127.0.0.1:1/none', onWarning: () => undefined });
    refused = await thrown(() => db.raw('select 1'));
    await db.destroy();
  });
  test('is 503, with Retry-After on SCIM; the driver text stays out', () => {
    const c: Case = {
      name: 'connection refused', input: () => refused, secret: /ECONNREFUSED|127\.0\.0\.1|connect/,
      scim: { status: 503, scimType: null, code: 'unavailable', detail: 'the identity store is unavailable; retry later', headers: { 'Retry-After': '5' } },
      admin: { status: 503, scimType: null, code: 'unavailable', detail: 'the database is unavailable; retry' },
    };
    check(c, 'scim', c.scim);
    check(c, 'admin', c.admin!);
  });
});

for (const store of stores()) {
  describe(`database errors [${store}]`, () => {
    let f: Fixture;
    const errors = new Map<string, unknown>();
    const now = Date.now();
    const user = (row: Record<string, unknown>) => {
      const id = randomUUID();
      return foldUser({ id, user_name: `u-${id}`, username: `h${id.slice(0, 8)}`, active: true, created_at: now, updated_at: now, ...row });
    };
    before(async () => {
      f = await fixture(store);
      const db = f.db;
      await db('users').insert(user({ user_name: 'Taken.Name', external_id: 'ext-taken', email: 'taken@example.com', username: 'takenhandle' }));
      errors.set('userName', await thrown(() => db('users').insert(user({ user_name: 'taken.name' }))));
      errors.set('externalId', await thrown(() => db('users').insert(user({ external_id: 'ext-taken' }))));
      errors.set('email', await thrown(() => db('users').insert(user({ email: 'taken@example.com' }))));
      errors.set('username', await thrown(() => db('users').insert(user({ username: 'takenhandle' }))));
      const g = await f.group();
      const ext = (await db('groups').where({ id: g }).first()).external_id;
      errors.set('groupExternalId', await thrown(() => db('groups').insert(foldGroup({ id: randomUUID(), external_id: ext, display_name: 'g', created_at: now, updated_at: now }))));
      errors.set('foreignKey', await thrown(() => db('group_members').insert({ group_id: g, user_id: randomUUID(), created_at: now })));
      if (store === 'pg') {
        errors.set('invalidData', await thrown(() => db.raw('select ?::text as v', ['a\u0000b'])));
      } else {
        await db.raw('create temp table mismatch (id integer primary key)');
        errors.set('invalidData', await thrown(() => db.raw("insert into mismatch (id) values ('not a number')")));
      }
      errors.set('nameTaken', await thrown(() => db('users').insert(user({ user_name: 'taken.name' })).catch((err) => rethrowUnique(err, 'a team named "x" already exists'))));
    });
    after(async () => { await f.close(); });

    const got = (name: string) => () => {
      assert.ok(errors.get(name) !== undefined, `no error for ${name}`);
      return errors.get(name);
    };
    // Driver messages name tables, columns, indexes and values, and quote SQL: none of it is shown.
    const DRIVER = 'UNIQUE constraint|FOREIGN KEY|violates|duplicate key|Key \\(|SQLITE_|users[._]|groups[._]|group_members|insert into|select ';
    const secret = (value?: string) => new RegExp(value ? `${DRIVER}|${value.replace(/[.]/g, '\\.')}` : DRIVER);
    const conflict409 = (detail: string): Expect => ({ status: 409, scimType: 'uniqueness', code: 'conflict', detail });
    const cases = (): Case[] => [
      { name: 'userName taken (folded)', input: got('userName'), scim: conflict409('userName is already taken'), admin: INTERNAL, secret: secret('Taken.Name|taken.name') },
      { name: 'user externalId taken', input: got('externalId'), scim: conflict409('externalId is already bound to another user'), admin: INTERNAL, secret: secret('ext-taken') },
      { name: 'email taken', input: got('email'), scim: conflict409('email is already used by another user'), admin: INTERNAL, secret: secret('taken@example.com') },
      { name: 'another unique index', input: got('username'), scim: conflict409('a unique attribute is already taken'), admin: INTERNAL, secret: secret('takenhandle') },
      { name: 'group externalId taken', input: got('groupExternalId'), scim: conflict409('externalId is already bound to another group'), admin: INTERNAL, secret: secret('ext-') },
      { name: 'foreign key', input: got('foreignKey'), scim: INTERNAL, secret: secret() },
      {
        name: 'a value the column cannot take', input: got('invalidData'), admin: INTERNAL, secret: secret('mismatch|0x00|byte sequence|not a number'),
        scim: { status: 400, scimType: 'invalidValue', code: 'invalid_value', detail: 'a value is too long or not valid for its attribute' },
      },
      { name: 'rethrowUnique', input: got('nameTaken'), scim: { status: 409, scimType: 'uniqueness', code: 'name_taken', detail: 'a team named "x" already exists' } },
    ];
    for (const mount of ['scim', 'admin'] as const) {
      test(`on the ${mount} mount`, () => {
        for (const c of cases()) check(c, mount, mount === 'admin' ? c.admin ?? c.scim : c.scim);
      });
    }
  });
}

// A transaction PostgreSQL aborted for a concurrent one (deadlock_detected, serialization_failure): produced for
// real on PostgreSQL below; the classification by code is the store's (classifyDbError).
if (stores().includes('pg')) {
  describe('database errors: a deadlock [pg]', () => {
    let f: Fixture;
    let deadlock: unknown;
    before(async () => {
      f = await fixture('pg');
      const [a, b] = [await f.group(), await f.group()];
      const t1 = await f.db.transaction();
      const t2 = await f.db.transaction();
      await t1('groups').where({ id: a }).update({ version: 2 });
      await t2('groups').where({ id: b }).update({ version: 2 });
      const results = await Promise.allSettled([t1('groups').where({ id: b }).update({ version: 3 }), t2('groups').where({ id: a }).update({ version: 3 })]);
      deadlock = results.find((r) => r.status === 'rejected')?.reason;
      await t1.rollback().catch(() => undefined);
      await t2.rollback().catch(() => undefined);
    });
    after(async () => { await f.close(); });
    test('is a 409 on SCIM, a 500 on the admin API', () => {
      const c: Case = {
        name: 'deadlock', input: () => deadlock, secret: /deadlock|process|groups/i,
        scim: { status: 409, scimType: null, code: 'conflict', detail: 'the resource changed concurrently; retry' },
        admin: INTERNAL,
      };
      check(c, 'scim', c.scim);
      check(c, 'admin', c.admin!);
    });
  });
}
