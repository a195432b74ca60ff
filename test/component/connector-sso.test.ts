/**
 * Accounts bound to the SSO the IdP drives (MATTERMOST_AUTH_SERVICE, MATTERMOST_AUTH_DATA): created with auth_service
 * and auth_data instead of a password, rebound when the attribute behind auth_data changes, and never asked to change
 * what the login provider owns (app/user.go CheckProviderAttributes: the username of SSO users, the names of OAuth
 * users, SAML's mapped attributes), so such updates are not parked.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PATCH_OP, stores } from '../helpers/server.ts';
import { workspace } from '../helpers/workspace-http.ts';
import { drained, parked, startRig } from '../helpers/connector.ts';

const patch = (ops: unknown[]) => ({ schemas: [PATCH_OP], Operations: ops });

for (const store of stores()) {
  describe(`connector with SSO accounts (${store})`, () => {
    test('saml by externalId: created bound to SAML, owned attributes left to SAML, the rest patched, a rebind re-binds', async () => {
      const rig = await startRig(store, { MATTERMOST_AUTH_SERVICE: 'saml' }, { samlOwnedAttributes: ['first_name', 'email'] });
      try {
        const ws = workspace(rig.server);
        const id = await ws.user({ externalId: 'saml-ext-1', name: { givenName: 'Sam', familyName: 'L' } });
        await drained(rig.sql);
        const b = await rig.sql('mattermost_bindings').where({ kind: 'user', local_id: id }).first();
        const u = rig.mm.state.users.get(b.mm_id)! as any;
        assert.equal(u.auth_service, 'saml');
        assert.equal(u.auth_data, 'saml-ext-1');
        assert.equal(u.password, '', 'no password for an SSO account');
        const r = await ws.scim.patch(`/Users/${id}`, patch([
          { op: 'replace', path: 'name.givenName', value: 'Samantha' },
          { op: 'replace', path: 'title', value: 'Lead' },
          { op: 'replace', path: 'userName', value: 'renamed@example.com' },
        ]));
        assert.ok([200, 204].includes(r.status), r.text);
        await drained(rig.sql);
        assert.deepEqual(await parked(rig.sql), [], 'what SAML owns is not a failure');
        assert.equal(u.position, 'Lead');
        assert.equal(u.first_name, 'Sam', 'SAML owns the first name');
        assert.notEqual(u.username, 'renamed-example.com', 'the login provider owns the username');
        const rebind = await ws.scim.patch(`/Users/${id}`, patch([{ op: 'replace', path: 'externalId', value: 'saml-ext-2' }]));
        assert.ok([200, 204].includes(rebind.status), rebind.text);
        await drained(rig.sql);
        assert.equal(u.auth_data, 'saml-ext-2', 'PUT /users/{id}/auth carried the new id');
      } finally {
        await rig.stop();
      }
    });

    test('openid by email: the names stay the provider\'s', async () => {
      const rig = await startRig(store, { MATTERMOST_AUTH_SERVICE: 'openid', MATTERMOST_AUTH_DATA: 'email' });
      try {
        const ws = workspace(rig.server);
        const id = await ws.user({ userName: 'oidc@example.com', emails: [{ value: 'oidc@example.com', primary: true }], name: { givenName: 'O', familyName: 'Idc' } });
        await drained(rig.sql);
        const b = await rig.sql('mattermost_bindings').where({ kind: 'user', local_id: id }).first();
        const u = rig.mm.state.users.get(b.mm_id)! as any;
        assert.equal(u.auth_data, 'oidc@example.com');
        const r = await ws.scim.patch(`/Users/${id}`, patch([{ op: 'replace', path: 'name.familyName', value: 'Changed' }, { op: 'replace', path: 'nickName', value: 'oi' }]));
        assert.ok([200, 204].includes(r.status), r.text);
        await drained(rig.sql);
        assert.deepEqual(await parked(rig.sql), []);
        assert.equal(u.last_name, 'Idc');
        assert.equal(u.nickname, 'oi');
      } finally {
        await rig.stop();
      }
    });
  });
}
