/**
 * coerceUserIn (src/scim/shared/user-coerce.ts) against SCIMMY's own inbound coercion: on every body it answers, the
 * JSON must be SCIMMY's to the byte (key order included), and SCIMMY must have accepted the body. Bodies are
 * generated from the User schema with the perturbations real and hostile clients send: keys in other cases, nulls,
 * wrong types, non-canonical types, unknown and namespaced keys, read-only attributes, missing userName. The bodies
 * Entra and Okta send take the fast path (otherwise it would be dead code that the comparison cannot see).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import SCIMMY from 'scimmy';
import { declareUsers } from '../../src/scim/resources/users.ts';
import { coerceUserIn } from '../../src/scim/shared/user-coerce.ts';

declareUsers();

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

function scimmy(body: unknown): string {
  try {
    return JSON.stringify(new SCIMMY.Schemas.User(body as any, 'in'));
  } catch (err) {
    return `refused: ${(err as Error).message}`;
  }
}

const str = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('work', 'home', 'other', 'mobile', 'Work', 'x'));
const canonical = fc.constantFrom('work', 'home', 'other');
const item = fc.record({ value: fc.string({ maxLength: 8 }), type: canonical, primary: fc.boolean(), display: fc.string({ maxLength: 4 }) }, { requiredKeys: [] });

/** A body as an IdP sends it: every key declared, in its case, with a value of its type. */
const plain = fc.record({
  schemas: fc.constantFrom([CORE], [CORE, ENT], [ENT, CORE]),
  userName: fc.string({ maxLength: 10 }),
  externalId: fc.string({ maxLength: 6 }),
  displayName: fc.string({ maxLength: 6 }),
  nickName: fc.string({ maxLength: 6 }),
  title: fc.string({ maxLength: 6 }),
  locale: fc.string({ maxLength: 6 }),
  active: fc.boolean(),
  name: fc.record({ givenName: fc.string({ maxLength: 5 }), familyName: fc.string({ maxLength: 5 }), formatted: fc.string({ maxLength: 5 }), middleName: fc.string({ maxLength: 5 }) }, { requiredKeys: [] }),
  emails: fc.array(item, { maxLength: 3 }),
  phoneNumbers: fc.array(fc.record({ value: fc.string({ maxLength: 6 }), type: fc.constantFrom('work', 'mobile', 'fax') }, { requiredKeys: [] }), { maxLength: 2 }),
  roles: fc.array(fc.record({ value: fc.string({ maxLength: 6 }), type: fc.string({ maxLength: 6 }), primary: fc.boolean() }, { requiredKeys: [] }), { maxLength: 2 }),
  entitlements: fc.array(fc.record({ value: fc.string({ maxLength: 6 }), display: fc.string({ maxLength: 6 }) }, { requiredKeys: [] }), { maxLength: 2 }),
  addresses: fc.array(fc.record({ locality: fc.string({ maxLength: 5 }), country: fc.string({ maxLength: 2 }), type: canonical, primary: fc.boolean() }, { requiredKeys: [] }), { maxLength: 2 }),
  [ENT]: fc.record({ department: fc.string({ maxLength: 5 }), employeeNumber: fc.string({ maxLength: 5 }), costCenter: fc.string({ maxLength: 5 }), manager: fc.record({ value: fc.string({ maxLength: 5 }), displayName: fc.string({ maxLength: 3 }) }, { requiredKeys: [] }) }, { requiredKeys: [] }),
}, { requiredKeys: ['userName'] });

/** What real and hostile clients send besides: each replaces or adds one key. */
const odd: [string, fc.Arbitrary<unknown>][] = [
  ['userName', fc.constantFrom(null, 1, [], {}, ['a'])],
  ['active', fc.constantFrom('true', 'false', 1, null)],
  ['displayName', fc.constantFrom(null, 2, ['x'], {})],
  ['name', fc.constantFrom(null, 'x', [], { givenname: 'a' }, { nope: 'a' }, { givenName: null }, { givenName: 3 })],
  ['emails', fc.constantFrom(null, {}, 'a', [null], ['a'], [{ value: 'a', type: 'Work' }], [{ Value: 'a' }], [{ value: 'a', extra: 1 }], [{ value: null }], [{ primary: 'true' }])],
  ['phoneNumbers', fc.constantFrom([{ value: '1', type: 'work phone' }], [{ value: 1 }])],
  ['x509Certificates', fc.constant([{ value: 'AAAA' }])],
  ['photos', fc.constant([{ value: 'https://example.com/p.png' }])],
  ['profileUrl', fc.constant('https://example.com/p')],
  ['password', fc.constant('secret')],
  ['id', fc.constant('abc')],
  ['meta', fc.constant({ resourceType: 'User' })],
  ['groups', fc.constant([{ value: 'g' }])],
  ['unknown', str],
  ['UserName', str],
  ['USERNAME', str],
  [`${ENT}:department`, str],
  [ENT, fc.constantFrom({}, null, 'x', { Department: 'a' }, { manager: 'm' }, { manager: { $ref: 'x' } }, { nope: 1 })],
  ['urn:ietf:params:scim:schemas:extension:other:2.0:User', fc.constant({ a: 1 })],
  ['schemas', fc.constantFrom(CORE, [], [CORE, 'urn:other'], [1], [ENT])],
];
const perturbed = fc.tuple(plain, fc.array(fc.integer({ min: 0, max: odd.length - 1 }), { minLength: 1, maxLength: 2 }))
  .chain(([b, picks]) => fc.tuple(...picks.map((i) => odd[i]![1])).map((values) => {
    const out: Record<string, unknown> = { ...b };
    picks.forEach((i, n) => { out[odd[i]![0]] = values[n]; });
    return out;
  }));
const body = fc.oneof(plain, perturbed, fc.constant({}), fc.constantFrom(null, [], 'x'));

test('every body coerceUserIn answers is SCIMMY-accepted and serialises exactly as SCIMMY coerces it', () => {
  let answered = 0;
  let total = 0;
  fc.assert(fc.property(body, (generated) => {
    total++;
    const b = JSON.parse(JSON.stringify(generated)); // as express.json() hands it over: plain objects and arrays
    const fast = coerceUserIn(b);
    if (fast === undefined) return;
    answered++;
    assert.equal(JSON.stringify(fast), scimmy(b), JSON.stringify(b));
  }), { numRuns: 3000, seed: 20261203 });
  // The comparison must cover the fast path, not only the bodies it declines.
  assert.ok(answered > total / 5, `fast path taken for ${answered} of ${total} bodies`);
});

test('the bodies Entra and Okta send take the fast path and match SCIMMY', () => {
  const entra = {
    schemas: [CORE, ENT], externalId: '8f2c', userName: 'ada@contoso.com', active: true, displayName: 'Ada Lovelace',
    title: 'Engineer', preferredLanguage: 'en-GB',
    emails: [{ primary: true, type: 'work', value: 'ada@contoso.com' }],
    name: { formatted: 'Ada Lovelace', familyName: 'Lovelace', givenName: 'Ada' },
    phoneNumbers: [{ type: 'work', value: '+44 1' }, { type: 'mobile', value: '+44 2' }],
    roles: [{ primary: true, type: 'WindowsAzureActiveDirectoryRole', value: 'Admin' }],
    [ENT]: { employeeNumber: '42', department: 'R&D', manager: { value: 'mgr-1' } },
  };
  const okta = {
    schemas: [CORE], userName: 'grace@example.com', name: { givenName: 'Grace', familyName: 'Hopper' },
    emails: [{ primary: true, value: 'grace@example.com', type: 'work' }], displayName: 'Grace Hopper', locale: 'en-US',
    externalId: '00u1', active: true,
  };
  for (const b of [entra, okta]) {
    const fast = coerceUserIn(b);
    assert.ok(fast, JSON.stringify(b));
    assert.equal(JSON.stringify(fast), scimmy(b));
  }
});

test('what SCIMMY must decide is left to it', () => {
  const base = { schemas: [CORE], userName: 'a' };
  for (const b of [
    { ...base, active: 'true' }, // wrong type: SCIMMY refuses
    { ...base, emails: [{ value: 'a', type: 'Work' }] }, // not canonical: SCIMMY refuses
    { ...base, UserName: 'b' }, // another case: SCIMMY folds it
    { ...base, displayName: null }, // null: SCIMMY drops it
    { ...base, id: 'x' }, // read-only: SCIMMY drops it
    { ...base, [`${ENT}:department`]: 'x' }, // namespaced: SCIMMY nests it
    { schemas: [CORE], displayName: 'no userName' }, // required: SCIMMY refuses
  ]) assert.equal(coerceUserIn(b), undefined, JSON.stringify(b));
});
