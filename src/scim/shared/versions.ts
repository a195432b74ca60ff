/**
 * Resource versions as entity tags (RFC 7644 §3.14): every user and group row counts its writes, and its ETag and
 * meta.version are that count as a weak tag. If-Match makes a write conditional on it (RFC 7232 §3.1).
 */
import { scimError } from './errors.js';

export const etagOf = (version: number): string => `W/"${version}"`;

/** Refuse with 412 unless the If-Match value (absent: unconditional) names `version` or is `*`. */
export function checkIfMatch(ifMatch: string | undefined, version: number): void {
  if (ifMatch === undefined) return;
  const tags = ifMatch.split(',').map((t) => t.trim());
  if (tags.includes('*')) return;
  const want = etagOf(version);
  // Weak comparison (RFC 7232 §2.3.2): W/"3" and "3" match.
  if (!tags.some((t) => t.replace(/^W\//, '') === want.replace(/^W\//, ''))) {
    throw scimError(412, null, `resource version is ${want}, not ${ifMatch.slice(0, 60)}`);
  }
}
