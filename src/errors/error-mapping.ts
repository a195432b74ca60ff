/**
 * The one mapping from anything thrown to the AppError a client is answered with. Known failures keep the status
 * and wording their clients have seen; anything else is a 500 whose text never reaches the client (the cause stays
 * on the error for the log).
 *
 * The SCIM API and the admin API were written with their own wording for the failures of the layers under them
 * (body-parser, the router, the database), and clients and tests read them: the table below keeps each mount's.
 */
import SCIMMY from 'scimmy';
import { classifyDbError } from '../store/db.js';
import { AppError, codeForStatus, type ScimType } from './app-error.js';

/** Where a request came in; it decides the wording below and the renderer (src/http/errors.ts). */
/** `oauth` (RFC 6749 §5.2 bodies) speaks of the layers under it in the admin API's words. */
export type Mount = 'scim' | 'admin' | 'oauth';

type Wording = { status: number; scimType: ScimType | null; code: string; detail: string };
const w = (status: number, scimType: ScimType | null, code: string, detail: string): Wording => ({ status, scimType, code, detail });

/** body-parser errors, by their `type`; a type not listed falls through to its http-errors status. */
const BODY_PARSER: Record<'scim' | 'admin', Record<string, (err: { limit?: unknown }) => Wording>> = {
  scim: {
    'entity.parse.failed': () => w(400, 'invalidSyntax', 'invalid_json', 'request body is not valid JSON'),
    'entity.too.large': (err) => w(413, null, 'too_large', `request body is larger than ${err.limit} bytes`),
    'encoding.unsupported': () => w(400, 'invalidSyntax', 'unsupported_encoding', 'request body encoding is not supported'),
    'charset.unsupported': () => w(400, 'invalidSyntax', 'unsupported_encoding', 'request body encoding is not supported'),
    'request.aborted': () => w(400, 'invalidSyntax', 'invalid_body', 'request aborted'),
    'request.size.invalid': () => w(400, 'invalidSyntax', 'invalid_body', 'request size did not match Content-Length'),
  },
  admin: {
    'entity.parse.failed': () => w(400, 'invalidSyntax', 'invalid_json', 'the request body is not valid JSON'),
    'entity.too.large': () => w(413, null, 'too_large', 'the request body is too large'),
    'charset.unsupported': () => w(415, null, 'unsupported_encoding', 'the request body encoding is not supported'),
    'encoding.unsupported': () => w(415, null, 'unsupported_encoding', 'the request body encoding is not supported'),
  },
};

const UNREADABLE = 'the request body could not be read (content encoding or framing is invalid)';
const BAD_PATH = 'the request path is not valid percent-encoded UTF-8';

/**
 * Other client errors raised with an HTTP status by the layers under us (http-errors style `status`): the router's
 * URIError for a path that is not valid percent-encoding, body-parser's 400 for a body that fails to decompress
 * (Content-Encoding: gzip/deflate/br with other bytes). They are the client's fault: a 4xx, never a 500.
 */
function fromHttpStatus(err: any, mount: Mount): Wording | undefined {
  if (mount !== 'scim') {
    if (err instanceof URIError) return w(400, null, 'invalid_path', BAD_PATH);
    const status = Number(err?.status);
    return status >= 400 && status < 500 ? w(400, 'invalidSyntax', 'invalid_body', UNREADABLE) : undefined;
  }
  const status = Number(err?.status ?? err?.statusCode);
  if (!Number.isInteger(status) || status < 400 || status > 499) return undefined;
  if (err instanceof URIError) return w(400, null, 'invalid_path', BAD_PATH);
  if (status === 400 || status === 415) return w(400, 'invalidSyntax', 'invalid_body', UNREADABLE);
  const detail = err?.expose && typeof err.message === 'string' ? err.message.slice(0, 200) : 'the request was refused';
  return w(status, null, codeForStatus(status), detail);
}

/** Messages for unique indexes, by index name (PostgreSQL) or column list (SQLite). */
const UNIQUE_MESSAGES: [RegExp, string][] = [
  [/users_user_name_active|users\.user_name_fold/, 'userName is already taken'],
  [/users_external_id_unique|users\.external_id/, 'externalId is already bound to another user'],
  [/users_email_active|users\.email/, 'email is already used by another user'],
  [/groups_external_id_unique|groups\.external_id/, 'externalId is already bound to another group'],
];

/**
 * Database errors (classified by the store): on the SCIM API a unique violation is 409 uniqueness naming what is
 * taken, an unreachable or too slow database 503 with Retry-After, a value the column cannot take 400, a transaction
 * the database aborted for a concurrent one 409. The admin API's use-cases turn the violations they expect into
 * their own errors, so there only an unreachable database is known.
 */
function fromDatabase(err: unknown, mount: Mount): AppError | undefined {
  const kind = classifyDbError(err);
  if (mount !== 'scim') {
    return kind.kind === 'unavailable' ? new AppError({ status: 503, scimType: null, code: 'unavailable', detail: 'the database is unavailable; retry', cause: err }) : undefined;
  }
  switch (kind.kind) {
    case 'unique': {
      const detail = UNIQUE_MESSAGES.find(([re]) => re.test(kind.constraint))?.[1] ?? 'a unique attribute is already taken';
      return new AppError({ status: 409, scimType: 'uniqueness', code: 'conflict', detail, cause: err });
    }
    case 'unavailable':
      return new AppError({ status: 503, scimType: null, code: 'unavailable', detail: 'the identity store is unavailable; retry later', headers: { 'Retry-After': '5' }, cause: err });
    case 'invalidData':
      return new AppError({ status: 400, scimType: 'invalidValue', code: 'invalid_value', detail: 'a value is too long or not valid for its attribute', cause: err });
    case 'concurrency':
      return new AppError({ status: 409, scimType: null, code: 'conflict', detail: 'the resource changed concurrently; retry', cause: err });
    default:
      return undefined;
  }
}

/**
 * SCIMMY's own error (schema validation, PatchOp, its routers): a 4xx with its status, scimType and message as they
 * are. A 5xx is SCIMMY reporting a fault of its own, in the engine's words: internal.
 */
function fromScimmy(err: InstanceType<typeof SCIMMY.Types.Error>): AppError {
  const status = Number((err as { status?: unknown }).status);
  const scimType = ((err as { scimType?: unknown }).scimType || null) as ScimType | null;
  return Number.isInteger(status) && status >= 400 && status <= 499 ? AppError.scim(status, scimType, err.message) : AppError.internal(err);
}

/**
 * Anything thrown, as the AppError the client gets. `mount` picks the wording for failures of the layers under us
 * (see the table above); an AppError or a SCIMMY error reads the same on both.
 */
export function toAppError(err: unknown, mount: Mount = 'scim'): AppError {
  if (err instanceof AppError) return err;
  if (err instanceof SCIMMY.Types.Error) return fromScimmy(err);
  const type = (err as { type?: unknown } | null)?.type;
  const table = BODY_PARSER[mount === 'scim' ? 'scim' : 'admin'];
  const bodyParser = typeof type === 'string' && Object.hasOwn(table, type) ? table[type]!(err as { limit?: unknown }) : undefined;
  const known = bodyParser ?? fromHttpStatus(err, mount);
  if (known) return new AppError({ ...known, cause: err });
  return fromDatabase(err, mount) ?? AppError.internal(err);
}
