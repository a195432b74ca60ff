/**
 * The admin API's OpenAPI document matches the code (issue 16): every route the admin router serves is described,
 * with its method, and every described operation is routed; the document is valid OpenAPI 3.1 by a maintained parser
 * (@readme/openapi-parser, which checks it against the OAS 3.1 schema and its own rules: unique operation ids,
 * path parameters declared, $refs that resolve).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validate, compileErrors } from '@readme/openapi-parser';
import type { Router } from 'express';
import { adminRouter, type AdminRouterDeps } from '../../src/admin/router.ts';
import { adminOpenApi } from '../../src/admin/openapi/document.ts';

/** The router needs its dependencies only when a request comes; building it needs an authenticator and nothing else. */
const deps = { auth: { require: () => (_req: unknown, _res: unknown, next: () => void) => next() }, config: { bodyLimit: 1024, publicUrl: 'http://x/scim/v2' } } as unknown as AdminRouterDeps;

/** `METHOD /path/{param}` for every route in the router and the routers it mounts (Express 5: path-to-regexp 8). */
function routesOf(router: Router): Set<string> {
  const out = new Set<string>();
  const walk = (stack: any[]) => {
    for (const layer of stack) {
      if (layer.route) {
        const path = String(layer.route.path).replace(/:(\w+)/g, '{$1}');
        for (const m of Object.keys(layer.route.methods)) if (m !== '_all') out.add(`${m.toUpperCase()} ${path}`);
      } else if (Array.isArray(layer.handle?.stack)) {
        walk(layer.handle.stack);
      }
    }
  };
  walk((router as unknown as { stack: unknown[] }).stack);
  return out;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

function documented(doc: any): Set<string> {
  const out = new Set<string>();
  for (const [path, item] of Object.entries<Record<string, unknown>>(doc.paths)) {
    for (const m of Object.keys(item)) if (METHODS.includes(m)) out.add(`${m.toUpperCase()} ${path}`);
  }
  return out;
}

test('every admin route is in the OpenAPI document, and every documented operation is routed', () => {
  const routed = routesOf(adminRouter(deps));
  const doc = documented(adminOpenApi().doc);
  assert.ok(routed.size >= 30, `the walk found ${routed.size} routes: has the router's shape changed?`);
  assert.deepEqual([...routed].filter((r) => !doc.has(r)).sort(), [], 'routes missing from src/admin/openapi');
  assert.deepEqual([...doc].filter((r) => !routed.has(r)).sort(), [], 'documented operations with no route');
});

test('the document is valid OpenAPI 3.1', async () => {
  const { doc } = adminOpenApi();
  assert.equal(doc.openapi, '3.1.0');
  const result = await validate(structuredClone(doc) as never);
  assert.ok(result.valid, result.valid ? '' : compileErrors(result));
  // Every path parameter in a template is declared, and only those (the parser checks this too; stated here so a
  // parser change cannot drop it silently).
  for (const [path, item] of Object.entries<any>(doc.paths as object)) {
    const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const [m, o] of Object.entries<any>(item)) {
      const declared = (o.parameters ?? []).filter((p: any) => p.in === 'path').map((p: any) => p.name).sort();
      assert.deepEqual(declared, inPath, `${m.toUpperCase()} ${path}`);
    }
  }
});

test('every operation documents its answers in the admin error format', () => {
  for (const [path, item] of Object.entries<any>(adminOpenApi().doc.paths as object)) {
    for (const [m, o] of Object.entries<any>(item)) {
      const codes = Object.keys(o.responses);
      assert.ok(codes.some((c) => c.startsWith('2')), `${m} ${path} has no success answer`);
      if (path === '/openapi.json') continue;
      for (const c of ['401', '403']) assert.ok(codes.includes(c), `${m} ${path} lacks ${c}`);
      for (const c of codes.filter((x) => Number(x) >= 400)) {
        assert.equal(o.responses[c].content['application/json'].schema.$ref, '#/components/schemas/Error', `${m} ${path} ${c}`);
      }
    }
  }
});
