/**
 * Scenario helpers for the group-sync component tests: drive the real server as an IdP over SCIM and as an
 * administrator over /admin/v1, and read memberships back through the admin API only.
 */
import assert from 'node:assert/strict';
import { client, GROUP_SCHEMA, newUser, PATCH_OP, rand, type TestServer } from './server.ts';

export interface MembershipView {
  teams: Map<string, { active: boolean; schemeAdmin: boolean; addedBy: string; removedBy: string | null }>;
  /** Keyed `team/channel`. */
  channels: Map<string, { active: boolean; schemeAdmin: boolean; addedBy: string; removedBy: string | null }>;
}

export function workspace(server: TestServer) {
  const scim = client(server);
  const admin = client(server, server.adminToken);
  const A = `${server.url}/admin/v1`;
  const ok = <T extends { status: number; text: string }>(r: T, ...want: number[]): T => {
    assert.ok(want.includes(r.status), `expected ${want.join('/')} got ${r.status}: ${r.text.slice(0, 500)}`);
    return r;
  };
  const api = {
    scim,
    admin,
    A,
    ok,
    async user(extra: Record<string, unknown> = {}): Promise<string> {
      return ok(await scim.post('/Users', newUser(extra)), 201).body.id;
    },
    async setActive(userId: string, active: boolean): Promise<void> {
      ok(await scim.patch(`/Users/${userId}`, { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: active }] }), 200, 204);
    },
    async group(members: string[] = [], displayName = `grp-${rand()}`): Promise<string> {
      return ok(await scim.post('/Groups', { schemas: [GROUP_SCHEMA], displayName, externalId: `gx-${rand()}`, members: members.map((value) => ({ value })) }), 201).body.id;
    },
    async addMembers(groupId: string, userIds: string[]): Promise<void> {
      ok(await scim.patch(`/Groups/${groupId}`, { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: userIds.map((value) => ({ value })) }] }), 200, 204);
    },
    /** Entra's form: Remove with path `members` and a value list. */
    async removeMembers(groupId: string, userIds: string[]): Promise<void> {
      ok(await scim.patch(`/Groups/${groupId}`, { schemas: [PATCH_OP], Operations: [{ op: 'Remove', path: 'members', value: userIds.map((value) => ({ value })) }] }), 200, 204);
    },
    async team(name: string, opts: { groupConstrained?: boolean } = {}): Promise<{ id: string; channels: Record<string, string> }> {
      const r = ok(await admin.post(`${A}/teams`, { name, displayName: name.toUpperCase(), ...opts }), 201);
      return { id: r.body.team.id, channels: Object.fromEntries(r.body.channels.map((c: any) => [c.name, c.id])) };
    },
    async channel(teamId: string, name: string, opts: { type?: 'O' | 'P'; groupConstrained?: boolean } = {}): Promise<string> {
      return ok(await admin.post(`${A}/teams/${teamId}/channels`, { name, displayName: name, ...opts }), 201).body.id;
    },
    async linkTeam(groupId: string, teamId: string, body: { autoAdd?: boolean; schemeAdmin?: boolean; allowGuests?: boolean } = {}) {
      return ok(await admin.put(`${A}/groups/${groupId}/teams/${teamId}`, body), 200, 201).body;
    },
    async linkChannel(groupId: string, channelId: string, body: { autoAdd?: boolean; schemeAdmin?: boolean; allowGuests?: boolean } = {}) {
      return ok(await admin.put(`${A}/groups/${groupId}/channels/${channelId}`, body), 200, 201).body;
    },
    async reconcile(body: Record<string, unknown> = {}) {
      return ok(await admin.post(`${A}/reconcile`, body), 200).body;
    },
    async memberships(userId: string): Promise<MembershipView> {
      const b = ok(await admin.get(`${A}/users/${userId}/memberships`), 200).body;
      const pick = (m: any) => ({ active: m.active, schemeAdmin: m.schemeAdmin, addedBy: m.addedBy, removedBy: m.removedBy });
      return {
        teams: new Map(b.teams.map((m: any) => [m.teamName, pick(m)])),
        channels: new Map(b.channels.map((m: any) => [`${m.teamName}/${m.channelName}`, pick(m)])),
      };
    },
    async audit(query: string): Promise<any[]> {
      return ok(await admin.get(`${A}/audit?order=asc&${query}&limit=1000`), 200).body.items;
    },
  };
  return api;
}

/** A unique team name (Mattermost rules: lower-case, 2-64). */
export const teamName = (p: string) => `${p}-${rand()}`;
