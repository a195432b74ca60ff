/** Parsed JSON, as request bodies and SCIM resources hold it. */

export type Json = Record<string, any>;

/** A JSON object: not null and not an array. */
export const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
