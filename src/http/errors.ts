/**
 * The one error handler: whatever went wrong, the client gets a SCIM error body (RFC 7644 §3.12) with the right
 * status and scimType, never an HTML page or a stack trace.
 */
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { NextFunction, Request, Response } from 'express';
import SCIMMY from 'scimmy';
import type { Logger } from '../log.js';
import { errorBody, HttpFailure, InternalFailure, isScimmyError, toScimFailure } from '../scim/shared/errors.js';

export function sendError(res: Response, status: number, scimType: string | null | undefined, detail: string, headers: Record<string, string> = {}): void {
  res.locals.errorDetail = detail; // for the access log (request-context.ts)
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
    default: return fromHttpError(err);
  }
}

/**
 * Other client errors raised with an HTTP status by the layers under us (http-errors style `status`): the router's
 * URIError for a path that is not valid percent-encoding, body-parser's 400 for a body that fails to decompress
 * (Content-Encoding: gzip/deflate/br with other bytes). They are the client's fault: a 4xx, never a 500.
 */
function fromHttpError(err: any): HttpFailure | undefined {
  if (isScimmyError(err) || err instanceof HttpFailure) return undefined;
  const status = Number(err?.status ?? err?.statusCode);
  if (!Number.isInteger(status) || status < 400 || status > 499) return undefined;
  if (err instanceof URIError) return new HttpFailure(400, null, 'the request path is not valid percent-encoded UTF-8');
  if (status === 400 || status === 415) return new HttpFailure(400, 'invalidSyntax', 'the request body could not be read (content encoding or framing is invalid)');
  return new HttpFailure(status, null, err?.expose && typeof err.message === 'string' ? err.message.slice(0, 200) : 'the request was refused');
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

/**
 * `clientError` of the HTTP server: requests Node's parser refuses before Express sees them (a request line or
 * headers over 16 KiB, broken framing, a header timeout) get a SCIM error body too, instead of a bare status line.
 */
export function onClientError(err: Error & { code?: string }, socket: Duplex): void {
  const inProgress = (socket as any)._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || (inProgress && inProgress.headersSent)) {
    socket.destroy();
    return;
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const detail = status === 431 ? 'request line and headers are too large' : status === 408 ? 'request timed out' : 'malformed HTTP request';
  const body = JSON.stringify(errorBody(status, null, detail));
  const head = /^HEAD /.test(String((err as any).rawPacket?.subarray?.(0, 5) ?? ''));
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/scim+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${head ? '' : body}`);
}

export function notFound(req: Request, res: Response): void {
  sendError(res, 404, null, `no such endpoint: ${req.method} ${req.path.slice(0, 200)}`);
}
