/** Stored times are epoch milliseconds (a number, or a string from PostgreSQL's bigint): as ISO 8601 for output. */
export const iso = (ms: number | string): string => new Date(Number(ms)).toISOString();
