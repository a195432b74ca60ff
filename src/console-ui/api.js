// The console's only way to the server: the admin API (/admin/v1) and the session endpoints (/console/session).
// The session cookie is HttpOnly (this script never sees it); every request that changes something carries the
// session's CSRF token in X-CSRF-Token. A 401 from any call means the session is gone (idle timeout, sign-out
// elsewhere): the app goes back to the sign-in form. Failures are thrown as ApiError with the server's message.

let csrfToken = null;
let onExpired = () => {};

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Called by the app with the function that shows the sign-in form again. */
export function whenSessionExpires(fn) { onExpired = fn; }

async function call(method, url, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let res;
  try {
    res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
  } catch {
    throw new ApiError(0, 'network', 'The server did not answer: check that it is running.');
  }
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  if (res.ok) return json;
  const err = json?.error ?? {};
  // SCIM-format errors (the SCIM mount) carry detail and scimType; the admin API's carry code and message.
  const failure = new ApiError(res.status, err.code ?? json?.scimType ?? 'error', err.message ?? json?.detail ?? `${method} ${url} answered ${res.status}`);
  if (res.status === 401 && !url.startsWith('/console/session')) {
    csrfToken = null;
    onExpired();
  }
  throw failure;
}

/** The query string of the defined, non-empty values of `params`. */
export function query(params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

const admin = (path) => `/admin/v1${path}`;
export const get = (path, params) => call('GET', admin(path) + query(params));
export const post = (path, body = {}) => call('POST', admin(path), body);
export const put = (path, body = {}) => call('PUT', admin(path), body);
export const patch = (path, body = {}) => call('PATCH', admin(path), body);
export const del = (path) => call('DELETE', admin(path));

/** The current session, or null when there is none (a 401 `no_session`). */
export async function currentSession() {
  try {
    const s = await call('GET', '/console/session');
    csrfToken = s.csrfToken;
    return s;
  } catch (err) {
    if (err.status === 401) return null;
    throw err;
  }
}

export async function signIn(token) {
  const s = await call('POST', '/console/session', { token });
  csrfToken = s.csrfToken;
  return s;
}

export async function signOut() {
  try {
    await call('DELETE', '/console/session');
  } finally {
    csrfToken = null;
  }
}
