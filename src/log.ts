/**
 * Structured JSON logs (winston). One logger for the process; request-scoped lines carry `requestId`.
 * Secrets never reach it: callers log ids and counts, never tokens, passwords or bodies.
 */
import type { Writable } from 'node:stream';
import winston from 'winston';

export type Logger = winston.Logger;

const format = () => winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: false }), winston.format.json());

/** `meta` goes on every line: a cluster worker's index and pid (src/cluster/), so its lines can be told apart. */
export function createLogger(level: string, meta: Record<string, unknown> = {}): Logger {
  return winston.createLogger({
    level,
    format: format(),
    defaultMeta: { service: 'scim', ...meta },
    transports: [new winston.transports.Console({ stderrLevels: [] })],
  });
}

/** For loggers not writing to the console: the info-level logger `announce` uses, writing where they write. */
const announcers = new WeakMap<Logger, () => Logger>();

/**
 * A logger writing the same JSON lines as `createLogger`, one per line, to `stream` instead of stdout: a server
 * started inside a test process, whose output the test reads as it would read a child's stdout.
 */
export function createStreamLogger(level: string, stream: Writable): Logger {
  const make = (l: string) => winston.createLogger({
    level: l,
    format: format(),
    defaultMeta: { service: 'scim' },
    transports: [new winston.transports.Stream({ stream })],
  });
  const log = make(level);
  announcers.set(log, () => make('info'));
  return log;
}

/**
 * An info line printed whatever LOG_LEVEL filters (where the server listens: an operator at LOG_LEVEL=warn still
 * needs it, and so do tools that wait for it), in the same format as every other line.
 */
export function announce(log: Logger, message: string, meta: Record<string, unknown>): void {
  if (log.isLevelEnabled('info')) log.info(message, meta);
  else (announcers.get(log)?.() ?? createLogger('info')).info(message, meta);
}
