/**
 * filterToSql against real databases: an in-memory SQLite always, and PostgreSQL
 * when TEST_DATABASE_URL is set (a throw-away schema per run, dropped at the end).
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import knexFactory, { type Knex } from 'knex';
import fc from 'fast-check';
import { formatPath, type FilterNode } from '../../src/store/filter-ast.ts';
import { MAX_FILTER_LENGTH, MAX_FILTER_TERMS, MAX_NESTING_DEPTH, parseFilter } from '../../src/scim/query/filter-parse.ts';
import {
  attributeMap,
  filterToSql,
  parseDateTime,
  type AttrType,
  type ColumnTarget,
  type Dialect,
  type MultiTarget,
} from '../../src/store/filter-sql.ts';
import { fold } from '../../src/store/fold.ts';

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const CUSTOM = 'urn:example:params:scim:schemas:extension:test:2.0:User';

/** caseExact=false strings compare through a folded copy of the column (`<column>_fold`, see seed and store/fold.ts). */
const col = (sql: string, type: AttrType = 'string', caseExact = false): ColumnTarget => ({
  kind: 'column', sql, type, caseExact, ...(!caseExact && type === 'string' ? { folded: `${sql}_fold` } : {}),
});

/** The case-insensitive columns of each seed table; each has a `_fold` twin written with `fold`. */
const FOLDED: Record<string, string[]> = {
  users: ['user_name', 'display_name', 'title', 'given_name', 'family_name', 'department'],
  emails: ['value', 'type', 'display'],
  user_values: ['type'],
};
const withFolds = (table: string, rows: Record<string, unknown>[]) => rows.map((r) => {
  const out = { ...r };
  for (const c of FOLDED[table]!) out[`${c}_fold`] = typeof r[c] === 'string' ? fold(r[c] as string) : null;
  return out;
});

/** Child-table sub-attributes are written against the EXISTS alias `mv`. */
const emails: MultiTarget = {
  kind: 'multi',
  table: 'emails',
  fk: 'user_id',
  parentKey: 'u.id',
  subs: { value: col('mv.value'), type: col('mv.type'), primary: col('mv."primary"', 'boolean'), display: col('mv.display') },
  defaultSub: 'value',
};
/** Two attributes sharing one child table, told apart by `where`. */
const sharedValues = (attr: string): MultiTarget => ({
  kind: 'multi',
  table: 'user_values',
  fk: 'user_id',
  parentKey: 'u.id',
  where: { attr },
  subs: { value: col('mv.value', 'string', true), type: col('mv.type') },
  defaultSub: 'value',
});

const map = attributeMap(
  {
    id: col('u.id', 'string', true),
    userName: col('u.user_name'),
    externalId: col('u.external_id', 'string', true),
    displayName: col('u.display_name'),
    title: col('u.title'),
    active: col('u.active', 'boolean'),
    'meta.created': col('u.created_ms', 'dateTime'),
    'name.givenName': col('u.given_name'),
    'name.familyName': col('u.family_name'),
    emails,
    phoneNumbers: sharedValues('phoneNumbers'),
    ims: sharedValues('ims'),
    [`${ENTERPRISE}:department`]: col('u.department'),
    [`${CUSTOM}:loginCount`]: col('u.login_count', 'integer'),
  },
  [CORE],
);

const ms = (iso: string): number => {
  const value = parseDateTime(iso);
  assert.ok(value !== undefined, iso);
  return value;
};

async function seed(db: Knex): Promise<void> {
  await db.schema.createTable('users', (t) => {
    t.string('id').primary();
    t.string('user_name').notNullable();
    t.string('external_id');
    t.string('display_name');
    t.string('title');
    t.boolean('active');
    t.bigInteger('created_ms');
    t.string('given_name');
    t.string('family_name');
    t.string('department');
    t.integer('login_count');
  });
  await db.schema.createTable('emails', (t) => {
    t.increments('id');
    t.string('user_id').notNullable();
    t.string('value');
    t.string('type');
    t.boolean('primary');
    t.string('display');
  });
  await db.schema.createTable('user_values', (t) => {
    t.increments('id');
    t.string('user_id').notNullable();
    t.string('attr').notNullable();
    t.string('value');
    t.string('type');
  });
  for (const [table, cols] of Object.entries(FOLDED)) {
    await db.schema.alterTable(table, (t) => { for (const c of cols) t.text(`${c}_fold`); });
  }
  await db('users').insert(withFolds('users', [
    {
      id: 'alice', user_name: 'Alice', external_id: 'ExtA', display_name: 'Alice 100% Real', title: null, active: true,
      created_ms: ms('2015-10-10T21:38:21.861Z'), given_name: 'Alice', family_name: 'Smith', department: 'Engineering', login_count: 5,
    },
    {
      id: 'bob', user_name: 'bob', external_id: 'exta', display_name: 'bob_the_builder', title: '', active: false,
      created_ms: ms('2015-10-09T00:00:00Z'), given_name: 'Bob', family_name: 'Employee', department: null, login_count: 0,
    },
    {
      id: 'carol', user_name: 'carol', external_id: null, display_name: null, title: 'Manager', active: null,
      created_ms: ms('2016-01-01T00:00:00Z'), given_name: 'Carol', family_name: 'Jones', department: 'sales', login_count: null,
    },
    {
      id: 'dave', user_name: 'DAVE', external_id: 'dave?', display_name: 'wow!_% 50%', title: 'Dev', active: true,
      created_ms: null, given_name: null, family_name: null, department: null, login_count: 12,
    },
  ]));
  await db('emails').insert(withFolds('emails', [
    { user_id: 'alice', value: 'alice@example.com', type: 'work', primary: true, display: null },
    { user_id: 'alice', value: 'alice@home.org', type: 'home', primary: false, display: 'Alice at home' },
    { user_id: 'bob', value: 'bob@example.org', type: 'work', primary: true, display: null },
    // Carol's work address is not at example.*, her home one is: catches
    // value paths that test the two conditions on different elements.
    { user_id: 'carol', value: 'carol@x.com', type: 'work', primary: false, display: null },
    { user_id: 'carol', value: 'carol@example.com', type: 'home', primary: true, display: null },
  ]));
  await db('user_values').insert(withFolds('user_values', [
    { user_id: 'alice', attr: 'phoneNumbers', value: '+1 555 0100', type: 'work' },
    { user_id: 'carol', attr: 'phoneNumbers', value: '+1 555 0199', type: 'mobile' },
    { user_id: 'dave', attr: 'ims', value: '+1 555 0100', type: 'xmpp' },
  ]));
}

const ALL = ['alice', 'bob', 'carol', 'dave'];

interface Backend {
  name: Dialect;
  open(): Promise<{ db: Knex; close(): Promise<void> }>;
}

const sqlite: Backend = {
  name: 'sqlite',
  async open() {
    const db = knexFactory({
      client: 'better-sqlite3',
      connection: { filename: ':memory:' },
      useNullAsDefault: true,
      pool: {
        min: 1,
        max: 1,
        // The emitter relies on case-sensitive LIKE, as on PostgreSQL.
        afterCreate(conn: { pragma(sql: string): unknown }, done: (err: Error | null, conn: unknown) => void) {
          conn.pragma('case_sensitive_like = ON');
          done(null, conn);
        },
      },
    });
    return { db, close: () => db.destroy() };
  },
};

function postgres(url: string): Backend {
  return {
    name: 'pg',
    async open() {
      const schema = `filter_test_${process.pid}_${Date.now()}`;
      const db = knexFactory({ client: 'pg', connection: url, searchPath: [schema], pool: { min: 0, max: 2 } });
      await db.raw('CREATE SCHEMA ??', [schema]);
      return {
        db,
        async close() {
          await db.raw('DROP SCHEMA ?? CASCADE', [schema]);
          await db.destroy();
        },
      };
    },
  };
}

const backends: Backend[] = [sqlite];
if (process.env.TEST_DATABASE_URL) backends.push(postgres(process.env.TEST_DATABASE_URL));

for (const backend of backends) {
  test(`filterToSql on ${backend.name}`, async (t) => {
    const { db, close } = await backend.open();
    try {
      await seed(db);
      await runSuite(t, db, backend.name);
    } finally {
      await close();
    }
  });
}

function toSql(filter: FilterNode | string, dialect: Dialect) {
  let node: FilterNode;
  if (typeof filter === 'string') {
    const parsed = parseFilter(filter);
    assert.ok(parsed.ok, `parse "${filter}": ${JSON.stringify(parsed)}`);
    node = parsed.filter;
  } else {
    node = filter;
  }
  return filterToSql(node, map, dialect);
}

async function runSuite(t: TestContext, db: Knex, dialect: Dialect): Promise<void> {
  async function ids(filter: FilterNode | string): Promise<string[]> {
    const result = toSql(filter, dialect);
    assert.ok(result.ok, `translate ${JSON.stringify(filter)}: ${JSON.stringify(result)}`);
    const rows: { id: string }[] = await db('users as u').select('u.id').whereRaw(result.sql, result.bindings as Knex.ValueDict[]).orderBy('u.id');
    return rows.map((r) => r.id);
  }
  async function expectIds(filter: string, expected: string[]): Promise<void> {
    assert.deepEqual(await ids(filter), expected, filter);
  }
  function expectError(filter: string, pattern: RegExp): void {
    const result = toSql(filter, dialect);
    assert.equal(result.ok, false, `expected "${filter}" to be rejected`);
    if (!result.ok) assert.match(result.error, pattern, filter);
  }

  await t.test('emits only ? placeholders, values only as bindings', () => {
    const result = toSql('userName eq "x\'; DROP TABLE users; --" and displayName co "?"', dialect);
    assert.ok(result.ok);
    assert.equal(result.sql.split('?').length - 1, result.bindings.length);
    assert.ok(!result.sql.includes('DROP'));
  });

  await t.test('caseExact=false strings compare case-insensitively (RFC 7643 §2.2)', async () => {
    await expectIds('userName eq "ALICE"', ['alice']);
    await expectIds('userName eq "dave"', ['dave']);
    await expectIds('USERNAME Eq "Bob"', ['bob']);
    await expectIds(`${CORE}:userName eq "BOB"`, ['bob']);
    await expectIds(`${CORE.toUpperCase()}:USERNAME eq "bob"`, ['bob']);
    await expectIds('userName sw "AL"', ['alice']);
    await expectIds('displayName co "ALICE"', ['alice']);
    await expectIds(`${ENTERPRISE}:department eq "ENGINEERING"`, ['alice']);
  });

  await t.test('case-insensitive comparisons use the stored fold: plain = and LIKE, no function per row', () => {
    for (const f of ['userName eq "ÉCOLE"', 'displayName co "É%"', 'emails[type eq "Work"].value ew ".ORG"', 'title gt "A"', 'userName ne "x"']) {
      const result = toSql(f, dialect);
      assert.ok(result.ok, f);
      assert.doesNotMatch(result.sql, /lower\(|upper\(/i, f);
      assert.match(result.sql, /_fold/, f);
    }
    const eq = toSql('userName eq "ΣΊΣΥΦΟΣ"', dialect);
    assert.ok(eq.ok);
    assert.deepEqual(eq.bindings, ['σίσυφοσ']);
    const like = toSql('displayName co "É_%"', dialect);
    assert.ok(like.ok);
    assert.deepEqual(like.bindings, ['%é!_!%%']);
    const exact = toSql('externalId eq "ÉCOLE"', dialect);
    assert.ok(exact.ok);
    assert.deepEqual(exact.bindings, ['ÉCOLE']);
    assert.doesNotMatch(exact.sql, /_fold/);
  });

  await t.test('caseExact=true strings compare exactly', async () => {
    await expectIds('externalId eq "ExtA"', ['alice']);
    await expectIds('externalId eq "exta"', ['bob']);
    await expectIds('externalId eq "EXTA"', []);
    await expectIds('externalId sw "Ext"', ['alice']);
    await expectIds('externalId co "xt"', ['alice', 'bob']);
    await expectIds('externalId eq "dave?"', ['dave']);
    await expectIds('id eq "carol"', ['carol']);
  });

  await t.test('co/sw/ew treat % _ and the escape character literally', async () => {
    await expectIds('displayName co "%"', ['alice', 'dave']);
    await expectIds('displayName co "100%"', ['alice']);
    await expectIds('displayName co "_"', ['bob', 'dave']);
    await expectIds('displayName co "b_b"', []); // would match "bob" if _ were a wildcard
    await expectIds('displayName sw "bob_"', ['bob']);
    await expectIds('displayName ew "0%"', ['dave']);
    await expectIds('displayName co "!_%"', ['dave']);
    await expectIds('displayName co "!"', ['dave']);
    await expectIds('displayName ew "real"', ['alice']);
    await expectIds('displayName co ""', ['alice', 'bob', 'dave']);
  });

  await t.test('string ordering', async () => {
    await expectIds('userName gt "BOB"', ['carol', 'dave']);
    await expectIds('userName le "bob"', ['alice', 'bob']);
  });

  await t.test('dateTime compares as epoch milliseconds, with offsets and fractions', async () => {
    // alice was created at 21:38:21.861Z = 14:38:21.861-07:00.
    await expectIds('meta.created gt "2015-10-10T14:38:21.8617979-07:00"', ['carol']);
    await expectIds('meta.Created ge 2015-10-10T14:38:21.8617979-07:00', ['alice', 'carol']);
    await expectIds('meta.created eq "2015-10-10T21:38:21.861Z"', ['alice']);
    await expectIds('meta.created eq "2015-10-11T00:38:21.861+03:00"', ['alice']);
    await expectIds('meta.created lt "2015-10-10T00:00:00Z"', ['bob']);
    await expectIds('meta.created le "2016-01-01T00:00:00Z"', ['alice', 'bob', 'carol']);
    await expectIds('meta.created gt "2015-12-31"', ['carol']);
    await expectIds('meta.created ne "2016-01-01T00:00:00Z"', ['alice', 'bob', 'dave']);
    expectError('meta.created gt "yesterday"', /meta\.created.*dateTime/);
    expectError('meta.created gt "2015-02-29T00:00:00Z"', /dateTime/);
    expectError('meta.created gt "2015-10-10T25:00:00Z"', /dateTime/);
    expectError('meta.created gt 2015', /dateTime/);
    expectError('meta.created co "2015"', /co/);
    expectError('meta.created sw "2015"', /sw/);
  });

  await t.test('boolean attributes', async () => {
    await expectIds('active eq true', ['alice', 'dave']);
    await expectIds('active eq FALSE', ['bob']);
    await expectIds('active ne true', ['bob', 'carol']);
    await expectIds('active eq "True"', ['alice', 'dave']);
    await expectIds('not (active eq true)', ['bob', 'carol']);
    await expectIds('emails[primary eq true and type eq "home"]', ['carol']);
    expectError('active gt true', /gt.*boolean/);
    expectError('active le false', /le.*boolean/);
    expectError('active co "t"', /co.*boolean/);
    expectError('active eq "yes"', /boolean/);
  });

  await t.test('integer attributes', async () => {
    await expectIds(`${CUSTOM}:loginCount gt 3`, ['alice', 'dave']);
    await expectIds(`${CUSTOM}:loginCount eq "12"`, ['dave']);
    await expectIds(`${CUSTOM}:loginCount le 0`, ['bob']);
    await expectIds(`${CUSTOM}:loginCount ne 5`, ['bob', 'carol', 'dave']);
    expectError(`${CUSTOM}:loginCount co 1`, /co/);
    expectError(`${CUSTOM}:loginCount eq "many"`, /numeric/);
  });

  await t.test('pr and null', async () => {
    await expectIds('title pr', ['carol', 'dave']); // bob's "" is not a value
    await expectIds('not (title pr)', ['alice', 'bob']);
    await expectIds('title eq null', ['alice', 'bob']);
    await expectIds('title ne null', ['carol', 'dave']);
    await expectIds(`${CUSTOM}:loginCount pr`, ['alice', 'bob', 'dave']);
    await expectIds('active pr', ['alice', 'bob', 'dave']);
    await expectIds('emails pr', ['alice', 'bob', 'carol']);
    await expectIds('emails eq null', ['dave']);
    await expectIds('emails.display pr', ['alice']);
    await expectIds('not (emails pr)', ['dave']);
    expectError('title gt null', /null/);
  });

  await t.test('ne and not include absent values', async () => {
    await expectIds('title ne "Manager"', ['alice', 'bob', 'dave']);
    await expectIds('externalId ne "ExtA"', ['bob', 'carol', 'dave']);
    await expectIds(`${ENTERPRISE}:department ne "engineering"`, ['bob', 'carol', 'dave']);
    await expectIds('not (title eq "Manager")', ['alice', 'bob', 'dave']);
    await expectIds('not (title eq "Manager" or title eq "Dev")', ['alice', 'bob']);
    await expectIds('not (displayName co "1")', ['bob', 'carol', 'dave']);
  });

  await t.test('not over and/or is NOT of the whole group', async () => {
    await expectIds('not (active eq true or title pr)', ['bob']);
    await expectIds('not (active eq true and title pr)', ['alice', 'bob', 'carol']);
    await expectIds('not active eq true and title pr', ['carol']);
    await expectIds('not not (userName eq "bob")', ['bob']);
    await expectIds('userName eq "bob" or userName eq "carol" and title pr', ['bob', 'carol']);
    await expectIds('(userName eq "bob" or userName eq "dave") and title pr', ['dave']);
  });

  await t.test('value paths: all conditions hold on the same element', async () => {
    await expectIds('emails[type eq "work" and value co "example"]', ['alice', 'bob']);
    await expectIds('emails.type eq "work" and emails.value co "example"', ['alice', 'bob', 'carol']);
    await expectIds('emails[type eq "work"].value co "example"', ['alice', 'bob']);
    await expectIds('emails[type eq "WORK"].value eq "CAROL@X.COM"', ['carol']);
    await expectIds('emails[type eq "home"].value co "x.com"', []);
    await expectIds('not emails[type eq "work" and value co "example"]', ['carol', 'dave']);
    await expectIds('emails[not (type eq "work")]', ['alice', 'carol']);
    await expectIds('emails[display pr]', ['alice']);
    await expectIds('emails[type eq "work"].display pr', []);
    await expectIds('name[givenName eq "bob" or familyName eq "JONES"]', ['bob', 'carol']);
  });

  await t.test('multi-valued attributes without brackets', async () => {
    await expectIds('emails eq "bob@example.org"', ['bob']);
    await expectIds('emails.value co "example"', ['alice', 'bob', 'carol']);
    await expectIds('emails.Value ew ".ORG"', ['alice', 'bob']);
    await expectIds('not (emails.value eq "alice@example.com")', ['bob', 'carol', 'dave']);
    await expectIds('emails.value ne "alice@example.com"', ['bob', 'carol', 'dave']);
    await expectIds('emails.primary eq true', ['alice', 'bob', 'carol']);
    await expectIds('emails.value eq null', ['dave']);
    await expectIds('phoneNumbers eq "+1 555 0100"', ['alice']); // dave's ims row is filtered out by `where`
    await expectIds('phoneNumbers pr', ['alice', 'carol']);
    await expectIds('ims pr', ['dave']);
    await expectIds('phoneNumbers[type eq "MOBILE"]', ['carol']);
  });

  await t.test('Microsoft Entra ID sample filters', async () => {
    await expectIds('name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)', ['bob']);
    await expectIds('externalId eq exta', ['bob']);
  });

  await t.test('unknown attributes and misuse are errors naming the attribute', () => {
    expectError('foo eq 1', /Unknown attribute "foo"/);
    expectError('userName eq "a" and bogus pr', /Unknown attribute "bogus"/);
    expectError('emails.bogus eq "x"', /Unknown attribute "emails\.bogus"/);
    expectError('emails[bogus eq "x"]', /Unknown attribute "emails\.bogus"/);
    expectError('name.middleName pr', /Unknown attribute "name\.middleName"/);
    expectError('name eq "x"', /Unknown attribute "name"/);
    expectError('userName.sub eq "x"', /Unknown attribute "userName\.sub"/);
    expectError('userName[value eq "x"]', /not a complex attribute/);
    expectError('urn:example:other:2.0:User:userName eq "x"', /Unknown attribute/);
    expectError(`${ENTERPRISE}:userName eq "x"`, /Unknown attribute/);
  });

  await t.test('limits: the longest and deepest accepted filters run', async () => {
    const chain = Array.from({ length: MAX_FILTER_TERMS }, () => 'title pr').join(' or ');
    await expectIds(chain, ['carol', 'dave']);
    const emailChain = Array.from({ length: MAX_FILTER_TERMS }, (_, i) => `emails.value co "${i}${'x'.repeat(40)}"`).join(' or ');
    assert.ok(emailChain.length <= MAX_FILTER_LENGTH);
    await expectIds(emailChain, []);
    let deep = 'title pr';
    // Each level is `not` plus a parenthesis; an even count keeps the meaning.
    for (let i = 0; i < 2 * Math.floor(MAX_NESTING_DEPTH / 4); i++) deep = `not (${deep} and userName pr)`;
    await expectIds(deep, ['carol', 'dave']);
  });

  await t.test('property: the SQL composes like boolean logic on sets (two-valued leaves)', async () => {
    const leaves = [
      'title eq "Manager"', 'title ne "Dev"', 'title pr', 'title eq null', 'active eq true', 'active ne false',
      'externalId sw "e"', 'displayName co "%"', 'meta.created gt "2015-10-09T12:00:00Z"', 'meta.created le "2015-10-10T21:38:21.861Z"',
      `${CUSTOM}:loginCount ge 5`, `${ENTERPRISE}:department ne "sales"`, 'emails.value co "example"', 'emails.value ne "bob@example.org"',
      'emails[type eq "work" and primary eq false]', 'emails pr', 'phoneNumbers[type eq "work"]', 'name.givenName ew "b"',
    ];
    const leafNodes = new Map<string, FilterNode>();
    const leafIds = new Map<string, Set<string>>();
    for (const leaf of leaves) {
      const parsed = parseFilter(leaf);
      assert.ok(parsed.ok);
      leafNodes.set(leaf, parsed.filter);
      leafIds.set(leaf, new Set(await ids(parsed.filter)));
    }
    type Tree = { leaf: string } | { not: Tree } | { and: [Tree, Tree] } | { or: [Tree, Tree] };
    const tree = fc.letrec<{ tree: Tree }>((tie) => ({
      tree: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        fc.constantFrom(...leaves).map((leaf): Tree => ({ leaf })),
        tie('tree').map((inner): Tree => ({ not: inner })),
        fc.tuple(tie('tree'), tie('tree')).map((pair): Tree => ({ and: pair })),
        fc.tuple(tie('tree'), tie('tree')).map((pair): Tree => ({ or: pair })),
      ),
    })).tree;
    const toNode = (tr: Tree): FilterNode =>
      'leaf' in tr ? leafNodes.get(tr.leaf)! :
      'not' in tr ? { kind: 'not', expr: toNode(tr.not) } :
      'and' in tr ? { kind: 'and', left: toNode(tr.and[0]), right: toNode(tr.and[1]) } :
      { kind: 'or', left: toNode(tr.or[0]), right: toNode(tr.or[1]) };
    const expected = (tr: Tree): Set<string> => {
      if ('leaf' in tr) return leafIds.get(tr.leaf)!;
      if ('not' in tr) {
        const inner = expected(tr.not);
        return new Set(ALL.filter((id) => !inner.has(id)));
      }
      const [a, b] = 'and' in tr ? tr.and.map(expected) : tr.or.map(expected);
      return new Set(ALL.filter((id) => ('and' in tr ? a.has(id) && b.has(id) : a.has(id) || b.has(id))));
    };
    await fc.assert(
      fc.asyncProperty(tree, async (tr) => {
        assert.deepEqual(await ids(toNode(tr)), [...expected(tr)].sort());
      }),
      { numRuns: 150 },
    );
  });

  await t.test('formatPath round-trips for error messages', () => {
    assert.equal(formatPath({ uri: ENTERPRISE, attr: 'manager', sub: 'value' }), `${ENTERPRISE}:manager.value`);
  });
}
