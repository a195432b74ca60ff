/**
 * The one error type of the workspace use-cases: an HTTP status, a stable machine code and a message. The admin API
 * answers it as {"error":{status, code, message}}; the CLI prints the message and exits non-zero.
 */
import { classifyDbError } from '../store/db.js';

export class WorkspaceError extends Error {
  constructor(readonly status: 400 | 404 | 409 | 413 | 415, readonly code: string, message: string) {
    super(message);
  }
}

export const badRequest = (code: string, message: string) => new WorkspaceError(400, code, message);
export const notFound = (what: string, id: string) => new WorkspaceError(404, 'not_found', `${what} ${String(id).slice(0, 100)} not found`);
export const conflict = (code: string, message: string) => new WorkspaceError(409, code, message);

/** A unique-index violation becomes a 409 naming what is taken; anything else is rethrown untouched. */
export function rethrowUnique(err: unknown, message: string): never {
  if (classifyDbError(err).kind === 'unique') throw conflict('name_taken', message);
  throw err;
}
