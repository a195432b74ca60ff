/**
 * U+0000 anywhere in a parsed JSON body (key or value): PostgreSQL text cannot hold it (the statement fails deep in
 * the store, a 500), SQLite would store it and truncate it in places; no SCIM or admin field needs it.
 */
export function hasNul(v: unknown): boolean {
  const stack: unknown[] = [v];
  while (stack.length) {
    const node = stack.pop();
    if (typeof node === 'string') {
      if (node.includes('\u0000')) return true;
    } else if (node && typeof node === 'object') {
      for (const [k, child] of Object.entries(node)) {
        if (k.includes('\u0000')) return true;
        stack.push(child);
      }
    }
  }
  return false;
}

/** `%00` in the raw request target: a NUL once the path or query is decoded. */
export const NUL_IN_URL = /%00/;

/** Whether a request carries a body (RFC 9112 §6.3: Transfer-Encoding, or a non-zero Content-Length). */
export function hasBody(headers: { 'transfer-encoding'?: string; 'content-length'?: string }): boolean {
  return headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0');
}
