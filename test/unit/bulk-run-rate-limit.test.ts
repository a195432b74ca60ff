/**
 * The bulk runner's use of the rate limit (src/scim/resources/bulk.ts): each operation after the first takes a
 * token, and once one is refused no later operation asks again. Scripted tokens, so the outcome does not depend on
 * how fast the machine runs; the operations are ones the group handler refuses before touching a database.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBulkRequest, BULK_REQUEST } from '../../src/scim/bulk/bulk-request.ts';
import { runBulk } from '../../src/scim/resources/bulk.ts';
import type { ScimContext } from '../../src/scim/use-cases/context.ts';

test('after the first 429 every later operation is 429 without taking a token, even once tokens are back', async () => {
  const ops = Array.from({ length: 6 }, () => ({ method: 'PATCH', path: `/Groups/${crypto.randomUUID()}`, data: {} }));
  const parsed = parseBulkRequest({ schemas: [BULK_REQUEST], Operations: ops }, { maxOperations: 10 });
  assert.ok(parsed.ok);
  const grants = [true, false, true, true, true];
  let asked = 0;
  const base = { config: { publicUrl: 'https://scim.example/scim/v2' }, log: { error() {} }, requestId: 't' } as unknown as ScimContext;
  const out = await runBulk(parsed.value, base, { takeToken: async () => grants[asked++] ?? true });
  // Operation 1 rides on the request's token, 2 takes one, 3 is refused; a refill after that must not let 4-6 run
  // ahead of 3, which the client will retry.
  assert.deepEqual(out.Operations.map((o) => o.status), ['400', '400', '429', '429', '429', '429']);
  assert.equal(asked, 2);
});
