/**
 * A small HTTP client for replaying IdP traffic against a SCIM server.
 *
 * It uses node:http rather than fetch on purpose: fetch always adds headers of its own
 * (`accept: *\/*`, `accept-language`, `sec-fetch-mode`, ...), and the Entra replay must send
 * a GET with no Accept header at all (https://github.com/MicrosoftDocs/azure-docs/issues/94189).
 *
 * Every request is recorded as an {@link Exchange} (token masked, bodies cut to an excerpt),
 * so that a failing check can print exactly the request and response that broke it.
 */
import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';

export const EXCERPT_CHARS = 500;
const TIMEOUT_MS = 30_000;

/** Header set one client sends: which IdP we pretend to be. */
export interface Profile {
  readonly name: string;
  /** Accept header on every request; `undefined` sends none. */
  readonly accept?: string;
  /** Content-Type of JSON request bodies. */
  readonly contentType: string;
  readonly extraHeaders?: Readonly<Record<string, string>>;
}

export const PROFILES = {
  /** A plain RFC 7644 client (RFC 7644 §3.8: application/scim+json both ways). */
  rfc: { name: 'rfc', accept: 'application/scim+json', contentType: 'application/scim+json' },
  /**
   * Microsoft Entra provisioning: no Accept header on GETs (azure-docs#94189),
   * `application/scim+json; charset=utf-8` on writes (azure-docs#12728).
   */
  entra: { name: 'entra', contentType: 'application/scim+json; charset=utf-8' },
  /** Okta: full header set from OKTA-LEGACY and clients.md §2.1. */
  okta: {
    name: 'okta',
    accept: 'application/scim+json',
    contentType: 'application/scim+json; charset=utf-8',
    extraHeaders: {
      'User-Agent': 'Okta SCIM Client 1.0.0',
      'Accept-Charset': 'utf-8',
      'Accept-Encoding': 'gzip,deflate',
    },
  },
} as const satisfies Record<string, Profile>;

/** What one request/response pair looked like, safe to print (no token). */
export interface Exchange {
  request: { method: string; path: string; headers: Record<string, string>; body?: string };
  response?: { status: number; headers: Record<string, string>; body: string };
  error?: string;
}

export interface RequestOptions {
  /** Extra headers; a `null` value removes a header the profile would send. */
  headers?: Record<string, string | null>;
  /** JSON body (serialised with JSON.stringify, key order kept). */
  body?: unknown;
  /** Body sent verbatim (for malformed JSON and the like). */
  rawBody?: string;
  /** `token` (default): the run's bearer token; `none`: no Authorization header; or a literal bearer. */
  auth?: 'token' | 'none' | { bearer: string };
}

export interface ScimResponse {
  status: number;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  text: string;
  /** Parsed JSON body, or undefined when the body is empty or not JSON. */
  json: any;
  ms: number;
  exchange: Exchange;
  header(name: string): string | undefined;
}

/** Thrown when the server could not be reached or did not answer in time. */
export class NetworkError extends Error {
  constructor(
    message: string,
    readonly exchange: Exchange,
  ) {
    super(message);
    this.name = 'NetworkError';
  }
}

/** Holds the last exchange of the running check, and optional verbose logging. */
export class Recorder {
  last?: Exchange;
  constructor(public log?: (line: string) => void) {}
}

/** Removes every occurrence of secrets from text that will be printed or written. */
export class Scrubber {
  private readonly secrets: string[];
  constructor(secrets: string[]) {
    this.secrets = secrets.filter((s) => s.length >= 4);
  }
  scrub(text: string): string {
    let out = text;
    for (const s of this.secrets) out = out.split(s).join('***');
    return out;
  }
}

export function excerpt(text: string, max = EXCERPT_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max)}... (${text.length} chars)`;
}

interface Transport {
  httpAgent: http.Agent;
  httpsAgent: https.Agent;
  scrubber: Scrubber;
}

export function createTransport(scrubber: Scrubber): Transport & { close(): void } {
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 8 });
  return {
    httpAgent,
    httpsAgent,
    scrubber,
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

/**
 * SCIM client bound to a base URL, a token and an IdP profile.
 * Paths are relative to the base URL and sent as written, so tests control the encoding.
 */
export class ScimHttp {
  private readonly base: string;

  constructor(
    baseUrl: string,
    private readonly token: string,
    readonly profile: Profile,
    readonly recorder: Recorder,
    private readonly transport: Transport,
  ) {
    this.base = baseUrl.replace(/\/+$/, '');
  }

  /** Same server and token, different IdP header profile; shares the recorder. */
  as(profile: Profile): ScimHttp {
    return new ScimHttp(this.base, this.token, profile, this.recorder, this.transport);
  }

  /** Same everything, different recorder (one per check). */
  withRecorder(recorder: Recorder): ScimHttp {
    return new ScimHttp(this.base, this.token, this.profile, recorder, this.transport);
  }

  get baseUrl(): string {
    return this.base;
  }

  get(path: string, opts: RequestOptions = {}) {
    return this.request('GET', path, opts);
  }
  post(path: string, body: unknown, opts: RequestOptions = {}) {
    return this.request('POST', path, { ...opts, body });
  }
  put(path: string, body: unknown, opts: RequestOptions = {}) {
    return this.request('PUT', path, { ...opts, body });
  }
  patch(path: string, body: unknown, opts: RequestOptions = {}) {
    return this.request('PATCH', path, { ...opts, body });
  }
  delete(path: string, opts: RequestOptions = {}) {
    return this.request('DELETE', path, opts);
  }

  async request(method: string, path: string, opts: RequestOptions = {}): Promise<ScimResponse> {
    const url = new URL(/^https?:\/\//i.test(path) ? path : this.base + path);
    const headers: Record<string, string> = {};
    if (this.profile.accept) headers['Accept'] = this.profile.accept;
    Object.assign(headers, this.profile.extraHeaders ?? {});

    let payload: Buffer | undefined;
    if (opts.rawBody !== undefined) payload = Buffer.from(opts.rawBody, 'utf8');
    else if (opts.body !== undefined) payload = Buffer.from(JSON.stringify(opts.body), 'utf8');
    if (payload) {
      headers['Content-Type'] = this.profile.contentType;
      headers['Content-Length'] = String(payload.length);
    }
    for (const [k, v] of Object.entries(opts.headers ?? {})) {
      const existing = Object.keys(headers).find((h) => h.toLowerCase() === k.toLowerCase());
      if (existing) delete headers[existing];
      if (v !== null) headers[k] = v;
    }

    const auth = opts.auth ?? 'token';
    let authLabel: string | undefined;
    if (auth === 'token') {
      headers['Authorization'] = `Bearer ${this.token}`;
      authLabel = 'Bearer ***';
    } else if (auth !== 'none') {
      headers['Authorization'] = `Bearer ${auth.bearer}`;
      authLabel = 'Bearer <wrong token>';
    }

    const shownHeaders: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) {
      if (k === 'Authorization' || k === 'Content-Length') continue;
      shownHeaders[k] = v;
    }
    if (authLabel) shownHeaders['Authorization'] = authLabel;
    const scrub = (s: string) => this.transport.scrubber.scrub(s);
    const shownPath = url.pathname.startsWith(new URL(this.base).pathname)
      ? url.pathname.slice(new URL(this.base).pathname.length) + url.search
      : url.pathname + url.search;
    const exchange: Exchange = {
      request: {
        method,
        path: scrub(shownPath || '/'),
        headers: shownHeaders,
        ...(payload ? { body: scrub(excerpt(payload.toString('utf8'))) } : {}),
      },
    };
    this.recorder.last = exchange;

    const started = performance.now();
    let raw: { status: number; headers: http.IncomingHttpHeaders; body: Buffer };
    try {
      raw = await this.send(url, method, headers, payload);
    } catch (err) {
      exchange.error = scrub(describeNetworkError(err));
      this.recorder.log?.(`  -> ${method} ${exchange.request.path}  !! ${exchange.error}`);
      throw new NetworkError(exchange.error, exchange);
    }
    const ms = Math.round(performance.now() - started);

    const respHeaders: Record<string, string> = {};
    for (const [k, v] of Object.entries(raw.headers)) {
      if (v === undefined) continue;
      respHeaders[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
    }
    let bodyBuf = raw.body;
    const enc = respHeaders['content-encoding'];
    try {
      if (enc === 'gzip') bodyBuf = zlib.gunzipSync(bodyBuf);
      else if (enc === 'deflate') bodyBuf = zlib.inflateSync(bodyBuf);
    } catch {
      /* leave the body as it came */
    }
    const text = bodyBuf.toString('utf8');
    let json: any;
    if (text.trim() !== '') {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    const shownRespHeaders: Record<string, string> = {};
    for (const k of ['content-type', 'location', 'etag', 'www-authenticate', 'allow']) {
      if (respHeaders[k] !== undefined) shownRespHeaders[k] = scrub(respHeaders[k]);
    }
    exchange.response = { status: raw.status, headers: shownRespHeaders, body: scrub(excerpt(text)) };
    this.recorder.log?.(`  -> ${method} ${exchange.request.path}  <- ${raw.status} (${ms} ms)`);

    return {
      status: raw.status,
      headers: respHeaders,
      text,
      json,
      ms,
      exchange,
      header: (name: string) => respHeaders[name.toLowerCase()],
    };
  }

  private send(
    url: URL,
    method: string,
    headers: Record<string, string>,
    payload: Buffer | undefined,
  ): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
    const isHttps = url.protocol === 'https:';
    const mod = isHttps ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request(
        url,
        { method, headers, agent: isHttps ? this.transport.httpsAgent : this.transport.httpAgent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.setTimeout(TIMEOUT_MS, () => req.destroy(new Error(`no response within ${TIMEOUT_MS / 1000} s`)));
      req.on('error', reject);
      if (payload) req.write(payload);
      req.end();
    });
  }
}

function describeNetworkError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

/** `application/x-www-form-urlencoded` style: spaces as `+`, quotes as `%22` (what Entra sends). */
export function formEncode(s: string): string {
  return encodeURIComponent(s).replace(/%20/g, '+');
}

/** RFC 3986 percent-encoding: spaces as `%20` (what Okta sends). */
export function pctEncode(s: string): string {
  return encodeURIComponent(s);
}
