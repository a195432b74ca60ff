/**
 * How every CLI command prints, so that all of them read alike: a read command (`list`, `show`, `members`, `audit`)
 * prints a table for a person and, with `--json`, JSON for a script; a command that changes something prints what it
 * made or changed as JSON. Results go to stdout, notes for the operator to stderr (context.ts `note`).
 */

/** Pretty JSON on stdout, one value. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A cell as text: nothing is `-`, arrays are comma-joined, objects are compact JSON. */
function cell(v: unknown): string {
  if (v === null || v === undefined || v === '') return '-';
  if (Array.isArray(v)) return v.length ? v.map(cell).join(',') : '-';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v).replace(/[\r\n\t]+/g, ' ');
}

export interface Column<T> {
  /** Heading, printed upper-case. */
  header: string;
  /** The row's value for this column (a key of the row, or a function of it). */
  value: keyof T | ((row: T) => unknown);
  /** Longer values are cut to this many characters and end with `…` (long JSON, causes). */
  max?: number;
}

/** Rows as an aligned table: a heading line, then one line per row; `(none)` on stderr when there are none. */
export function printTable<T>(rows: readonly T[], columns: readonly (Column<T> | (keyof T & string))[]): void {
  const cols: Column<T>[] = columns.map((c) => (typeof c === 'string' ? { header: c, value: c } : c) as Column<T>);
  const text = rows.map((r) => cols.map((c) => {
    const raw = typeof c.value === 'function' ? c.value(r) : r[c.value];
    const s = cell(raw);
    return c.max && s.length > c.max ? `${s.slice(0, c.max - 1)}…` : s;
  }));
  const lines = [cols.map((c) => c.header.toUpperCase()), ...text];
  const widths = cols.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  for (const l of lines) process.stdout.write(`${l.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
  if (!rows.length) process.stderr.write('(none)\n');
}

/** One record as `key  value` lines (for `show`), nested objects as compact JSON. */
export function printRecord(record: Record<string, unknown>): void {
  const keys = Object.keys(record);
  const width = Math.max(0, ...keys.map((k) => k.length));
  for (const k of keys) process.stdout.write(`${k.padEnd(width)}  ${cell(record[k])}\n`);
}

/** A list for a person or a script: `--json` prints the rows as JSON, otherwise a table of `columns`. */
export function printList<T>(rows: readonly T[], columns: readonly (Column<T> | (keyof T & string))[], opts: { json?: boolean | undefined }): void {
  if (opts.json) printJson(rows);
  else printTable(rows, columns);
}
