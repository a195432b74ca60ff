/**
 * What planning a bulk job costs, as counts of work (never as time: that is npm run bench): a request of 1 MB or so
 * that is adversarial in its references must cost about its size, not its size times its operation count. And the
 * copies a cycle split makes are plain objects whatever keys the client sent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBulkRequest, BULK_REQUEST } from '../../src/scim/bulk/bulk-request.ts';
import { batchesOf, planBulk } from '../../src/scim/bulk/bulk-plan.ts';
import { referencesIn, splitForCycle } from '../../src/scim/bulk/bulk-references.ts';

const USER = 'urn:ietf:params:scim:schemas:core:2.0:User';

function ops(list: unknown[]) {
  const parsed = parseBulkRequest({ schemas: [BULK_REQUEST], Operations: list }, { maxOperations: 1000 });
  assert.ok(parsed.ok, JSON.stringify(parsed));
  return parsed.value.operations;
}

/** An array that counts how often its elements are read. */
function counted(length: number): { array: unknown[]; reads: () => number } {
  let reads = 0;
  const array = new Proxy(Array.from({ length }, () => 'pad'), {
    get(target, key, receiver) {
      if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
      return Reflect.get(target, key, receiver);
    },
  });
  return { array, reads: () => reads };
}

test('one big POST on 999 cycles is walked a few times, not once per cycle', () => {
  // The hub references every other POST from inside a list under an extension, where no split can reach; each
  // other POST references the hub from a top-level attribute, so each pair is a cycle broken at the other POST.
  const pad = counted(20_000);
  const hub = {
    method: 'POST', path: '/Users', bulkId: 'hub',
    data: { schemas: [USER, 'urn:example:ext'], userName: 'hub', 'urn:example:ext': { refs: Array.from({ length: 999 }, (_, i) => ({ value: `bulkId:p${i}` })), pad: pad.array } },
  };
  const others = Array.from({ length: 999 }, (_, i) => ({ method: 'POST', path: '/Users', bulkId: `p${i}`, data: { schemas: [USER], userName: `p${i}`, displayName: 'bulkId:hub' } }));
  const parsed = ops([hub, ...others]);
  const steps = planBulk(parsed);
  batchesOf(steps, parsed, true);
  // Each other POST is created without its reference, the hub after all of them, then each other one completed.
  assert.equal(steps.length, 1 + 999 * 2);
  assert.deepEqual(steps.filter((s) => s.index === 0).map((s) => s.kind), ['run']);
  assert.ok(steps.findIndex((s) => s.index === 0) === 999, 'the hub runs once every POST it references exists');
  assert.ok(pad.reads() <= 5 * 20_000, `the hub's data was read ${pad.reads() / 20_000} times over`);
});

test('references in a list of 300,000 elements are found (no argument spread, which overflows the stack)', () => {
  const list: unknown[] = Array.from({ length: 300_000 }, () => 0);
  list.push({ value: 'bulkId:x' });
  assert.deepEqual([...referencesIn({ members: list })], ['x']);
});

test('a __proto__ member survives a cycle split as data, never as the copy\'s prototype', () => {
  const data = JSON.parse('{"__proto__":{"userName":"inherited"},"urn:example:ext":{"__proto__":{"a":1},"m":"bulkId:x"},"displayName":"bulkId:x"}');
  const split = splitForCycle(data, new Set(['x']))!;
  assert.equal(Object.getPrototypeOf(split.data), Object.prototype);
  assert.ok(Object.hasOwn(split.data, '__proto__'));
  assert.equal((split.data as Record<string, unknown>).userName, undefined);
  const ext = split.data['urn:example:ext'] as object;
  assert.equal(Object.getPrototypeOf(ext), Object.prototype);
  assert.ok(Object.hasOwn(ext, '__proto__'));
});
