/**
 * SCIM errors (RFC 7644 §3.12): the factory SCIM code raises them with, the error body, and what a handler's failure
 * becomes. Every one is an AppError (src/errors/app-error.ts), rendered by the app's error handler.
 */
import SCIMMY from 'scimmy';
import { AppError, type ScimType } from '../../errors/app-error.js';
import { toAppError } from '../../errors/error-mapping.js';

export type { ScimType };

export const ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** A SCIM error: status, scimType (null where the RFC has none) and detail. */
export function scimError(status: number, scimType: ScimType | null, detail: string): AppError {
  return AppError.scim(status, scimType, detail);
}

export interface ErrorBody { schemas: string[]; status: string; scimType?: string; detail: string }

export function errorBody(status: number, scimType: string | null | undefined, detail: string): ErrorBody {
  return { schemas: [ERROR_SCHEMA], status: String(status), ...(scimType ? { scimType } : {}), detail };
}

export const isScimmyError = (e: unknown): e is InstanceType<typeof SCIMMY.Types.Error> => e instanceof SCIMMY.Types.Error;

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
  return toAppError(err);
}
