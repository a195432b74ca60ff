/**
 * The one model of what a credential may do, shared by static tokens, managed tokens and OAuth access tokens
 * (RFC 6749 §3.3 scope strings: space-separated, case-sensitive):
 * - `scim`: the SCIM API, reads and writes;
 * - `scim:read`: the SCIM API, reads only (GET, HEAD, POST .search); a write is 403 insufficient_scope (RFC 6750 §3.1);
 * - `admin`: the admin API, and everything the other scopes allow;
 * - `metrics`: GET /metrics only.
 */
export const SCOPES = ['scim', 'scim:read', 'admin', 'metrics'] as const;
export type Scope = (typeof SCOPES)[number];

export const isScope = (s: string): s is Scope => (SCOPES as readonly string[]).includes(s);

/** Whether credentials holding `held` may do what `needed` names. */
export function allows(held: readonly Scope[], needed: Scope): boolean {
  if (held.includes('admin') || held.includes(needed)) return true;
  return needed === 'scim:read' && held.includes('scim');
}

/** A stored scope string as scopes; values this version does not know are dropped (they grant nothing). */
export function parseScopes(text: string | null | undefined): Scope[] {
  return [...new Set((text ?? '').split(' ').filter(isScope))];
}

export const formatScopes = (scopes: readonly Scope[]): string => [...new Set(scopes)].join(' ');
