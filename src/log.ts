/**
 * Structured JSON logs (winston). One logger for the process; request-scoped lines carry `requestId`.
 * Secrets never reach it: callers log ids and counts, never tokens, passwords or bodies.
 */
import winston from 'winston';

export type Logger = winston.Logger;

export function createLogger(level: string): Logger {
  return winston.createLogger({
    level,
    format: winston.format.combine(winston.format.timestamp(), winston.format.errors({ stack: false }), winston.format.json()),
    defaultMeta: { service: 'scim' },
    transports: [new winston.transports.Console({ stderrLevels: [] })],
  });
}

/**
 * An info line printed whatever LOG_LEVEL filters (where the server listens: an operator at LOG_LEVEL=warn still
 * needs it, and so do tools that wait for it), in the same format as every other line.
 */
export function announce(log: Logger, message: string, meta: Record<string, unknown>): void {
  if (log.isLevelEnabled('info')) log.info(message, meta);
  else createLogger('info').info(message, meta);
}
