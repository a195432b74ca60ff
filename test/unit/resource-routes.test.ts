/**
 * The HTTP adapter of the resource endpoints (src/http/resource-routes.ts) writes what a handler answers: status,
 * ETag from the version, Location for a create, and a streamed body with backpressure, destroyed when it fails
 * partway. The handlers here are stand-ins, so no store is involved; the real ones are covered by the component tests.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { resourceRoutes } from '../../src/http/resource-routes.ts';
import type { ResourceResult } from '../../src/scim/shared/resource-result.ts';

const ID = '0b6f0a4e-8f1e-4c1e-9d59-3f0e6c0b7a11';
const errors: unknown[] = [];

async function* pieces(n: number, failAfter?: number): AsyncGenerator<string> {
  yield '{"members":[';
  for (let i = 0; i < n; i++) {
    if (i === failAfter) throw new Error('the store went away');
    yield `${i ? ',' : ''}${JSON.stringify({ value: `m${i}`, pad: 'x'.repeat(1000) })}`;
  }
  yield ']}';
}

/** A stand-in resource type: `new R(query)` or `new R(id, query)`, as SCIMMY's are constructed. */
class Things {
  static endpoint = '/Things';
  static basepath(_path: string) {}
  readonly id: string | undefined;
  readonly query: Record<string, string>;
  constructor(id?: unknown, query?: Record<string, string>) {
    this.id = typeof id === 'string' ? id : undefined;
    this.query = (typeof id === 'string' ? query : (id as Record<string, string>)) ?? {};
  }
  async read(): Promise<ResourceResult> {
    if (!this.id) return { body: { Resources: [], totalResults: 0 } };
    if (this.query.fail) return { stream: pieces(200, Number(this.query.fail)), version: 3 };
    return { stream: pieces(Number(this.query.n ?? 2000)), version: 3 };
  }
  async write(body: unknown): Promise<ResourceResult> {
    return this.id ? { body, version: 2 } : { body, version: 1, location: `http://example.test/Things/${ID}` };
  }
  async patch(message: any): Promise<ResourceResult> {
    return message.quiet ? { version: 4 } : { body: { id: this.id }, version: 4 };
  }
  async dispose(): Promise<ResourceResult> {
    return {};
  }
}

describe('resource routes write what the handlers answer', () => {
  let server: Server;
  let base: string;
  before(async () => {
    const app = express();
    app.use(express.json({ type: () => true, strict: false }));
    app.use((req, _res, next) => {
      (req as any).scimCtx = {};
      next();
    });
    app.use(resourceRoutes([Things], () => 'http://example.test'));
    app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      errors.push(err);
      if (!res.headersSent) res.status(500).end();
    });
    server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  test('POST: 201, ETag from the version, Location, the body', async () => {
    const res = await fetch(`${base}/Things`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    assert.equal(res.status, 201);
    assert.equal(res.headers.get('etag'), 'W/"1"');
    assert.equal(res.headers.get('location'), `http://example.test/Things/${ID}`);
    assert.equal(res.headers.get('content-type'), 'application/scim+json; charset=utf-8');
    assert.deepEqual(await res.json(), { a: 1 });
  });

  test('PUT answers 200 without a Location; DELETE 204', async () => {
    const put = await fetch(`${base}/Things/${ID}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"b":2}' });
    assert.equal(put.status, 200);
    assert.equal(put.headers.get('etag'), 'W/"2"');
    assert.equal(put.headers.get('location'), null);
    const del = await fetch(`${base}/Things/${ID}`, { method: 'DELETE' });
    assert.equal(del.status, 204);
    assert.equal(await del.text(), '');
  });

  test('PATCH: 200 with a body, 204 with only the ETag when there is none', async () => {
    const withBody = await fetch(`${base}/Things/${ID}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(withBody.status, 200);
    assert.deepEqual(await withBody.json(), { id: ID });
    const quiet = await fetch(`${base}/Things/${ID}`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: '{"quiet":true}' });
    assert.equal(quiet.status, 204);
    assert.equal(quiet.headers.get('etag'), 'W/"4"');
    assert.equal(await quiet.text(), '');
  });

  test('a streamed body arrives whole, larger than any socket buffer, with its ETag', async () => {
    const res = await fetch(`${base}/Things/${ID}?n=5000`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('etag'), 'W/"3"');
    const body = await res.json();
    assert.equal(body.members.length, 5000);
    assert.equal(body.members[4999].value, 'm4999');
  });

  test('a stream that fails partway destroys the connection and reaches the error handler', async () => {
    const before = errors.length;
    const res = await fetch(`${base}/Things/${ID}?fail=100`);
    assert.equal(res.status, 200, 'the status went out with the first piece');
    await assert.rejects(res.text(), 'the client sees a truncated response, not a valid-looking one');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(errors.length, before + 1);
    assert.match(String((errors.at(-1) as Error).message), /the store went away/);
  });

  test('POST /.search is a list read; a body that is not an object is 400 invalidSyntax', async () => {
    const ok = await fetch(`${base}/Things/.search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"filter":"x"}' });
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { Resources: [], totalResults: 0 });
    const before = errors.length;
    const bad = await fetch(`${base}/Things/.search`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '"x"' });
    assert.equal(bad.status, 500, 'the stand-in error handler answers 500 for anything');
    assert.equal((errors.at(-1) as any)?.status, 400);
    assert.equal((errors.at(-1) as any)?.scimType, 'invalidSyntax');
    assert.equal(errors.length, before + 1);
  });
});
