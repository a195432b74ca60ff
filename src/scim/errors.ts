/**
 * SCIM errors (RFC 7644 §3.12). SCIMMY's router only renders the statuses it knows, so statuses it cannot render
 * (429, 503) are raised as HttpFailure and rendered by our own error handler.
 */
import SCIMMY from 'scimmy';
import { classifyDbError } from '../store/db.js';

export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

export type ScimType =
  | 'invalidFilter' | 'tooMany' | 'uniqueness' | 'mutability' | 'invalidSyntax' | 'invalidPath'
  | 'noTarget' | 'invalidValue' | 'invalidVers' | 'sensitive';

/** A SCIMMY error; its typings want a string scimType even where the RFC has none. */
export function scimError(status: number, scimType: ScimType | null, detail: string): InstanceType<typeof SCIMMY.Types.Error> {
  return new SCIMMY.Types.Error(status, scimType as string, detail);
}

/** An error whose status SCIMMY cannot render (429, 503, 405...). */
export class HttpFailure extends Error {
  constructor(readonly status: number, readonly scimType: ScimType | null, detail: string, readonly headers: Record<string, string> = {}) {
    super(detail);
  }
}

export interface ErrorBody { schemas: string[]; status: string; scimType?: string; detail: string }

export function errorBody(status: number, scimType: string | null | undefined, detail: string): ErrorBody {
  return { schemas: [ERROR_SCHEMA], status: String(status), ...(scimType ? { scimType } : {}), detail };
}

export const isScimmyError = (e: unknown): e is InstanceType<typeof SCIMMY.Types.Error> => e instanceof SCIMMY.Types.Error;

/** Messages for unique indexes, by index name (PostgreSQL) or column list (SQLite). */
const uniqueMessages: [RegExp, string][] = [
  [/users_user_name_active|lower\(user_name\)/, 'userName is already taken'],
  [/users_external_id_unique|users\.external_id/, 'externalId is already bound to another user'],
  [/users_email_active|users\.email/, 'email is already used by another user'],
  [/groups_external_id_unique|groups\.external_id/, 'externalId is already bound to another group'],
];

/**
 * Turn anything thrown below the SCIM layer into something the client may see.
 * Unique violations become 409 uniqueness; an unreachable database 503; anything else 500 without internals.
 */
export function toScimFailure(err: unknown): Error {
  if (isScimmyError(err) || err instanceof HttpFailure) return err as Error;
  const kind = classifyDbError(err);
  if (kind.kind === 'unique') {
    const msg = uniqueMessages.find(([re]) => re.test(kind.constraint))?.[1] ?? 'a unique attribute is already taken';
    return scimError(409, 'uniqueness', msg);
  }
  if (kind.kind === 'unavailable') return new HttpFailure(503, null, 'the identity store is unavailable; retry later', { 'Retry-After': '5' });
  if (kind.kind === 'invalidData') return scimError(400, 'invalidValue', 'a value is too long or not valid for its attribute');
  if (kind.kind === 'concurrency') return scimError(409, null, 'the resource changed concurrently; retry');
  return new InternalFailure(err);
}

/** A bug or unknown failure: logged in full, shown to the client as a bare 500. */
export class InternalFailure extends HttpFailure {
  constructor(readonly original: unknown) {
    super(500, null, 'internal server error');
  }
}

/**
 * Errors from our handlers pass through SCIMMY, which turns anything that is not its own error into a 404 and cannot
 * render 429/503. The real failure is kept on the response (`res.locals.failure`) and thrown again once SCIMMY hands
 * control back; the app's error handler renders it.
 */
export function handlerFailure(res: { locals: Record<string, any> }, err: unknown): Error {
  const stashed = res.locals.failure as Error | undefined;
  if (stashed) return stashed;
  // SCIMMY's schema coercion reports bad values as TypeErrors.
  if (err instanceof TypeError && !(err as any).status) return scimError(400, 'invalidValue', err.message);
  const f = toScimFailure(err);
  if (f instanceof HttpFailure) res.locals.failure = f;
  return f;
}
