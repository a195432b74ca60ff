/**
 * The `scope` a client asks for (RFC 6749 §3.3), as the scopes it gets. Absent: everything the client was registered
 * with. Present: each value must be one the client may have. IdPs send values of their own: Entra's workload identity
 * examples send `scim` and `scim.readwrite`, and an Entra resource scope ends in `/.default` ("whatever the app was
 * granted"), so those are read as what they mean here rather than refused.
 */
import { allows, isScope, type Scope } from '../store/scopes.js';
import { oauthError } from './errors.js';

const ALIASES: Record<string, Scope> = { 'scim.readwrite': 'scim', 'scim.write': 'scim', 'scim.read': 'scim:read' };

export function resolveScopes(requested: string | undefined, registered: readonly Scope[]): Scope[] {
  const values = (requested ?? '').split(' ').filter(Boolean);
  if (values.length === 0 || values.every((v) => v.endsWith('/.default'))) return [...registered];
  if (values.length > 10) throw oauthError('invalid_scope', 'too many scope values');
  const out = new Set<Scope>();
  for (const v of values) {
    if (v.endsWith('/.default')) continue;
    const s = isScope(v) ? v : ALIASES[v];
    if (!s) throw oauthError('invalid_scope', `unknown scope "${v.slice(0, 60)}" (scopes: scim, scim:read, admin, metrics)`);
    if (!allows(registered, s)) throw oauthError('invalid_scope', `this client may not have the ${s} scope (it is registered for ${registered.join(' ')})`);
    out.add(s);
  }
  return [...out];
}
