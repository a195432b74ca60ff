/**
 * The ids of the workspace's entitlements, as /Entitlements serves them to Okta and as a user's `entitlements[].value`
 * carries them back (Okta's "Build a SCIM 2.0 server with entitlements": a user's entitlement value is the id of an
 * entitlement resource). Team and channel names are the keys: they are unique, never change (only display names do,
 * src/workspace/teams.ts) and contain no colon (src/workspace/names.ts), so the id reads well in Okta and in an
 * audit row.
 *
 *   team:<team>                    member of the team
 *   team:<team>:admin              team admin (offered only when the role mapping has adminEntitlements)
 *   channel:<team>:<channel>       member of the channel (and so of its team)
 *   channel:<team>:<channel>:admin channel admin
 */

export type EntitlementRef =
  | { kind: 'team'; team: string; admin: boolean }
  | { kind: 'channel'; team: string; channel: string; admin: boolean };

const PART = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** The entitlement an id names, or null when it is not one of ours (kept on the user and ignored, like an unmapped role). */
export function parseEntitlement(id: unknown): EntitlementRef | null {
  if (typeof id !== 'string' || id.length > 200) return null;
  const parts = id.trim().toLowerCase().split(':');
  const admin = parts.length > 0 && parts[parts.length - 1] === 'admin' && parts.length === (parts[0] === 'team' ? 3 : 4);
  const names = admin ? parts.slice(1, -1) : parts.slice(1);
  if (!names.every((p) => PART.test(p))) return null;
  if (parts[0] === 'team' && names.length === 1) return { kind: 'team', team: names[0]!, admin };
  if (parts[0] === 'channel' && names.length === 2) return { kind: 'channel', team: names[0]!, channel: names[1]!, admin };
  return null;
}

export function formatEntitlement(ref: EntitlementRef): string {
  const base = ref.kind === 'team' ? `team:${ref.team}` : `channel:${ref.team}:${ref.channel}`;
  return ref.admin ? `${base}:admin` : base;
}

/** The Okta entitlement `type` of an entitlement (its category on the Governance tab). */
export function entitlementType(ref: EntitlementRef): 'Team' | 'Team admin' | 'Channel' | 'Channel admin' {
  if (ref.kind === 'team') return ref.admin ? 'Team admin' : 'Team';
  return ref.admin ? 'Channel admin' : 'Channel';
}
