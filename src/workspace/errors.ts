/**
 * How the workspace use-cases fail: an AppError (src/errors/app-error.ts) with an HTTP status, a stable machine code
 * and a message. The admin API answers it as {"error":{status, code, message}}, a SCIM request whose group mapping
 * rules raised it as a SCIM error; the CLI prints the message and exits non-zero.
 */
import { AppError } from '../errors/app-error.js';
import { classifyDbError } from '../store/db.js';

export const badRequest = (code: string, message: string) => AppError.workspace(400, code, message);
export const notFound = (what: string, id: string) => AppError.workspace(404, 'not_found', `${what} ${String(id).slice(0, 100)} not found`);
export const conflict = (code: string, message: string) => AppError.workspace(409, code, message);

/** A unique-index violation becomes a 409 naming what is taken; anything else is rethrown untouched. */
export function rethrowUnique(err: unknown, message: string): never {
  if (classifyDbError(err).kind === 'unique') throw conflict('name_taken', message);
  throw err;
}
