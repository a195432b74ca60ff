/**
 * Group PATCH planning (RFC 7644 §3.5.2), table-driven: each case is a PatchOp body and either the exact list of
 * changes planned or the scimType of the error. planGroupPatch is pure, so no server and no store are involved.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { planGroupPatch, type GroupChange, type PlanError } from '../../src/scim/patch/group-patch.ts';
import { GROUP_STRING_MAX } from '../../src/scim/shared/group-values.ts';

const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const GROUP_ID = 'g-0001';
const A = 'u-aaaa';
const B = 'u-bbbb';
const C = 'u-cccc';

const body = (...Operations: unknown[]) => ({ schemas: [PATCH_OP], Operations });

interface Case { name: string; message: unknown; changes?: GroupChange[]; error?: PlanError['scimType'] }

function check({ message, changes, error }: Case) {
  const result = planGroupPatch(message, GROUP_ID);
  if (changes) {
    assert.ok(result.ok, `expected a plan, got ${JSON.stringify(result)}`);
    assert.deepEqual(result.changes, changes);
  } else {
    assert.equal(result.ok, false, `expected ${error}, got ${JSON.stringify(result)}`);
    if (!result.ok) {
      assert.equal(result.error.scimType, error, result.error.detail);
      assert.ok(result.error.detail.length > 0);
    }
  }
}

function table(title: string, cases: Case[]) {
  describe(title, () => {
    for (const c of cases) test(c.name, () => check(c));
  });
}

table('client dialects', [
  {
    name: 'Entra: Remove + path members + value list removes only the listed members',
    message: body({ op: 'Remove', path: 'members', value: [{ value: A }] }),
    changes: [{ kind: 'removeMembers', ids: [A] }],
  },
  {
    name: 'Entra: Add + path members + value list of several',
    message: body({ op: 'Add', path: 'members', value: [{ value: A }, { value: B }] }),
    changes: [{ kind: 'addMembers', ids: [A, B] }],
  },
  {
    name: 'remove members[value eq "id"]',
    message: body({ op: 'remove', path: `members[value eq "${A}"]` }),
    changes: [{ kind: 'removeMembers', ids: [A] }],
  },
  {
    name: 'remove members[value eq "a" or value eq "b"]',
    message: body({ op: 'remove', path: `members[value eq "${A}" or value eq "${B}"]` }),
    changes: [{ kind: 'removeMembers', ids: [A, B] }],
  },
  {
    name: 'Okta: no-path replace of {id, displayName}: the id echo is ignored, displayName changes',
    message: body({ op: 'replace', value: { id: GROUP_ID, displayName: 'Renamed' } }),
    changes: [{ kind: 'displayName', value: 'Renamed' }],
  },
  {
    name: 'no-path replace with the Group URN prefix on the attribute name',
    message: body({ op: 'replace', value: { 'urn:ietf:params:scim:schemas:core:2.0:Group:displayName': 'Prefixed' } }),
    changes: [{ kind: 'displayName', value: 'Prefixed' }],
  },
  {
    name: 'add with a bare string id (MS reference Postman suite)',
    message: body({ op: 'add', path: 'members', value: A }),
    changes: [{ kind: 'addMembers', ids: [A] }],
  },
  {
    name: 'add with a single {value} object; display and $ref: null are ignored',
    message: body({ op: 'add', path: 'members', value: { value: A, display: 'Ann', $ref: null } }),
    changes: [{ kind: 'addMembers', ids: [A] }],
  },
]);

table('member replace and clear', [
  {
    name: 'replace members with a list',
    message: body({ op: 'replace', path: 'members', value: [{ value: A }, { value: C }] }),
    changes: [{ kind: 'replaceMembers', ids: [A, C] }],
  },
  {
    name: 'replace members with [] clears them',
    message: body({ op: 'replace', path: 'members', value: [] }),
    changes: [{ kind: 'clearMembers' }],
  },
  {
    name: 'no-path replace of {members: []} clears them',
    message: body({ op: 'replace', value: { members: [] } }),
    changes: [{ kind: 'clearMembers' }],
  },
  {
    name: 'remove path members without a value clears them',
    message: body({ op: 'remove', path: 'members' }),
    changes: [{ kind: 'clearMembers' }],
  },
  {
    name: 'add members [] plans nothing',
    message: body({ op: 'add', path: 'members', value: [] }),
    changes: [],
  },
  {
    name: 'operations keep their order',
    message: body(
      { op: 'add', path: 'members', value: [{ value: A }] },
      { op: 'remove', path: `members[value eq "${B}"]` },
      { op: 'replace', path: 'displayName', value: 'Last' },
    ),
    changes: [{ kind: 'addMembers', ids: [A] }, { kind: 'removeMembers', ids: [B] }, { kind: 'displayName', value: 'Last' }],
  },
]);

table('errors', [
  { name: 'remove without a path -> noTarget', message: body({ op: 'remove', value: [{ value: A }] }), error: 'noTarget' },
  { name: 'unknown attribute -> invalidPath', message: body({ op: 'replace', path: 'nickName', value: 'x' }), error: 'invalidPath' },
  { name: 'unknown attribute in a no-path value -> invalidPath', message: body({ op: 'replace', value: { nickName: 'x' } }), error: 'invalidPath' },
  { name: 'filtered members path with add -> invalidPath', message: body({ op: 'add', path: `members[value eq "${A}"]`, value: [{ value: A }] }), error: 'invalidPath' },
  { name: 'filtered members path with replace -> invalidPath', message: body({ op: 'replace', path: `members[value eq "${A}"]`, value: { value: B } }), error: 'invalidPath' },
  { name: 'filtered path selecting by another attribute -> invalidFilter', message: body({ op: 'remove', path: 'members[display eq "Ann"]' }), error: 'invalidFilter' },
  {
    name: '1001 operations -> invalidValue',
    message: body(...Array.from({ length: 1001 }, () => ({ op: 'add', path: 'members', value: [{ value: A }] }))),
    error: 'invalidValue',
  },
  { name: `displayName of ${GROUP_STRING_MAX + 1} characters -> invalidValue`, message: body({ op: 'replace', path: 'displayName', value: 'x'.repeat(GROUP_STRING_MAX + 1) }), error: 'invalidValue' },
  { name: 'blank displayName -> invalidValue', message: body({ op: 'replace', path: 'displayName', value: '  ' }), error: 'invalidValue' },
  { name: 'remove displayName -> mutability', message: body({ op: 'remove', path: 'displayName' }), error: 'mutability' },
  { name: 'no-path replace of a different id -> mutability', message: body({ op: 'replace', value: { id: 'other', displayName: 'x' } }), error: 'mutability' },
  { name: 'a member without a value -> invalidValue', message: body({ op: 'add', path: 'members', value: [{ display: 'Ann' }] }), error: 'invalidValue' },
  { name: 'missing schemas -> invalidSyntax', message: { Operations: [{ op: 'add', path: 'members', value: [{ value: A }] }] }, error: 'invalidSyntax' },
  { name: 'schemas without the PatchOp URN -> invalidSyntax', message: { schemas: ['urn:x'], Operations: [{ op: 'add', path: 'members', value: A }] }, error: 'invalidSyntax' },
  { name: 'an unknown op -> invalidSyntax', message: body({ op: 'move', path: 'members', value: A }), error: 'invalidSyntax' },
  { name: 'no operations -> invalidValue', message: body(), error: 'invalidValue' },
  { name: 'a body that is not an object -> invalidSyntax', message: [], error: 'invalidSyntax' },
]);

table('limits', [
  {
    name: '1000 operations are accepted',
    message: body(...Array.from({ length: 1000 }, () => ({ op: 'add', path: 'members', value: [{ value: A }] }))),
    changes: Array.from({ length: 1000 }, () => ({ kind: 'addMembers' as const, ids: [A] })),
  },
  {
    name: `displayName of exactly ${GROUP_STRING_MAX} characters is accepted`,
    message: body({ op: 'replace', path: 'displayName', value: 'x'.repeat(GROUP_STRING_MAX) }),
    changes: [{ kind: 'displayName', value: 'x'.repeat(GROUP_STRING_MAX) }],
  },
]);

test('a later invalid operation rejects the whole PATCH (no partial plan)', () => {
  const result = planGroupPatch(body({ op: 'add', path: 'members', value: A }, { op: 'remove' }), GROUP_ID);
  assert.deepEqual(result.ok ? result.changes : result.error.scimType, 'noTarget');
});
