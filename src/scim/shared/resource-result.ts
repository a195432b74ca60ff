/**
 * What a SCIM resource handler (src/scim/resources/) answers; the HTTP adapter (src/http/resource-routes.ts) writes
 * it. The status is the route's: 200, 201 for a POST that creates, 204 for DELETE and for a PATCH without a body.
 */
export interface ResourceResult {
  /** The response body: a resource or a ListResponse (RFC 7644 §3.4.2); none for a 204. */
  body?: unknown;
  /**
   * The body as JSON text in pieces, instead of `body`, for a resource too large to hold in memory at once (a group
   * with all its members). The adapter writes it with backpressure; an error partway destroys the connection, so
   * the client sees a truncated response rather than a valid-looking one.
   */
  stream?: AsyncIterable<string>;
  /** The resource's version, sent as its ETag (RFC 7644 §3.14). */
  version?: number;
  /** A created resource's URI, sent as Location (RFC 7644 §3.3). */
  location?: string;
}
