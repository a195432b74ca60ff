/**
 * The request log's writer: rows from the access log (request-context.ts) wait in memory and are written by one
 * multi-row insert (store/request-log.ts) when REQUEST_LOG_FLUSH_INTERVAL has passed since the first of them, or at
 * once when a batch is full, so a request pays for an array push, never for a statement. The buffer is capped: rows
 * beyond it (the database down or too slow to keep up) are dropped and counted (`scim_request_log_dropped_total`,
 * metrics.ts), never allowed to grow the heap. Closing writes what is left (server.ts, after the last answer).
 * A timer prunes by age and by count in short batches; instances on one PostgreSQL database each prune, at jittered
 * times, sharing the work (SKIP LOCKED).
 */
import type { Knex } from 'knex';
import type { RequestLogConfig } from '../config/index.js';
import type { Logger } from '../log.js';
import { INSERT_BATCH, insertRequests, pruneRequests, type RequestLogRow } from '../store/request-log.js';

export interface RequestLogTuning {
  /** Rows held in memory at most; more are dropped and counted. */
  bufferMax?: number;
  /** Between prunes (jittered by up to a quarter either way). */
  pruneMs?: number;
}

const DAY_MS = 86_400_000;

export class RequestLog {
  private buffer: RequestLogRow[] = [];
  private timer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private pruning: Promise<number> | undefined;
  private closed = false;
  private soon = false;
  private failing = false;
  private readonly bufferMax: number;
  private readonly pruneMs: number;
  /** Rows dropped because the buffer was full (or the last flush at close failed). */
  dropped = 0;
  /** Rows written. */
  written = 0;

  constructor(private readonly db: Knex, private readonly settings: RequestLogConfig, private readonly log: Logger, tuning: RequestLogTuning = {}) {
    this.bufferMax = tuning.bufferMax ?? 20_000;
    this.pruneMs = tuning.pruneMs ?? 60_000;
    // The first prune soon after start (a server that was down for a while has a backlog), then on the timer.
    this.schedulePrune(Math.min(this.pruneMs, 10_000));
  }

  /** Rows waiting to be written. */
  get buffered(): number {
    return this.buffer.length;
  }

  add(row: RequestLogRow): void {
    if (this.closed) return;
    if (this.buffer.length >= this.bufferMax) {
      this.dropped++;
      return;
    }
    this.buffer.push(row);
    if (this.buffer.length >= INSERT_BATCH) this.flushSoon();
    else if (!this.timer) {
      this.timer = setTimeout(() => { this.timer = undefined; void this.flush(); }, this.settings.flushMs).unref();
    }
  }

  /** A full batch: written on the next turn of the event loop (after the answer that filled it), once. */
  private flushSoon(): void {
    if (this.soon || this.flushing || this.failing || this.closed) return;
    this.soon = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    setImmediate(() => { this.soon = false; void this.flush(); });
  }

  /**
   * Write what is buffered, one batch per statement; resolves once it is written, or a statement failed and its
   * rows were put back for the next flush. One flush at a time.
   */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (!this.buffer.length) return;
    this.flushing = this.writeBuffered();
    try {
      await this.flushing;
    } finally {
      this.flushing = undefined;
    }
  }

  private async writeBuffered(): Promise<void> {
    // Only what is here now: rows that arrive meanwhile wait for their own timer or full batch.
    let left = this.buffer.length;
    while (left > 0 && this.buffer.length) {
      const rows = this.buffer.splice(0, Math.min(left, INSERT_BATCH));
      left -= rows.length;
      try {
        await insertRequests(this.db, rows);
      } catch (err) {
        // Back in front of the newer rows, as many as the cap allows: the next flush retries them.
        const keep = Math.min(rows.length, Math.max(0, this.bufferMax - this.buffer.length));
        this.dropped += rows.length - keep;
        this.buffer = rows.slice(rows.length - keep).concat(this.buffer);
        if (!this.failing) this.log.warn('request log not written; retrying', { rows: rows.length, error: String((err as Error)?.message ?? err).split('\n')[0]!.slice(0, 200) });
        this.failing = true;
        if (!this.closed && !this.timer) this.timer = setTimeout(() => { this.timer = undefined; void this.flush(); }, this.settings.flushMs).unref();
        return;
      }
      this.written += rows.length;
      if (this.failing) this.log.info('request log written again', { rows: rows.length });
      this.failing = false;
    }
    // Requests kept coming while it was written: a full batch goes now, a partial one on its timer.
    if (this.buffer.length >= INSERT_BATCH) setImmediate(() => void this.flush());
    else if (this.buffer.length && !this.timer && !this.closed) this.timer = setTimeout(() => { this.timer = undefined; void this.flush(); }, this.settings.flushMs).unref();
  }

  /** Delete rows past REQUEST_LOG_DAYS and beyond REQUEST_LOG_MAX_ROWS; answers how many. One prune at a time. */
  prune(now = Date.now()): Promise<number> {
    if (this.pruning) return this.pruning;
    this.pruning = pruneRequests(this.db, { before: now - this.settings.days * DAY_MS, maxRows: this.settings.maxRows, stop: () => this.closed })
      .finally(() => { this.pruning = undefined; });
    return this.pruning;
  }

  private schedulePrune(ms: number): void {
    if (this.closed) return;
    const jittered = Math.round(ms * (0.75 + Math.random() / 2));
    this.pruneTimer = setTimeout(() => {
      this.prune()
        .then((n) => { if (n) this.log.debug('request log pruned', { rows: n }); })
        .catch((err) => this.log.warn('request log prune failed', { error: String((err as Error)?.message ?? err).split('\n')[0]!.slice(0, 200) }))
        .finally(() => this.schedulePrune(this.pruneMs));
    }, jittered).unref();
  }

  /** Stop the timers and write what is left (a last attempt: rows it cannot write are counted as dropped). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    clearTimeout(this.pruneTimer);
    await this.pruning?.catch(() => undefined);
    await this.flush().catch(() => undefined);
    if (this.buffer.length) {
      this.log.warn('request log rows lost at shutdown', { rows: this.buffer.length });
      this.dropped += this.buffer.length;
      this.buffer = [];
    }
  }
}
