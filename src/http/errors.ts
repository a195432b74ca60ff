/**
 * The one error handler: whatever went wrong, the client gets a SCIM error body (RFC 7644 §3.12) with the right
 * status and scimType, never an HTML page or a stack trace.
 */
import type { NextFunction, Request, Response } from 'express';
import SCIMMY from 'scimmy';
import type { Logger } from '../log.js';
import { errorBody, HttpFailure, InternalFailure, isScimmyError, toScimFailure } from '../scim/errors.js';

export function sendError(res: Response, status: number, scimType: string | null | undefined, detail: string, headers: Record<string, string> = {}): void {
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.status(status).type('application/scim+json').send(JSON.stringify(errorBody(status, scimType, detail)));
}

/** body-parser errors carry a `type`; map them to SCIM. */
function fromBodyParser(err: any): HttpFailure | undefined {
  switch (err?.type) {
    case 'entity.parse.failed': return new HttpFailure(400, 'invalidSyntax', 'request body is not valid JSON');
    case 'entity.too.large': return new HttpFailure(413, null, `request body is larger than ${err.limit} bytes`);
    case 'encoding.unsupported':
    case 'charset.unsupported': return new HttpFailure(400, 'invalidSyntax', 'request body encoding is not supported');
    case 'request.aborted': return new HttpFailure(400, 'invalidSyntax', 'request aborted');
    case 'request.size.invalid': return new HttpFailure(400, 'invalidSyntax', 'request size did not match Content-Length');
    default: return undefined;
  }
}

export function errorHandler(log: Logger) {
  // Express recognises error handlers by their four parameters.
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    const failure = (res.locals.failure as Error | undefined) ?? fromBodyParser(err) ?? err;
    const f = failure instanceof SCIMMY.Types.Error || failure instanceof HttpFailure ? failure : toScimFailure(failure);
    if (f instanceof InternalFailure) log.error('unhandled error', { requestId: req.id, error: String((f.original as any)?.stack ?? f.original) });
    if (res.headersSent) return; // SCIMMY answered already and forwarded a 5xx only for logging
    if (f instanceof HttpFailure) return sendError(res, f.status, f.scimType, f.message, f.headers);
    if (isScimmyError(f)) return sendError(res, Number((f as any).status), (f as any).scimType, (f as any).message);
    sendError(res, 500, null, 'internal server error');
  };
}

export function notFound(req: Request, res: Response): void {
  sendError(res, 404, null, `no such endpoint: ${req.method} ${req.path.slice(0, 200)}`);
}
