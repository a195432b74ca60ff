/**
 * A person's system role from their SCIM `roles` values (Entra app role assignments, Okta roles): each value is looked
 * up in the role mapping (src/config/roles.ts); the highest role any value maps to wins (admin over member over
 * guest, so an extra Guest assignment never takes an admin's rights away); no mapped value means member, Mattermost's
 * default `system_user`. Values the mapping does not know are kept on the user as sent and ignored, with one log line
 * per value per process so an admin sees a typo in the mapping without a line per request.
 */
import type { Logger } from '../log.js';
import type { RoleMapping, SystemRole } from '../config/roles.js';

const RANK: Readonly<Record<SystemRole, number>> = { guest: 0, member: 1, admin: 2 };

/** Unmapped values already logged; bounded so a client sending endless distinct values cannot grow it without end. */
const reported = new Set<string>();
const REPORT_LIMIT = 1000;

export interface RoleValue { value: string | null }

/** The system role the values give, and which of them the mapping does not know. */
export function decideSystemRole(values: readonly RoleValue[], mapping: RoleMapping): { role: SystemRole; unmapped: string[] } {
  let role: SystemRole | null = null;
  const unmapped: string[] = [];
  for (const { value } of values) {
    if (!value) continue;
    const mapped = mapping.roles.get(value.trim().toLowerCase());
    if (!mapped) unmapped.push(value);
    else if (role === null || RANK[mapped] > RANK[role]) role = mapped;
  }
  return { role: role ?? 'member', unmapped };
}

/** Log each unmapped role value once per process (value cut to 100 characters; role values are no secret). */
export function reportUnmapped(log: Logger, unmapped: readonly string[], requestId?: string): void {
  for (const v of unmapped) {
    const key = v.trim().toLowerCase().slice(0, 100);
    if (reported.has(key) || reported.size >= REPORT_LIMIT) continue;
    reported.add(key);
    log.warn('role value not in the role mapping; kept on the user and ignored', { roleValue: key, requestId, setting: 'ROLE_MAPPING or ROLE_MAPPING_FILE' });
  }
}
