/** The page-cursor cache (src/scim/query/page-cursors.ts): least recently used entries go first, old ones are not served. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PageCursors } from '../../src/scim/query/page-cursors.ts';

test('a cursor is served until it is a minute old', () => {
  let now = 0;
  const c = new PageCursors(() => now);
  c.set('q|101', [1, 'a']);
  now = 59_000;
  assert.deepEqual(c.get('q|101'), [1, 'a']);
  now = 120_001;
  assert.equal(c.get('q|101'), undefined);
  assert.equal(c.get('q|101'), undefined, 'an expired entry is dropped');
});

test('setting again refreshes the key and its age', () => {
  let now = 0;
  const c = new PageCursors(() => now);
  c.set('q|101', [1, 'a']);
  now = 50_000;
  c.set('q|101', [2, 'b']);
  now = 100_000;
  assert.deepEqual(c.get('q|101'), [2, 'b']);
});

test('at 1,000 entries the least recently used one is evicted', () => {
  const c = new PageCursors(() => 0);
  for (let i = 0; i < 1000; i++) c.set(`q|${i}`, [i]);
  assert.deepEqual(c.get('q|0'), [0]); // q|0 is now the most recently used
  c.set('q|1000', [1000]);
  assert.deepEqual(c.get('q|0'), [0]);
  assert.equal(c.get('q|1'), undefined);
  assert.deepEqual(c.get('q|1000'), [1000]);
});
