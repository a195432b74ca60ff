/**
 * One case fold for every case-insensitive comparison (RFC 7643 §2.1, caseExact=false), computed in JavaScript once
 * per write and stored next to the value as `<column>_fold`. Filters, sorts and uniqueness then compare folded
 * strings with plain `=` / LIKE and an index, identically on SQLite and PostgreSQL. Neither database's own lower()
 * will do: SQLite's folds ASCII only (overriding it with a JS function costs a JS call per row and value, which a long
 * `co` filter multiplies), PostgreSQL's lowers character by character in the database's locale (`ΣΊΣΥΦΟΣ` becomes
 * `σίσυφοσ`, never equal to `σίσυφος`).
 */

/** ASCII only: upper/lower round trip, NFC and the special cases below change nothing but A-Z. */
const ASCII = /^[\x00-\x7f]*$/;

/**
 * The folded form of a caseExact=false string. It approximates Unicode default full case folding (CaseFolding.txt,
 * statuses C and F; "caseless matching", Unicode §3.13):
 * - NFC first, so a precomposed and a decomposed `é` are one letter;
 * - upper- then lower-case with the full mappings of SpecialCasing.txt, which folds `ß`/`ẞ` to `ss` and `ﬁ` to `fi`
 *   as CaseFolding's F entries do;
 * - final sigma `ς` to `σ` (CaseFolding maps U+03C2 to U+03C3): `ΣΊΣΥΦΟΣ` and `σίσυφος` are one name;
 * - `İ` (U+0130) to `i`, CaseFolding's Turkic mapping (status T), not the default `i̇` (i + U+0307) that
 *   toLowerCase gives: nobody types that combining dot, and `İSTANBUL` must find `istanbul`. So `İ`, `I`, `i` and the
 *   dotless `ı` (upper-cased to `I`) all fold to `i`, and `İSTANBUL` and `ISTANBUL` are the same userName: for
 *   uniqueness that errs on the safe side, as two accounts told apart only by a Turkish i would look alike;
 * - NFC again, because case mapping can decompose (`ǰ` upper-cases to `J` + U+030C).
 *
 * The stored folds depend on this function: changing it needs a migration that recomputes every `_fold` column
 * (see migrations/20261201_001_folded_columns.ts).
 */
export function fold(s: string): string {
  if (ASCII.test(s)) return s.toLowerCase();
  return s.normalize('NFC').toUpperCase().toLowerCase().replace(/ς/g, 'σ').replace(/i\u0307/g, 'i').normalize('NFC');
}

/** The column that holds the fold of `column`. */
export const foldColumn = (column: string): string => `${column}_fold`;

/** users columns compared case-insensitively (the caseExact=false strings of the attributes in store/user-list.ts). */
export const USER_FOLDED = [
  'user_name', 'display_name', 'nickname', 'position', 'user_type', 'first_name', 'last_name', 'formatted_name',
  'department', 'cost_center', 'organization', 'division', 'preferred_language', 'locale', 'timezone',
] as const;
/** user_values columns (sub-attributes value, type, display of emails, phoneNumbers, ...). */
export const VALUE_FOLDED = ['value', 'type', 'display'] as const;
/** groups columns. */
export const GROUP_FOLDED = ['display_name'] as const;

/** `row` plus the fold of each of `columns` it sets (a partial update folds only what it changes). */
function withFolds<T extends object>(row: T, columns: readonly string[]): T {
  const out: Record<string, unknown> = { ...(row as Record<string, unknown>) };
  for (const c of columns) {
    const v = (row as Record<string, unknown>)[c];
    if (v !== undefined) out[foldColumn(c)] = typeof v === 'string' ? fold(v) : null;
  }
  return out as T;
}

export const foldUser = <T extends object>(row: T): T => withFolds(row, USER_FOLDED);
export const foldValue = <T extends object>(row: T): T => withFolds(row, VALUE_FOLDED);
export const foldGroup = <T extends object>(row: T): T => withFolds(row, GROUP_FOLDED);
