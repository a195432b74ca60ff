/**
 * Workspace usernames from SCIM userNames, by Mattermost's `CleanUsername` rules (server/public/model/user.go):
 * lower-case, spaces to '-', any character outside [a-z0-9.-_] to '-', trim '-', reserved words refused.
 * Departure: an over-long result is cut to 64 characters instead of becoming "a"+random id, so it stays readable.
 */
import { randomBytes } from 'node:crypto';

const RESERVED = new Set(['admin', 'api', 'channel', 'claim', 'error', 'files', 'help', 'landing', 'login', 'mfa', 'oauth', 'plug', 'plugins', 'post', 'signup', 'boards', 'playbooks']);
const RESTRICTED = new Set(['all', 'channel', 'matterbot', 'system', 'here']);
export const USERNAME_MAX = 64;

export function cleanUsername(userName: string): string {
  let s = userName.normalize('NFKC').toLowerCase().replace(/ /g, '-');
  if (RESERVED.has(s)) s = '';
  s = s.replace(/[^a-z0-9._-]/g, '-').replace(/^-+|-+$/g, '');
  if (s.length > USERNAME_MAX) s = s.slice(0, USERNAME_MAX).replace(/-+$/, '');
  if (!s || RESTRICTED.has(s)) s = `a${randomBytes(13).toString('hex')}`;
  return s;
}

/** The first free username: base, then base1, base2, ... cut so the suffix fits in 64 characters. */
export function withSuffix(base: string, taken: Set<string>, start = 0): string {
  if (start === 0 && !taken.has(base)) return base;
  for (let n = Math.max(start, 1); ; n++) {
    const suffix = String(n);
    const candidate = base.slice(0, USERNAME_MAX - suffix.length) + suffix;
    if (!taken.has(candidate)) return candidate;
  }
}
