/**
 * Group commit for SQLite (issue 18 §2): durable commits that share one fsync, off the event loop.
 *
 * With `synchronous=FULL` SQLite fsyncs the WAL inside every COMMIT, and better-sqlite3 runs on the event loop, so
 * each durable write stops the server for the length of an fsync, one writer after another. Here the connection runs
 * with `synchronous=NORMAL` (a COMMIT write()s its WAL frames and returns) and a committed transaction is not
 * answered until the WAL file has been fsynced after its COMMIT (`durable`). The fsync runs on libuv's thread pool,
 * and every transaction that committed before an fsync started is covered by it, so concurrent writers share one;
 * meanwhile the event loop goes on serving, and the next transaction runs.
 *
 * Why that is as durable as FULL: SQLite recovers a WAL's committed frames after a crash (https://sqlite.org/wal.html,
 * "the WAL file is ... replayed"); what NORMAL gives up is only that the frames may still be in the page cache at a
 * power cut. fdatasync(2) on any descriptor of the file flushes the file's data, so after `durable` resolves the commit
 * survives a power cut as it would with FULL. The directory is fsynced once (the WAL file's own creation). A
 * checkpoint in NORMAL mode fsyncs the WAL before it copies frames into the database (https://sqlite.org/pragma.html
 * #pragma_synchronous), so the database file never holds what the WAL does not.
 */
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';

export class WalSync {
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private dirSynced = false;
  /** fsyncs done (tests and the bench read it to see that commits share them). */
  syncs = 0;

  constructor(private readonly dbFile: string) {}

  /**
   * Resolves once everything committed before the call is on disk. An fsync already running may have started before
   * the caller's COMMIT, so the caller joins the next one, which starts when the running one ends and covers
   * everyone who joined it.
   */
  durable(): Promise<void> {
    if (this.queued) return this.queued;
    const after = this.running ?? Promise.resolve();
    const next = after.catch(() => undefined).then(() => {
      this.queued = undefined;
      this.running = this.fsync().finally(() => {
        if (this.running === current) this.running = undefined;
      });
      const current = this.running;
      return current;
    });
    this.queued = next;
    return next;
  }

  private async fsync(): Promise<void> {
    this.syncs++;
    const wal = await open(`${this.dbFile}-wal`, 'r').catch((err: NodeJS.ErrnoException) => {
      // No WAL file: nothing is committed that the database file does not hold (SQLite removes it on a clean close).
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (!wal) return;
    try {
      // fdatasync, as SQLite's own sync of the WAL on Linux (os_unix.c full_fsync, HAVE_FDATASYNC): the data and what
      // reading it back needs (the file's size), not the timestamps.
      await wal.datasync();
    } finally {
      await wal.close();
    }
    if (!this.dirSynced) {
      const dir = await open(dirname(this.dbFile), 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
      this.dirSynced = true;
    }
  }
}
