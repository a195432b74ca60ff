/**
 * Sequential paging without OFFSET (RFC 7644 §3.4.2.4 pages by index; IdPs read a collection page after page).
 *
 * `OFFSET k` makes the database walk k rows, so page 1,000 of 100,000 users costs a thousand pages (the paging
 * scenario in docs/benchmarks.md). When a page is full, the sort key of its last row is kept
 * here under the query and the startIndex that follows; a request for that startIndex continues after the key, the
 * way a cursor would, and reads one page of the index. A miss (the previous page was served by another instance, or
 * the entry was evicted) falls back to OFFSET, which gives the same rows unless rows before the page changed in
 * between: then the continuation neither repeats nor skips rows, which is what an IdP paging through wants.
 */
const MAX_ENTRIES = 1000;
/**
 * A walk reads its next page within seconds, and every page it reads refreshes the cursor of the next one. An old
 * cursor would only serve a client that jumps to a startIndex it never reached, and could then continue from a row
 * that has moved since: such a request gets OFFSET instead.
 */
const MAX_AGE_MS = 60_000;

/** Sort key values of the last row of a page, in orderBy order. */
export type SeekKey = unknown[];

export class PageCursors {
  private readonly entries = new Map<string, { key: SeekKey; at: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  get(query: string): SeekKey | undefined {
    const e = this.entries.get(query);
    if (e === undefined) return undefined;
    this.entries.delete(query);
    if (this.now() - e.at > MAX_AGE_MS) return undefined;
    this.entries.set(query, e); // most recently used last
    return e.key;
  }

  set(query: string, key: SeekKey): void {
    this.entries.delete(query);
    this.entries.set(query, { key, at: this.now() });
    if (this.entries.size > MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
  }
}

/** One cache per database handle (tests and tools may hold several in one process). */
const byDb = new WeakMap<object, PageCursors>();

export function cursorsFor(db: object): PageCursors {
  let c = byDb.get(db);
  if (!c) byDb.set(db, (c = new PageCursors()));
  return c;
}
