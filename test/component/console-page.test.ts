/**
 * The admin console's page at HTTP level (src/http/console-page.ts): index.html for /console and every deep link,
 * the page's files and four vendor modules by exact name and nothing else of the file system or node_modules, the
 * strict CSP whose one hash is that of the inline import map, ETag revalidation, /console/session left to the session
 * router, and the page's own file requests kept out of the request log. The page in a browser: test/browser/.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, stores, useServer } from '../helpers/server.ts';

const INDEX = readFileSync(join(ROOT, 'src/console-ui/index.html'), 'utf8');

for (const store of stores()) {
  describe(`console page [${store}]`, () => {
    const env = useServer(store);
    const get = (path: string, headers: Record<string, string> = {}) => fetch(`${env.server.url}${path}`, { headers });

    test('/console, /console/ and deep links answer index.html under the strict CSP, which allows the import map by its hash', async () => {
      const map = /<script type="importmap">([\s\S]*?)<\/script>/.exec(INDEX)![1]!;
      const hash = createHash('sha256').update(map, 'utf8').digest('base64');
      for (const path of ['/console', '/console/', '/console/people/ada%40example.com', '/console/teams/t1']) {
        const res = await get(path);
        assert.equal(res.status, 200, path);
        assert.match(res.headers.get('content-type')!, /^text\/html; charset=utf-8/);
        assert.equal(await res.text(), INDEX);
        assert.equal(res.headers.get('content-security-policy'),
          `default-src 'none'; script-src 'self' 'sha256-${hash}'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`);
        assert.equal(res.headers.get('cache-control'), 'no-cache');
      }
      // No other inline script or style for the policy to refuse.
      assert.equal(INDEX.match(/<script/g)!.length, 2);
      assert.doesNotMatch(INDEX, /<style|style=/);
    });

    test('the page\'s files and the vendor modules by name, with an ETag a browser revalidates', async () => {
      for (const [path, type] of [['/console/app.js', 'text/javascript'], ['/console/styles.css', 'text/css'], ['/console/vendor/preact.mjs', 'text/javascript'],
        ['/console/vendor/preact-hooks.mjs', 'text/javascript'], ['/console/vendor/htm.mjs', 'text/javascript'], ['/console/vendor/htm-preact.mjs', 'text/javascript']] as const) {
        const res = await get(path);
        assert.equal(res.status, 200, path);
        assert.ok(res.headers.get('content-type')!.startsWith(type), `${path}: ${res.headers.get('content-type')}`);
        const etag = res.headers.get('etag')!;
        assert.match(etag, /^"[\w-]+"$/);
        const again = await get(path, { 'If-None-Match': etag });
        assert.equal(again.status, 304, path);
        assert.equal(await again.text(), '');
      }
      const head = await fetch(`${env.server.url}/console/app.js`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(await head.text(), '');
    });

    test('nothing else: an unknown file is a 404, and neither node_modules nor the repository is reachable', async () => {
      for (const path of ['/console/nope.js', '/console/vendor/preact/package.json', '/console/vendor/react.mjs', '/console/..%2Fpackage.json', '/console/%2e%2e/%2e%2e/package.json', '/console/vendor/../../package.json']) {
        const res = await get(path);
        const text = await res.text();
        assert.ok(res.status === 404 || (res.status === 200 && text === INDEX), `${path}: ${res.status}`);
        assert.doesNotMatch(text, /"dependencies"/, path);
      }
      assert.equal((await get('/console/nope.js')).status, 404);
      assert.equal((await get('/console/vendor/preact/package.json')).status, 404);
    });

    test('/console/session is the session router\'s: JSON, not the page', async () => {
      const res = await get('/console/session');
      assert.equal(res.status, 401);
      assert.match(res.headers.get('content-type')!, /^application\/json/);
      assert.equal((await res.json()).error.code, 'no_session');
    });

    test('a page load stays out of the request log; the admin API calls it makes do not', async () => {
      for (const path of ['/console', '/console/app.js', '/console/vendor/preact.mjs']) await (await get(path)).arrayBuffer();
      const admin = { Authorization: `Bearer ${env.server.adminToken}` };
      await (await get('/admin/v1/overview', admin)).arrayBuffer();
      await env.server.running!.requestLog!.flush();
      const logged = await (await get('/admin/v1/requests?path=/console', admin)).json();
      assert.deepEqual(logged.items.filter((r: any) => r.path !== '/console/session'), []);
      const api = await (await get('/admin/v1/requests?path=/admin/v1/overview', admin)).json();
      assert.equal(api.items.length, 1);
    });
  });
}
