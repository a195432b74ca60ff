/**
 * The order of a bulk job (src/scim/bulk/bulk-plan.ts) and how references are found, resolved and split for a
 * cycle (bulk-references.ts): pure functions, checked without a server. Over HTTP: test/component/bulk.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseBulkRequest, BULK_REQUEST } from '../../src/scim/bulk/bulk-request.ts';
import { batchesOf, planBulk, type Step } from '../../src/scim/bulk/bulk-plan.ts';
import { referencesIn, resolveReferences, splitForCycle } from '../../src/scim/bulk/bulk-references.ts';

const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

function plan(ops: unknown[]): Step[] {
  const parsed = parseBulkRequest({ schemas: [BULK_REQUEST], Operations: ops }, { maxOperations: 10_000 });
  assert.ok(parsed.ok, JSON.stringify(parsed));
  return planBulk(parsed.value.operations);
}
const order = (steps: Step[]) => steps.map((s) => `${s.kind}:${s.index}`);
const user = (bulkId: string, data: Record<string, unknown> = {}) => ({ method: 'POST', path: '/Users', bulkId, data: { userName: bulkId, ...data } });
const grp = (bulkId: string, members: string[]) => ({ method: 'POST', path: '/Groups', bulkId, data: { displayName: bulkId, members: members.map((value) => ({ value })) } });

test('without references, request order', () => {
  assert.deepEqual(order(plan([user('a'), user('b'), { method: 'DELETE', path: '/Users/x' }])), ['run:0', 'run:1', 'run:2']);
});

test('a POST runs before everything that references it, in data or in the path; the rest keep request order', () => {
  const steps = plan([
    grp('g', ['bulkId:u']),
    { method: 'PATCH', path: '/Users/bulkId:v', data: { Operations: [] } },
    user('u'),
    user('v'),
    user('w'),
  ]);
  assert.deepEqual(order(steps), ['run:2', 'run:0', 'run:3', 'run:1', 'run:4']);
});

test('a chain in reverse order runs from its end', () => {
  const ops = Array.from({ length: 5 }, (_, i) => user(`u${i}`, i < 4 ? { [ENT]: { manager: { value: `bulkId:u${i + 1}` } } } : {}));
  assert.deepEqual(order(plan(ops)), ['run:4', 'run:3', 'run:2', 'run:1', 'run:0']);
});

test('RFC 7644 §3.7.1: a cycle is split at its earliest POST, which is completed once the others exist', () => {
  const steps = plan([grp('qwerty', ['bulkId:ytrewq']), grp('ytrewq', ['bulkId:qwerty'])]);
  assert.deepEqual(order(steps), ['run:0', 'run:1', 'complete:0']);
  const first = steps[0] as Extract<Step, { kind: 'run' }>;
  assert.deepEqual((first.data as any).members, [], 'created without the circular member');
  const done = steps[2] as Extract<Step, { kind: 'complete' }>;
  assert.deepEqual(done.patch, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: 'members', value: [{ value: 'bulkId:ytrewq' }] }] });
});

test('a self-reference is a cycle of one', () => {
  const steps = plan([user('me', { [ENT]: { manager: { value: 'bulkId:me' } } })]);
  assert.deepEqual(order(steps), ['run:0', 'complete:0']);
  assert.deepEqual((steps[1] as any).patch.Operations, [{ op: 'replace', path: `${ENT}:manager`, value: { value: 'bulkId:me' } }]);
});

test('what depends on a cycle waits for the cycle; a cycle nothing can be split from is answered circular', () => {
  // A reference inside a multi-valued sub-attribute of an extension cannot be patched in separately.
  const stuck = (id: string, other: string) => user(id, { 'urn:example:ext': { links: [`bulkId:${other}`] } });
  const steps = plan([grp('g', ['bulkId:a']), stuck('a', 'b'), stuck('b', 'a'), user('c')]);
  assert.deepEqual(order(steps), ['run:3', 'circular:1', 'circular:2', 'run:0']);
  assert.deepEqual((steps[1] as any).bulkIds, ['a', 'b']);
});

test('malformed operations and references to nothing are still planned, in place', () => {
  const steps = plan([{ method: 'POST', path: '/Users', data: {} }, grp('g', ['bulkId:nowhere']), user('u')]);
  assert.deepEqual(order(steps), ['run:0', 'run:1', 'run:2']);
});

test('every operation is planned exactly once, and after what it references (property)', () => {
  fc.assert(fc.property(fc.array(fc.array(fc.nat(19), { maxLength: 3 }), { minLength: 1, maxLength: 20 }), (refs) => {
    const ops = refs.map((to, i) => grp(`b${i}`, to.filter((t) => t < refs.length).map((t) => `bulkId:b${t}`)));
    const steps = plan(ops);
    const runs = steps.filter((s) => s.kind !== 'complete').map((s) => s.index).sort((a, b) => a - b);
    assert.deepEqual(runs, ops.map((_, i) => i));
    steps.forEach((s, i) => {
      // Whatever a step still references has been handled before it: run, or answered as circular.
      const before = new Set(steps.slice(0, i).filter((p) => p.kind !== 'complete').map((p) => p.index));
      const refs = s.kind === 'run' ? referencesIn(s.data) : s.kind === 'complete' ? referencesIn(s.patch) : new Set<string>();
      for (const r of refs) assert.ok(before.has(Number(r.slice(1))), `step ${i} (${s.kind}:${s.index}) before ${r}: ${order(steps)}`);
    });
  }));
});

test('references are whole string values; resolution replaces only those', () => {
  const data = { members: [{ value: 'bulkId:a' }, { value: 'x bulkId:a' }], note: 'bulkId:', deep: [[{ v: 'bulkId:b' }]] };
  assert.deepEqual([...referencesIn(data)].sort(), ['a', 'b']);
  const out = resolveReferences(data, new Map([['a', 'ID-A'], ['b', 'ID-B']]));
  assert.deepEqual(out, { members: [{ value: 'ID-A' }, { value: 'x bulkId:a' }], note: 'bulkId:', deep: [[{ v: 'ID-B' }]] });
  assert.equal(data.members[0]!.value, 'bulkId:a', 'the input is not changed');
});

test('splitForCycle keeps what does not reference the pending bulkIds', () => {
  const data = { userName: 'x', members: [{ value: 'bulkId:a' }, { value: 'fixed' }], [ENT]: { department: 'D', manager: { value: 'bulkId:a' } } };
  const split = splitForCycle(data, new Set(['a']))!;
  assert.deepEqual(split.data, { userName: 'x', members: [{ value: 'fixed' }], [ENT]: { department: 'D' } });
  assert.deepEqual((split.patch as any).Operations.map((o: any) => [o.op, o.path]), [['add', 'members'], ['replace', `${ENT}:manager`]]);
  assert.equal(splitForCycle({ 'urn:x': { list: ['bulkId:a'] } }, new Set(['a'])), undefined);
});

test('batchesOf: consecutive independent user POSTs run together; a shared key, a reference or anything else splits', () => {
  const u = (id: string, userName: string, extra: Record<string, unknown> = {}) => ({ method: 'POST', path: '/Users', bulkId: id, data: { userName, ...extra } });
  const ops = [
    u('a', 'a@x'), u('b', 'b@x'), u('c', 'A@X'), // c shares a's userName (case-insensitively)
    u('d', 'jane'), u('e', 'jane1'), // one workspace-username base: suffixes would depend on order
    u('f', 'f@x', { externalId: 'X1' }), u('g', 'g@x', { externalId: 'X1' }),
    u('h', 'h@x', { emails: [{ value: 'Same@x' }] }), u('i', 'i@x', { emails: [{ value: 'same@X' }] }),
    { method: 'DELETE', path: '/Users/bulkId:a' }, u('j', 'j@x'), u('k', 'k@x', { x: 'bulkId:j' }), grp('g1', []), u('l', 'l@x'),
  ];
  const parsed = parseBulkRequest({ schemas: [BULK_REQUEST], Operations: ops }, { maxOperations: 100 });
  assert.ok(parsed.ok);
  const steps = planBulk(parsed.value.operations);
  const shape = (concurrent: boolean) => batchesOf(steps, parsed.value.operations, concurrent).map((b) => b.map((s) => parsed.value.operations[s.index]!.bulkId ?? `#${s.index}`).join(''));
  assert.deepEqual(shape(true), ['ab', 'cd', 'ef', 'gh', 'i', '#9', 'j', 'k', 'g1', 'l']);
  assert.deepEqual(shape(false), ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', '#9', 'j', 'k', 'g1', 'l']);
});
