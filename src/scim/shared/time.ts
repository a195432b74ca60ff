/** Stored times are epoch milliseconds (a number, or a string from PostgreSQL's bigint): as ISO 8601 for output. */
export const iso = (ms: number | string): string => new Date(Number(ms)).toISOString();

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * An instant given by a person (a query parameter, a CLI option) as epoch ms, or undefined when it is not one: an
 * RFC 3339 date-time with its offset (`2026-12-01T09:30:00Z`, `...+01:00`), or a calendar date meaning its start in
 * UTC (`2026-12-01`). A date-time without an offset is refused rather than read in the server's time zone.
 */
export function parseInstant(text: string): number | undefined {
  if (!DATE.test(text) && !DATE_TIME.test(text)) return undefined;
  // Date.parse rolls 2026-02-31 over to March 3: a calendar date that does not round-trip is not a date.
  const [y, m, d] = text.slice(0, 10).split('-').map(Number) as [number, number, number];
  const day = new Date(Date.UTC(y, m - 1, d));
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== m - 1 || day.getUTCDate() !== d) return undefined;
  const ms = DATE.test(text) ? day.getTime() : Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}
