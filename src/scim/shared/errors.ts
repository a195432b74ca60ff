/**
 * SCIM errors (RFC 7644 §3.12). SCIMMY's router only renders the statuses it knows, so statuses it cannot render
 * (429, 503) are raised as HttpFailure and rendered by our own error handler.
 */
import SCIMMY from 'scimmy';
import { classifyDbError } from '../../store/db.js';

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
  [/users_user_name_active|users\.user_name_fold/, 'userName is already taken'],
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
 * What the JavaScript engine says when code meets a shape it did not expect (`Cannot read properties of undefined`,
 * `x is not a function`...). Inside SCIMMY that means the request held something odd, but the text describes the
 * library, not the request: it is never shown to a client. SCIMMY's own validation messages ("Attribute 'x' expected
 * value type 'string'...") describe the request and are kept.
 */
const ENGINE_TEXT = new RegExp([
  "Cannot (read|set) propert", 'is not a function', 'is not iterable', 'is not a constructor', 'Cannot convert ', 'Cannot destructure',
  'Cannot create property', 'Cannot assign to read only', 'Cannot (re)?define property', 'Cannot add property', 'Cannot delete property',
  'is not extensible', 'circular structure', 'BigInt', 'Reduce of empty array', 'incompatible receiver', 'Right-hand side of',
  'Invalid array length', 'Maximum call stack', "Cannot use 'in' operator", 'is not defined', 'before initialization', 'Invalid time value',
  'Cannot access private', 'Private field',
].join('|'));

const GENERIC_DETAIL = 'a value in the request has a type or shape this attribute does not take';

/** SCIMMY's note of which PatchOp operation failed, worth keeping ("for 'add' op of operation 2 ..."). */
const OP_CONTEXT = / for '(add|remove|replace)' op of operation \d+ in PatchOp request body$/;

/** Where a hidden library message goes: the debug log, with the request id (a ScimContext is one). */
export interface DebugSink { log?: { debug(msg: string, meta: object): unknown }; requestId?: string }

/** A 400 whose detail, if it is engine text, is replaced; the original goes to the debug log with the request id. */
function clientDetail(sink: DebugSink, message: string): string {
  if (!ENGINE_TEXT.test(message)) return message;
  sink.log?.debug('library error hidden from the client', { requestId: sink.requestId, error: message.slice(0, 500) });
  // A frozen SCIMMY value refusing a key it does not declare: say which key.
  const unknown = /^Cannot add property (.{1,100}?), object is not extensible/.exec(message);
  return (unknown ? `unknown attribute '${unknown[1]}'` : GENERIC_DETAIL) + (OP_CONTEXT.exec(message)?.[0] ?? '');
}

/** What a handler threw, as the error the client is answered with (rendered by the app's error handler). */
export function handlerFailure(err: unknown, sink: DebugSink): Error {
  // SCIMMY's schema coercion reports bad values as TypeErrors, and its PatchOp wraps any error of an operation as a
  // 400 with that error's text.
  if (err instanceof TypeError && !(err as any).status) return scimError(400, 'invalidValue', clientDetail(sink, err.message));
  if (isScimmyError(err) && Number((err as any).status) === 400 && ENGINE_TEXT.test(err.message)) {
    return scimError(400, ((err as any).scimType ?? 'invalidValue') as ScimType, clientDetail(sink, err.message));
  }
  return toScimFailure(err);
}
