import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AttrPath, CompareOp, FilterNode, FilterValue } from '../../src/store/filter-ast.ts';
import { countTerms, MAX_FILTER_LENGTH, MAX_FILTER_TERMS, MAX_NESTING_DEPTH, parseAttrPath, parseFilter } from '../../src/scim/query/filter-parse.ts';

const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

function p(text: string): AttrPath {
  const [attr, sub] = text.split('.');
  return sub === undefined ? { attr } : { attr, sub };
}
const cmp = (path: string, op: CompareOp, value: FilterValue): FilterNode => ({ kind: 'compare', path: p(path), op, value });
const pr = (path: string): FilterNode => ({ kind: 'present', path: p(path) });
const and = (left: FilterNode, right: FilterNode): FilterNode => ({ kind: 'and', left, right });
const or = (left: FilterNode, right: FilterNode): FilterNode => ({ kind: 'or', left, right });
const not = (expr: FilterNode): FilterNode => ({ kind: 'not', expr });

function parsed(text: string): FilterNode {
  const result = parseFilter(text);
  assert.ok(result.ok, `expected "${text}" to parse, got ${JSON.stringify(result)}`);
  return result.filter;
}

function rejected(text: string): string {
  const result = parseFilter(text);
  assert.equal(result.ok, false, `expected "${text}" to be rejected, got ${JSON.stringify(result)}`);
  return result.ok ? '' : result.error;
}

test('every comparison operator, case-insensitively (RFC 7644 §3.4.2.2 table 3)', () => {
  for (const op of ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'] as const) {
    assert.deepEqual(parsed(`userName ${op} "bjensen"`), cmp('userName', op, 'bjensen'));
    assert.deepEqual(parsed(`userName ${op.toUpperCase()} "bjensen"`), cmp('userName', op, 'bjensen'));
  }
  assert.deepEqual(parsed('title pr'), pr('title'));
  assert.deepEqual(parsed('title PR'), pr('title'));
});

test('RFC 7644 §3.4.2.2 example filters', () => {
  assert.deepEqual(parsed('name.familyName co "O\'Malley"'), cmp('name.familyName', 'co', "O'Malley"));
  assert.deepEqual(parsed('meta.lastModified gt "2011-05-13T04:42:34Z"'), cmp('meta.lastModified', 'gt', '2011-05-13T04:42:34Z'));
  assert.deepEqual(
    parsed('title pr and userType eq "Employee"'),
    and(pr('title'), cmp('userType', 'eq', 'Employee')),
  );
  assert.deepEqual(
    parsed('userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")'),
    and(cmp('userType', 'eq', 'Employee'), or(cmp('emails', 'co', 'example.com'), cmp('emails.value', 'co', 'example.org'))),
  );
  assert.deepEqual(
    parsed('userType eq "Employee" and emails[type eq "work" and value co "@example.com"]'),
    and(cmp('userType', 'eq', 'Employee'), {
      kind: 'valuePath',
      path: p('emails'),
      filter: and(cmp('type', 'eq', 'work'), cmp('value', 'co', '@example.com')),
    }),
  );
  assert.deepEqual(
    parsed('emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]'),
    or(
      { kind: 'valuePath', path: p('emails'), filter: and(cmp('type', 'eq', 'work'), cmp('value', 'co', '@example.com')) },
      { kind: 'valuePath', path: p('ims'), filter: and(cmp('type', 'eq', 'xmpp'), cmp('value', 'co', '@foo.com')) },
    ),
  );
});

test('precedence: not > and > or, left-associative', () => {
  assert.deepEqual(parsed('a pr or b pr and c pr'), or(pr('a'), and(pr('b'), pr('c'))));
  assert.deepEqual(parsed('a pr and b pr or c pr'), or(and(pr('a'), pr('b')), pr('c')));
  assert.deepEqual(parsed('a pr and b pr and c pr'), and(and(pr('a'), pr('b')), pr('c')));
  assert.deepEqual(parsed('(a pr or b pr) and c pr'), and(or(pr('a'), pr('b')), pr('c')));
  assert.deepEqual(parsed('not a pr and b pr'), and(not(pr('a')), pr('b')));
  assert.deepEqual(parsed('a pr AND b pr Or c pr'), or(and(pr('a'), pr('b')), pr('c')));
});

test('not groups its whole parenthesised operand (no De Morgan mistakes)', () => {
  assert.deepEqual(parsed('not (a eq 1 or b eq 2)'), not(or(cmp('a', 'eq', 1), cmp('b', 'eq', 2))));
  assert.deepEqual(parsed('not (a eq 1 and b eq 2)'), not(and(cmp('a', 'eq', 1), cmp('b', 'eq', 2))));
  assert.deepEqual(parsed('NOT(a eq 1) or b eq 2'), or(not(cmp('a', 'eq', 1)), cmp('b', 'eq', 2)));
  assert.deepEqual(parsed('not not (a pr)'), not(not(pr('a'))));
});

test('values: JSON strings with escapes, numbers, literals, bare tokens', () => {
  assert.equal(valueOf('a eq "a \\"q\\" b"'), 'a "q" b');
  assert.equal(valueOf('a eq "back\\\\slash"'), 'back\\slash');
  assert.equal(valueOf('a eq "caf\\u00e9"'), 'café');
  assert.equal(valueOf('a eq "tab\\tnl\\n/\\/"'), 'tab\tnl\n//');
  assert.equal(valueOf('a eq "(not) [and] or"'), '(not) [and] or');
  assert.equal(valueOf('a eq ""'), '');
  assert.equal(valueOf('a eq 42'), 42);
  assert.equal(valueOf('a eq -1.5e3'), -1500);
  assert.equal(valueOf('a eq 3.25'), 3.25);
  assert.equal(valueOf('a eq true'), true);
  assert.equal(valueOf('a eq FALSE'), false);
  assert.equal(valueOf('a eq Null'), null);
  assert.equal(valueOf('a eq "true"'), 'true');
  // Microsoft's Entra ID docs send unquoted values.
  assert.equal(valueOf('externalId eq jyoung'), 'jyoung');
  assert.equal(valueOf('emails.value co example.com'), 'example.com');
  // Digits that would not survive Number() stay as the client wrote them.
  assert.equal(valueOf('externalId eq 12345678901234567890'), '12345678901234567890');
  assert.equal(valueOf('externalId eq 007'), '007');
  assert.equal(valueOf('a eq"tight"'), 'tight');
});

function valueOf(text: string): FilterValue {
  const node = parsed(text);
  assert.equal(node.kind, 'compare');
  return node.kind === 'compare' ? node.value : undefined as never;
}

test('Microsoft Entra ID filters', () => {
  assert.deepEqual(
    parsed('name.FamilyName eq Employee and (emails.Value co example.com or emails.Value co example.org)'),
    and(cmp('name.FamilyName', 'eq', 'Employee'), or(cmp('emails.Value', 'co', 'example.com'), cmp('emails.Value', 'co', 'example.org'))),
  );
  assert.deepEqual(
    parsed('meta.Created gt 2015-10-10T14:38:21.8617979-07:00'),
    cmp('meta.Created', 'gt', '2015-10-10T14:38:21.8617979-07:00'),
  );
  assert.deepEqual(parsed('userName eq "Test_User_dfeef4c5-5681-4387-b016-bdf221e82081"'), cmp('userName', 'eq', 'Test_User_dfeef4c5-5681-4387-b016-bdf221e82081'));
});

test('schema URN prefixes', () => {
  assert.deepEqual(parsed(`${ENTERPRISE}:department eq "Sales"`), {
    kind: 'compare',
    path: { uri: ENTERPRISE, attr: 'department' },
    op: 'eq',
    value: 'Sales',
  });
  assert.deepEqual(parsed(`${ENTERPRISE}:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"`), {
    kind: 'compare',
    path: { uri: ENTERPRISE, attr: 'manager', sub: 'value' },
    op: 'eq',
    value: '26118915-6090-4610-87e4-49d8ca9f808d',
  });
  assert.deepEqual(parsed('urn:ietf:params:scim:schemas:core:2.0:User:name.givenName pr'), {
    kind: 'present',
    path: { uri: 'urn:ietf:params:scim:schemas:core:2.0:User', attr: 'name', sub: 'givenName' },
  });
  assert.deepEqual(parsed('members.$ref pr'), pr('members.$ref'));
});

test('value paths, including a trailing sub-attribute', () => {
  assert.deepEqual(parsed('emails[type eq "work"]'), { kind: 'valuePath', path: p('emails'), filter: cmp('type', 'eq', 'work') });
  assert.deepEqual(parsed('emails[not (type eq "work") and primary eq true]'), {
    kind: 'valuePath',
    path: p('emails'),
    filter: and(not(cmp('type', 'eq', 'work')), cmp('primary', 'eq', true)),
  });
  // Same element: the trailing condition is folded into the bracket filter.
  assert.deepEqual(parsed('emails[type eq "work"].value eq "x@example.com"'), {
    kind: 'valuePath',
    path: p('emails'),
    filter: and(cmp('type', 'eq', 'work'), cmp('value', 'eq', 'x@example.com')),
  });
  assert.deepEqual(parsed('emails[type eq "work" or type eq "home"].value pr and active eq true'), and(
    {
      kind: 'valuePath',
      path: p('emails'),
      filter: and(or(cmp('type', 'eq', 'work'), cmp('type', 'eq', 'home')), pr('value')),
    },
    cmp('active', 'eq', true),
  ));
});

test('syntax errors are results, not exceptions', () => {
  // Okta's SCIM test suite expects 400 for a bare word.
  assert.match(rejected('JOHN'), /operator/);
  assert.match(rejected('userName eq'), /value/);
  assert.match(rejected('userName eq "a" and'), /attribute/);
  assert.match(rejected('and userName eq "a"'), /attribute/);
  assert.match(rejected('userName eq "a" or or b pr'), /attribute/);
  assert.match(rejected('userName eq and'), /value/);
  assert.match(rejected('userName "a"'), /operator/);
  assert.match(rejected('userName like "a"'), /operator/);
  rejected('(userName eq "a"');
  rejected('userName eq "a")');
  rejected('emails[type eq "work"');
  rejected('emails type eq "work"]');
  rejected('emails[type eq "work"]]');
  rejected('emails[type eq "work"] .value eq "x"');
  rejected('emails[emails[type pr]]');
  rejected('emails[type.sub eq "x"]');
  rejected('name.givenName[value pr]');
  rejected('userName eq "unterminated');
  rejected('userName eq "bad \\x escape"');
  rejected('userName eq "a" garbage');
  rejected('userName eq "a" userName eq "b"');
  rejected('a.b.c eq 1');
  rejected('1abc eq 1');
  rejected('foo:bar eq 1');
  rejected('()');
  rejected('');
  rejected('   ');
  rejected('not');
  rejected('userName pr pr');
});

test('length and nesting limits', () => {
  const long = `userName eq "${'x'.repeat(MAX_FILTER_LENGTH)}"`;
  assert.match(rejected(long), /longer/);
  const atLimit = `${'('.repeat(MAX_NESTING_DEPTH)}a pr${')'.repeat(MAX_NESTING_DEPTH)}`;
  assert.deepEqual(parsed(atLimit), pr('a'));
  const tooDeep = `${'('.repeat(MAX_NESTING_DEPTH + 1)}a pr${')'.repeat(MAX_NESTING_DEPTH + 1)}`;
  assert.match(rejected(tooDeep), /nested/);
  assert.match(rejected(`${'not '.repeat(MAX_NESTING_DEPTH + 1)}a pr`), /nested/);
  // A long flat chain is limited by its terms (below), not by nesting.
  const chain = Array.from({ length: MAX_FILTER_TERMS }, () => 'a pr').join(' or ');
  assert.ok(parseFilter(chain).ok);
  // Pathological unbalanced input must not blow the stack.
  assert.equal(parseFilter('('.repeat(4000)).ok, false);
  assert.equal(parseFilter('not '.repeat(1000)).ok, false);
});

test('term limit: a filter\'s cost is bounded before it runs', () => {
  assert.ok(MAX_FILTER_TERMS >= 20 && MAX_FILTER_TERMS <= 50);
  // Each comparison, presence test and value path counts; and/or/not do not add terms of their own.
  assert.equal(countTerms(parsed('userName eq "a" or not (title pr and emails[type eq "work" and value co "x"])')), 5);
  const terms = (n: number, term = (i: number) => `emails co "user${i}@example.com"`) => Array.from({ length: n }, (_, i) => term(i)).join(' or ');
  assert.ok(parseFilter(terms(MAX_FILTER_TERMS)).ok);
  // The filter that blocked SQLite for 48 s: 215 OR'd terms, within the length limit.
  const attack = terms(215, (i) => `emails co "${String(i).padStart(3, '0')}"`);
  assert.ok(attack.length <= MAX_FILTER_LENGTH, String(attack.length));
  assert.match(rejected(attack), new RegExp(`215 terms; at most ${MAX_FILTER_TERMS}`));
  assert.match(rejected(terms(MAX_FILTER_TERMS + 1)), new RegExp(`at most ${MAX_FILTER_TERMS}`));
  const inBrackets = `emails[${Array.from({ length: MAX_FILTER_TERMS }, (_, i) => `value eq "${i}"`).join(' or ')}]`;
  assert.match(rejected(inBrackets), new RegExp(`${MAX_FILTER_TERMS + 1} terms`));
  // A PATCH path selects members by id; it is not run over rows, so only its length is limited.
  assert.equal(parseAttrPath(`members[${Array.from({ length: MAX_FILTER_TERMS + 1 }, (_, i) => `value eq "${i}"`).join(' or ')}]`).ok, true);
});

test('a lone UTF-16 surrogate in a filter is rejected, a pair is a character', () => {
  assert.match(rejected('userName eq "a\\ud800"'), /surrogate/);
  assert.match(rejected('userName eq "\\udc00b"'), /surrogate/);
  assert.match(rejected('userName eq a\ud800'), /surrogate/);
  assert.deepEqual(parsed('userName eq "\\ud83d\\ude00"'), cmp('userName', 'eq', '\u{1F600}'));
  assert.deepEqual(parsed('userName eq "\u{1F600}"'), cmp('userName', 'eq', '\u{1F600}'));
});

test('parseAttrPath: sortBy and PATCH paths (RFC 7644 §3.5.2)', () => {
  assert.deepEqual(parseAttrPath('userName'), { ok: true, path: { attr: 'userName' } });
  assert.deepEqual(parseAttrPath('name.givenName'), { ok: true, path: { attr: 'name', sub: 'givenName' } });
  assert.deepEqual(parseAttrPath(`${ENTERPRISE}:manager.value`), {
    ok: true,
    path: { uri: ENTERPRISE, attr: 'manager', sub: 'value' },
  });
  assert.deepEqual(parseAttrPath('emails[type eq "work"].value'), {
    ok: true,
    path: { attr: 'emails' },
    filter: cmp('type', 'eq', 'work'),
    sub: 'value',
  });
  assert.deepEqual(parseAttrPath('members[value eq "2819c223-7f76-453a-919d-413861904646"]'), {
    ok: true,
    path: { attr: 'members' },
    filter: cmp('value', 'eq', '2819c223-7f76-453a-919d-413861904646'),
  });
  for (const bad of ['', 'userName eq "a"', 'emails[type eq "work"', 'a.b.c', 'emails[type eq "work"].value.x', '(userName)', 'emails[]']) {
    assert.equal(parseAttrPath(bad).ok, false, bad);
  }
});
