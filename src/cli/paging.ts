/**
 * Keyset pages from the command line, as the admin API pages them (`{items, next}`): one page of `--limit` rows
 * after `--after`, with a note saying how to ask for the next, or with `--all` every page, following `next`.
 */
import { CliError, note } from './context.js';

export interface PageOptions { limit: string; after?: string; all?: boolean }

export function limitOption(text: string, max = 1000): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > max) throw new CliError(`--limit must be an integer from 1 to ${max}`);
  return n;
}

/** The rows of one page, or of every page with `--all`. */
export async function collectPages<T>(o: PageOptions, page: (q: { limit: number; after?: string }) => Promise<{ items: T[]; next: string | null }>): Promise<{ items: T[]; next: string | null }> {
  const limit = limitOption(o.limit);
  const items: T[] = [];
  let after = o.after;
  for (;;) {
    const p = await page({ limit, ...(after !== undefined ? { after } : {}) });
    items.push(...p.items);
    if (!o.all || p.next === null) return { items, next: p.next };
    after = p.next;
  }
}

/** Where the next page starts, on stderr (a script reading stdout, JSON or a table, never sees it). */
export function noteMore(next: string | null): void {
  if (next !== null) note(`more: --after ${next} (or --all)`);
}
