/** The role mapping settings (src/config/roles.ts) and the role decision (src/workspace/roles.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseRoleMapping } from '../../src/config/roles.ts';
import { decideSystemRole } from '../../src/workspace/roles.ts';
import { loadConfig, ConfigError } from '../../src/config/index.ts';

const fail = (m: string): never => { throw new Error(m); };
const file = (content: string) => {
  const p = join(mkdtempSync(join(tmpdir(), 'roles-')), 'roles.json');
  writeFileSync(p, content);
  return p;
};

test('ROLE_MAPPING pairs map case-insensitively; the built-in ids are always there', () => {
  const m = parseRoleMapping({ ROLE_MAPPING: 'Admin=admin, Guest = guest ,User=Member' }, fail);
  assert.equal(m.roles.get('admin'), 'admin');
  assert.equal(m.roles.get('guest'), 'guest');
  assert.equal(m.roles.get('user'), 'member');
  assert.equal(m.roles.get('system_admin'), 'admin');
  assert.equal(m.adminEntitlements, false);
  assert.deepEqual([...parseRoleMapping({}, fail).roles.keys()].sort(), ['system_admin', 'system_guest', 'system_user']);
});

test('bad mappings stop start-up with a line naming the setting', () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ ROLE_MAPPING: 'Admin' }, /ROLE_MAPPING must be value=role pairs/],
    [{ ROLE_MAPPING: 'Admin=owner' }, /must map to one of member, admin, guest/],
    [{ ROLE_MAPPING: 'Admin=admin,admin=guest' }, /mapped twice/],
    [{ ROLE_MAPPING: 'system_admin=guest' }, /workspace's own admin role/],
    [{ ROLE_MAPPING: 'A=admin', ROLE_MAPPING_FILE: '/x' }, /not both/],
    [{ ROLE_MAPPING_FILE: '/nonexistent/roles.json' }, /does not exist/],
    [{ ROLE_MAPPING_FILE: file('{not json') }, /not valid JSON/],
    [{ ROLE_MAPPING_FILE: file('[]') }, /JSON object/],
    [{ ROLE_MAPPING_FILE: file('{"role": {}}') }, /unknown key "role"/],
    [{ ROLE_MAPPING_FILE: file('{"roles": {"Admin": 1}}') }, /must map to one of/],
    [{ ROLE_MAPPING_FILE: file('{"adminEntitlements": "yes"}') }, /adminEntitlements" must be true or false/],
    [{ ROLE_ADMIN_ENTITLEMENTS: 'maybe' }, /ROLE_ADMIN_ENTITLEMENTS must be true or false/],
  ];
  for (const [env, want] of cases) {
    assert.throws(() => loadConfig(env), (e: unknown) => e instanceof ConfigError && want.test((e as Error).message), JSON.stringify(env));
  }
});

test('ROLE_MAPPING_FILE gives roles and adminEntitlements', () => {
  const m = parseRoleMapping({ ROLE_MAPPING_FILE: file('{"roles": {"Owners": "admin", "Contractors": "guest"}, "adminEntitlements": true}') }, fail);
  assert.equal(m.roles.get('owners'), 'admin');
  assert.equal(m.roles.get('contractors'), 'guest');
  assert.equal(m.adminEntitlements, true);
  assert.equal(parseRoleMapping({ ROLE_ADMIN_ENTITLEMENTS: 'true' }, fail).adminEntitlements, true);
});

test('the highest mapped role wins; unmapped values are reported, not counted', () => {
  const m = parseRoleMapping({ ROLE_MAPPING: 'Admin=admin,Guest=guest,User=member' }, fail);
  const decide = (...values: (string | null)[]) => decideSystemRole(values.map((value) => ({ value })), m);
  assert.deepEqual(decide(), { role: 'member', unmapped: [] });
  assert.deepEqual(decide('Guest'), { role: 'guest', unmapped: [] });
  assert.deepEqual(decide('Guest', 'User'), { role: 'member', unmapped: [] });
  assert.deepEqual(decide('guest', 'ADMIN', 'User'), { role: 'admin', unmapped: [] });
  assert.deepEqual(decide('Reader', null, 'Guest'), { role: 'guest', unmapped: ['Reader'] });
  assert.deepEqual(decide('Reader'), { role: 'member', unmapped: ['Reader'] });
});
