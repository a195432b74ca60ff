/**
 * Bounded filters and one case fold (issue 10 items 4 and 5): a filter's terms are limited before it runs;
 * case-insensitive comparisons use columns folded once on write by src/store/fold.ts, so SQLite and PostgreSQL give
 * the same answer for `ΣΊΣΥΦΟΣ` and `İSTANBUL`; a lone UTF-16 surrogate is refused; PATCH applies the string limits
 * POST does; a database created before the folded columns keeps finding its people after the upgrade.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import {
  client, createDatabase, GROUP_SCHEMA, newUser, PATCH_OP, rand, ROOT, startServer, stores, useServer, type Reply, type Store,
} from '../helpers/server.ts';
import { MAX_FILTER_TERMS } from '../../src/scim/query/filter-parse.ts';

const ops = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });
const q = (filter: string) => `/Users?filter=${encodeURIComponent(filter)}`;

function expect400(res: Reply, scimType: string, detail?: RegExp): void {
  assert.equal(res.status, 400, res.text);
  assert.equal(res.body.scimType, scimType, res.text);
  if (detail) assert.match(res.body.detail, detail);
}

for (const store of stores()) {
  describe(`filters and case folding [${store}]`, () => {
    const env = useServer(store);

    test('a filter with more terms than the limit is 400 invalidFilter at once, naming the limit', async () => {
      const api = client(env.server);
      const filter = Array.from({ length: 215 }, (_, i) => `emails co "${String(i).padStart(3, '0')}"`).join(' or ');
      assert.ok(filter.length <= 4096);
      const started = Date.now();
      const res = await api.get(q(filter));
      expect400(res, 'invalidFilter', new RegExp(`at most ${MAX_FILTER_TERMS}`));
      assert.ok(Date.now() - started < 2000, `${Date.now() - started} ms`);
      const search = await api.post('/Users/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter });
      expect400(search, 'invalidFilter', new RegExp(`at most ${MAX_FILTER_TERMS}`));
      const atLimit = await api.get(q(Array.from({ length: MAX_FILTER_TERMS }, (_, i) => `emails co "${i}-none"`).join(' or ')));
      assert.equal(atLimit.status, 200, atLimit.text);
    });

    test('final sigma: ΣΊΣΥΦΟΣ and σίσυφος are one userName (unique, and eq finds either way)', async () => {
      const api = client(env.server);
      const r = rand();
      const upper = `ΣΊΣΥΦΟΣ-${r}`;
      const lower = `σίσυφος-${r}`;
      const a = await api.post('/Users', newUser({ userName: upper }));
      assert.equal(a.status, 201, a.text);
      const dup = await api.post('/Users', newUser({ userName: lower }));
      assert.equal(dup.status, 409, dup.text);
      assert.equal(dup.body.scimType, 'uniqueness');
      for (const name of [upper, lower, `σίσυφοσ-${r}`]) {
        const found = await api.get(q(`userName eq "${name}"`));
        assert.equal(found.status, 200, found.text);
        assert.deepEqual(found.body.Resources.map((u: any) => u.id), [a.body.id], name);
      }
    });

    test('dotted capital I: İSTANBUL, ISTANBUL and istanbul are one userName', async () => {
      const api = client(env.server);
      const r = rand();
      const a = await api.post('/Users', newUser({ userName: `İSTANBUL-${r}` }));
      assert.equal(a.status, 201, a.text);
      for (const other of [`istanbul-${r}`, `ISTANBUL-${r}`, `I\u0307stanbul-${r}`]) {
        const dup = await api.post('/Users', newUser({ userName: other }));
        assert.equal(dup.status, 409, `${other}: ${dup.text}`);
        const found = await api.get(q(`userName eq "${other}"`));
        assert.deepEqual(found.body.Resources.map((u: any) => u.id), [a.body.id], other);
      }
      // The one with the dot is found by what was typed, too.
      const exact = await api.get(q(`userName sw "İstan" and userName ew "-${r}"`));
      assert.deepEqual(exact.body.Resources.map((u: any) => u.id), [a.body.id]);
    });

    test('co/sw/ew and eq match non-ASCII case on names, titles and emails', async () => {
      const api = client(env.server);
      const r = rand();
      const body = newUser({
        displayName: `ÉCOLE Straße ${r}`, title: 'ΣΊΣΥΦΟΣ', name: { givenName: 'Zoë', familyName: `Ørsted${r}` },
        emails: [{ value: `user.${r}@example.com`, type: 'work', primary: true }, { value: `Jürgen.${r}@ÉCOLE.example`, type: 'Home' }],
      });
      const u = await api.post('/Users', body);
      assert.equal(u.status, 201, u.text);
      const filters = [
        `displayName sw "école"`, `displayName co "STRASSE ${r}"`, `displayName ew "straße ${r}"`, `title eq "σίσυφος"`,
        `title co "ΊΣΥ"`, `name.givenName eq "ZOË"`, `name.familyName sw "øRSTED"`, `emails co "jÜrgen.${r}@école"`,
        `emails[type eq "HOME" and value ew "@école.EXAMPLE"]`, `emails.value eq "JÜRGEN.${r}@ÉCOLE.EXAMPLE"`,
        `displayName co "e\u0301cole"`,
      ];
      for (const f of filters) {
        const res = await api.get(q(`${f} and userName eq "${body.userName}"`));
        assert.equal(res.status, 200, `${f}: ${res.text}`);
        assert.deepEqual(res.body.Resources.map((x: any) => x.id), [u.body.id], f);
      }
      // Case-insensitive, not accent-insensitive, and wildcards in the value are literal.
      for (const f of [`displayName sw "ecole"`, `displayName co "%"`, `displayName co "_COLE"`]) {
        const res = await api.get(q(`${f} and userName eq "${body.userName}"`));
        assert.equal(res.body.totalResults, 0, f);
      }
      const sorted = await api.get(`/Users?filter=${encodeURIComponent(`userName eq "${body.userName}"`)}&sortBy=displayName`);
      assert.equal(sorted.status, 200, sorted.text);
    });

    test('a lone UTF-16 surrogate is 400 in a body and in a filter; a pair is a character', async () => {
      const api = client(env.server);
      for (const bad of [newUser({ userName: `lone-${rand()}\ud800` }), newUser({ displayName: '\udc00' }), { ...newUser(), ['x\ud800']: 1 }]) {
        expect400(await api.post('/Users', bad), 'invalidValue', /surrogate/);
      }
      const u = (await api.post('/Users', newUser())).body;
      expect400(await api.patch(`/Users/${u.id}`, ops({ op: 'replace', path: 'title', value: 'a\ud83d' })), 'invalidValue', /surrogate/);
      expect400(await api.get(q('userName eq "a\\ud800"')), 'invalidFilter', /surrogate/);
      const emoji = `emoji-${rand()}-\u{1F600}`;
      const ok = await api.post('/Users', newUser({ userName: emoji }));
      assert.equal(ok.status, 201, ok.text);
      assert.equal(ok.body.userName, emoji);
      const found = await api.get(q(`userName eq "${emoji}"`));
      assert.deepEqual(found.body.Resources.map((x: any) => x.id), [ok.body.id]);
    });

    test('a NUL in a filter, raw or escaped, is 400 invalidFilter and never matches everyone', async () => {
      const api = client(env.server);
      await api.post('/Users', newUser());
      for (const filter of ['userName co "\\u0000"', 'displayName ew "\\u0000"', 'userName co "\u0000"', 'emails sw "a\u0000"']) {
        const r = await api.get(q(filter));
        expect400(r, 'invalidFilter', /NUL/);
      }
      const search = await api.post('/Users/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'userName co "\\u0000"' });
      expect400(search, 'invalidFilter', /NUL/);
    });

    test('PATCH applies the string limits of POST and PUT: groups and users', async () => {
      const api = client(env.server);
      const long = 'x'.repeat(200_000);
      const postName = await api.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: long });
      expect400(postName, 'invalidValue', /displayName/);
      const g = await api.post('/Groups', { schemas: [GROUP_SCHEMA], displayName: `limits-${rand()}`, externalId: `g-${rand()}` });
      assert.equal(g.status, 201, g.text);
      expect400(await api.patch(`/Groups/${g.body.id}`, ops({ op: 'replace', path: 'displayName', value: long })), 'invalidValue', /displayName.*256/);
      expect400(await api.patch(`/Groups/${g.body.id}`, ops({ op: 'replace', path: 'externalId', value: long })), 'invalidValue', /externalId.*256/);
      expect400(await api.patch(`/Groups/${g.body.id}`, ops({ op: 'replace', value: { displayName: 'y'.repeat(257) } })), 'invalidValue', /displayName/);
      const after = await api.get(`/Groups/${g.body.id}?excludedAttributes=members`);
      assert.equal(after.body.displayName, g.body.displayName);
      assert.equal(after.body.externalId, g.body.externalId);
      const fine = await api.patch(`/Groups/${g.body.id}`, ops({ op: 'replace', path: 'displayName', value: 'z'.repeat(256) }));
      assert.ok(fine.status === 200 || fine.status === 204, fine.text);

      const u = (await api.post('/Users', newUser())).body;
      expect400(await api.patch(`/Users/${u.id}`, ops({ op: 'replace', path: 'title', value: long })), 'invalidValue', /title/);
      expect400(await api.patch(`/Users/${u.id}`, ops({ op: 'replace', path: 'userName', value: 'u'.repeat(257) })), 'invalidValue', /userName/);
      expect400(await api.patch(`/Users/${u.id}`, ops({ op: 'replace', path: 'displayName', value: long })), 'invalidValue', /displayName/);
      expect400(await api.patch(`/Users/${u.id}`, ops({ op: 'add', path: 'emails', value: [{ value: `${'e'.repeat(2000)}@example.com`, type: 'home' }] })), 'invalidValue', /emails/);
      assert.equal((await api.get(`/Users/${u.id}`)).body.title, undefined);
    });
  });

  describe(`a database from before the folded columns [${store}]`, () => {
    test('migrates, backfills the folds and keeps finding its people and groups', async () => {
      const db = await createDatabase(store);
      const before = await oldStore(store, db.url);
      let server;
      try {
        await migrateUpTo(before, '20261201_001_folded_columns.ts');
        const now = Date.now();
        const r = rand();
        const users = Array.from({ length: 1203 }, (_, i) => ({
          id: randomUUID(), user_name: i === 0 ? `ΣΊΣΥΦΟΣ-${r}` : i === 1 ? `İSTANBUL-${r}` : `Old.User${i}-${r}@Example.com`,
          username: `old${i}-${r}`, email: `old${i}-${r}@example.com`, display_name: i === 2 ? `ÉCOLE ${r}` : `Old ${i}`,
          active: true, created_at: now + i, updated_at: now + i, version: 1,
        }));
        for (let i = 0; i < users.length; i += 200) await before('users').insert(users.slice(i, i + 200));
        const values = users.slice(0, 1100).map((u, i) => ({ user_id: u.id, attr: 'emails', position: 0, value: `Mail${i}-${r}@ÉCOLE.example`, type: 'Work', display: null, primary: true }));
        for (let i = 0; i < values.length; i += 200) await before('user_values').insert(values.slice(i, i + 200));
        await before('groups').insert({ id: randomUUID(), external_id: `old-${r}`, display_name: `Équipe ${r}`, created_at: now, updated_at: now, version: 1 });
        await before.destroy();

        server = await startServer(store, db);
        const api = client(server);
        const one = async (filter: string, path = '/Users') => {
          const res = await api.get(`${path}?filter=${encodeURIComponent(filter)}`);
          assert.equal(res.status, 200, `${filter}: ${res.text}`);
          return res.body.Resources.map((x: any) => x.id);
        };
        assert.deepEqual(await one(`userName eq "σίσυφος-${r}"`), [users[0]!.id]);
        assert.deepEqual(await one(`userName eq "istanbul-${r}"`), [users[1]!.id]);
        assert.deepEqual(await one(`userName eq "old.user1202-${r}@example.COM"`), [users[1202]!.id]);
        assert.deepEqual(await one(`displayName sw "école ${r}"`), [users[2]!.id]);
        assert.deepEqual(await one(`emails[type eq "work" and value eq "mail1099-${r}@école.EXAMPLE"]`), [users[1099]!.id]);
        const g = await api.get(`/Groups?filter=${encodeURIComponent(`displayName eq "ÉQUIPE ${r}"`)}&excludedAttributes=members`);
        assert.equal(g.body.totalResults, 1, g.text);
        const dup = await api.post('/Users', newUser({ userName: `old.user7-${r}@EXAMPLE.com` }));
        assert.equal(dup.status, 409, dup.text);
        const sorted = await api.get('/Users?sortBy=userName&count=3');
        assert.equal(sorted.status, 200, sorted.text);
        assert.equal(sorted.body.totalResults, users.length);
      } finally {
        await server?.stop();
        await before.destroy().catch(() => undefined);
        await db.drop();
      }
    });
  });
}

/**
 * A connection as the previous release opened it: on SQLite, lower() was a JavaScript function, so its lower(...)
 * indexes hold JavaScript-lowered entries (the migration must drop them before touching a row).
 */
function oldStore(store: Store, url: string): Knex {
  const migrations = { directory: resolve(ROOT, 'migrations'), loadExtensions: ['.ts'] };
  if (store === 'pg') return knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 }, migrations });
  return knexFactory({
    client: 'better-sqlite3', connection: { filename: url.slice('sqlite:'.length) }, useNullAsDefault: true, migrations,
    pool: {
      min: 1, max: 1,
      afterCreate(conn: any, done: (err: Error | null, conn: unknown) => void) {
        conn.pragma('foreign_keys = ON');
        conn.function('lower', { deterministic: true }, (v: unknown) => (typeof v === 'string' ? v.toLowerCase() : v));
        done(null, conn);
      },
    },
  });
}

/** Run the migrations that come before `file`. */
async function migrateUpTo(db: Knex, file: string): Promise<void> {
  for (;;) {
    const [, pending] = (await db.migrate.list()) as [unknown, { file: string }[]];
    if (!pending.length || pending[0]!.file === file) return;
    await db.migrate.up();
  }
}
