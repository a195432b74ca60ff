/**
 * The one application error: what a client is told when a request fails. Every failure that reaches a client is an
 * AppError by the time it is rendered (src/errors/error-mapping.ts turns anything else into one), in one of the two
 * formats the server speaks, chosen by where the request came in (src/http/errors.ts):
 * - SCIM (RFC 7644 §3.12): `status`, `scimType` (null where the RFC has none) and `detail`;
 * - the admin API: `{"error":{"status","code","message"}}` with `code`, a stable snake_case name, and the detail.
 * `headers` go out with either (WWW-Authenticate, RFC 6750 §3; Retry-After, RFC 9110 §10.2.3; Allow, RFC 9110 §10.2.1).
 *
 * An error raised by SCIM code gets a `code` derived from its status; one raised by a workspace use-case gets a
 * `scimType` derived from its status and code, so either renders properly wherever it surfaces (the group mapping
 * rules run workspace use-cases inside SCIM requests).
 */

/** The scimType keywords of RFC 7644 §3.12, Table 9. */
export type ScimType =
  | 'invalidFilter' | 'tooMany' | 'uniqueness' | 'mutability' | 'invalidSyntax' | 'invalidPath'
  | 'noTarget' | 'invalidValue' | 'invalidVers' | 'sensitive';

export interface AppErrorInit {
  status: number;
  /** Derived from status (and code) when not given. */
  scimType?: ScimType | null;
  /** Derived from status when not given. */
  code?: string;
  detail: string;
  headers?: Record<string, string>;
  /** What went wrong underneath; for the log, never for the client. */
  cause?: unknown;
}

/** The admin API's code for a status, where the raiser named none. */
const STATUS_CODES: Record<number, string> = {
  400: 'invalid_request', 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 405: 'method_not_allowed',
  408: 'timeout', 409: 'conflict', 412: 'precondition_failed', 413: 'too_large', 415: 'unsupported_media_type',
  429: 'too_many_requests', 431: 'headers_too_large', 500: 'internal', 503: 'unavailable',
};

export const codeForStatus = (status: number): string => STATUS_CODES[status] ?? (status >= 500 ? 'internal' : 'error');

/**
 * The scimType a workspace error carries into a SCIM answer: a taken name is a uniqueness conflict; a 400 is a bad
 * value, or bad syntax when the body itself is not what was asked for; other statuses have none in RFC 7644.
 */
function scimTypeFor(status: number, code: string): ScimType | null {
  if (status === 409 && code === 'name_taken') return 'uniqueness';
  if (status === 400) return code === 'invalid_body' || code === 'invalid_json' ? 'invalidSyntax' : 'invalidValue';
  return null;
}

const INTERNAL_DETAIL = 'internal server error';

export class AppError extends Error {
  readonly status: number;
  readonly scimType: ScimType | null;
  readonly code: string;
  readonly headers: Readonly<Record<string, string>>;

  constructor(init: AppErrorInit) {
    super(init.detail, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'AppError';
    this.status = init.status;
    this.code = init.code ?? codeForStatus(init.status);
    this.scimType = init.scimType !== undefined ? init.scimType : scimTypeFor(init.status, this.code);
    this.headers = init.headers ?? {};
  }

  /** The text the client sees. The message itself, so code that rewords an error's message rewords its detail. */
  get detail(): string {
    return this.message;
  }

  /** A failure the server did not expect: logged with its cause where it is rendered, shown as a bare 500. */
  get internal(): boolean {
    return this.code === 'internal' && this.cause !== undefined;
  }

  /** An error raised by SCIM code: RFC 7644 status and scimType; the admin code follows from the status. */
  static scim(status: number, scimType: ScimType | null, detail: string, headers?: Record<string, string>): AppError {
    return new AppError({ status, scimType, detail, ...(headers ? { headers } : {}) });
  }

  /** An error raised by a workspace use-case: status and code; the scimType follows from them. */
  static workspace(status: number, code: string, message: string): AppError {
    return new AppError({ status, code, detail: message });
  }

  /** Anything the mapping does not know: the cause is for the log only. */
  static internal(cause: unknown): AppError {
    return new AppError({ status: 500, scimType: null, code: 'internal', detail: INTERNAL_DETAIL, cause: cause ?? null });
  }
}
