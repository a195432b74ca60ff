/**
 * What a Group's displayName and externalId may be, checked the same way by every write that sets them: POST and PUT
 * (group-lifecycle.ts groupFromScim) and PATCH (group-patch.ts). Each returns the problem for a 400 invalidValue, or
 * undefined when the value is fine.
 */

/** Longer names and ids are no real group's and would only cost storage, indexes and every response that holds them. */
export const GROUP_STRING_MAX = 256;

export function displayNameProblem(v: unknown): string | undefined {
  if (typeof v !== 'string' || !v.trim()) return 'displayName is required and must be a non-empty string';
  if (v.length > GROUP_STRING_MAX) return `displayName is longer than ${GROUP_STRING_MAX} characters`;
  return undefined;
}

/** An externalId that is set (POST and PUT may leave it out; an empty string there means none). */
export function externalIdProblem(v: unknown): string | undefined {
  if (typeof v !== 'string' || v.length > GROUP_STRING_MAX) return `externalId must be a string of at most ${GROUP_STRING_MAX} characters`;
  return undefined;
}
