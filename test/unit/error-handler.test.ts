/**
 * The app's one error handler and its two renderers, on an in-process express app with both mounts: the renderer
 * follows the mount (admin JSON under the admin mount, SCIM everywhere else) whatever raised the error, headers go
 * out with either, the access log gets the detail (res.locals.errorDetail), and an internal failure is logged with
 * its request id and shown as a bare 500.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import express, { Router } from 'express';
import winston from 'winston';
import { AppError } from '../../src/errors/app-error.ts';
import { errorFormat, errorHandler, notFound } from '../../src/http/errors.ts';
import { requestContext } from '../../src/http/request-context.ts';
import { scimError } from '../../src/scim/shared/errors.ts';
import { conflict } from '../../src/workspace/errors.ts';

const SECRET = 'SELECT token_hash FROM api_tokens';

describe('error handler', () => {
  const lines: Record<string, any>[] = [];
  let server: Server;
  let base: string;

  before(async () => {
    const stream = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } });
    const log = winston.createLogger({ level: 'http', format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] });
    const routes = () => {
      const r = Router();
      r.get('/workspace', () => { throw conflict('name_taken', 'a team named "x" already exists'); });
      r.get('/scim', () => { throw scimError(412, null, 'the group changed since the If-Match version'); });
      r.get('/headers', (_req, _res, next) => next(AppError.scim(429, null, 'too many requests', { 'Retry-After': '3' })));
      r.get('/internal', () => { throw new Error(SECRET); });
      return r;
    };
    const app = express();
    app.use(requestContext(log));
    app.use('/scim/v2', routes());
    app.use('/admin/v1', errorFormat('admin'), routes());
    app.use(notFound);
    app.use(errorHandler(log));
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => { server.close(); });

  const get = async (path: string) => {
    const res = await fetch(`${base}${path}`, { headers: { 'x-request-id': `t-${path.replaceAll('/', '-')}` } });
    return { status: res.status, type: res.headers.get('content-type'), headers: res.headers, body: await res.json() as any, id: res.headers.get('x-request-id') };
  };
  const accessLine = (id: string | null) => lines.find((l) => l.message === 'request' && l.requestId === id);

  test('SCIM mount: RFC 7644 §3.12 bodies, a workspace error included', async () => {
    const w = await get('/scim/v2/workspace');
    assert.equal(w.status, 409);
    assert.match(w.type!, /^application\/scim\+json/);
    assert.deepEqual(w.body, { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '409', scimType: 'uniqueness', detail: 'a team named "x" already exists' });
    const s = await get('/scim/v2/scim');
    assert.deepEqual(s.body, { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '412', detail: 'the group changed since the If-Match version' });
    const h = await get('/scim/v2/headers');
    assert.equal(h.status, 429);
    assert.equal(h.headers.get('retry-after'), '3');
    assert.equal(accessLine(h.id)?.detail, 'too many requests');
  });

  test('admin mount: {"error":{status, code, message}}, a SCIM error included', async () => {
    const w = await get('/admin/v1/workspace');
    assert.equal(w.status, 409);
    assert.match(w.type!, /^application\/json/);
    assert.deepEqual(w.body, { error: { status: 409, code: 'name_taken', message: 'a team named "x" already exists' } });
    const s = await get('/admin/v1/scim');
    assert.deepEqual(s.body, { error: { status: 412, code: 'precondition_failed', message: 'the group changed since the If-Match version' } });
    const h = await get('/admin/v1/headers');
    assert.deepEqual(h.body, { error: { status: 429, code: 'too_many_requests', message: 'too many requests' } });
    assert.equal(h.headers.get('retry-after'), '3');
    assert.equal(accessLine(h.id)?.detail, 'too many requests');
  });

  test('an internal failure is logged with its request id and shown as a bare 500 on both mounts', async () => {
    for (const [path, message] of [['/scim/v2/internal', 'unhandled error'], ['/admin/v1/internal', 'admin api error']] as const) {
      const r = await get(path);
      assert.equal(r.status, 500);
      assert.doesNotMatch(JSON.stringify(r.body), /SELECT|token_hash|api_tokens/);
      const logged = lines.find((l) => l.message === message && l.requestId === r.id);
      assert.ok(logged, `"${message}" logged for ${r.id}`);
      assert.match(logged.error, /SELECT token_hash FROM api_tokens/);
    }
  });

  test('what no route answers is a SCIM 404', async () => {
    const r = await get('/nowhere');
    assert.equal(r.status, 404);
    assert.equal(r.body.detail, 'no such endpoint: GET /nowhere');
  });
});
