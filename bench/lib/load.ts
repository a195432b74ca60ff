/**
 * Load generation: autocannon (in-process) for fixed request mixes, and a latency recorder for scripted workers
 * (the Entra replay) that need a response before choosing the next request. Latencies are recorded per response,
 * so p50/p95/p99 are exact rather than autocannon's fixed percentile buckets (it has no p95).
 */
import autocannon from 'autocannon';

export interface LoadResult {
  requests: number;
  seconds: number;
  rps: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** Connection errors and timeouts. */
  errors: number;
  /** Responses outside 2xx, by status. */
  non2xx: number;
  statuses: Record<string, number>;
}

export class Recorder {
  private latencies: number[] = [];
  private statuses: Record<string, number> = {};
  private errors = 0;
  private first = Infinity;
  private last = 0;
  private closed = 0;

  /** A response that took `ms`; a span runs from the first request sent to the last response. */
  record(ms: number, status: number): void {
    const now = performance.now();
    this.first = Math.min(this.first, now - ms);
    this.last = now;
    this.latencies.push(ms);
    this.statuses[status] = (this.statuses[status] ?? 0) + 1;
  }

  error(n = 1): void {
    this.errors += n;
  }

  /** End a span: the next responses start a new one, and only time inside spans counts towards requests/s. */
  closeSpan(): void {
    if (this.last > this.first) this.closed += this.last - this.first;
    this.first = Infinity;
    this.last = 0;
  }

  result(): LoadResult {
    const seconds = (this.closed + (this.last > this.first ? this.last - this.first : 0)) / 1000;
    const sorted = Float64Array.from(this.latencies).sort();
    const at = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]! : 0);
    const non2xx = Object.entries(this.statuses).filter(([s]) => !s.startsWith('2')).reduce((n, [, c]) => n + c, 0);
    return {
      requests: sorted.length,
      seconds,
      rps: seconds ? sorted.length / seconds : 0,
      p50: at(0.5),
      p95: at(0.95),
      p99: at(0.99),
      max: sorted.length ? sorted[sorted.length - 1]! : 0,
      errors: this.errors,
      non2xx,
      statuses: { ...this.statuses },
    };
  }
}

export interface LoadOptions {
  url: string;
  token: string;
  connections: number;
  /** Seconds to run; with `amount`, an upper bound. */
  duration: number;
  /** Stop after this many responses. */
  amount?: number;
  requests: autocannon.Request[];
}

/** Run autocannon against `url` and record every response (into `rec`, to add this run to earlier ones). */
export async function load(o: LoadOptions, rec = new Recorder()): Promise<LoadResult> {
  let done!: (r: autocannon.Result) => void;
  let failed!: (e: unknown) => void;
  const finished = new Promise<autocannon.Result>((ok, fail) => { done = ok; failed = fail; });
  const instance = autocannon({
    url: o.url,
    connections: o.connections,
    ...(o.amount ? { amount: o.amount } : { duration: o.duration }),
    headers: { authorization: `Bearer ${o.token}`, 'content-type': 'application/scim+json' },
    requests: o.requests,
    timeout: 30,
  }, (err, result) => (err ? failed(err) : done(result)));
  instance.on('response', (_client, status, _bytes, ms) => rec.record(ms, status));
  const cap = o.amount ? setTimeout(() => instance.stop(), o.duration * 1000) : undefined;
  const result = await finished;
  clearTimeout(cap);
  rec.error(result.errors); // autocannon counts timeouts among errors
  rec.closeSpan();
  return rec.result();
}

/**
 * Two or more request mixes compared with each other (issue 3's 10 vs 100,000 members, big vs empty groups): run in
 * alternating slices, so a change in background load on the machine falls on each alike.
 */
export async function interleave(o: Omit<LoadOptions, 'requests'>, arms: autocannon.Request[][], slices = 3): Promise<LoadResult[]> {
  const recs = arms.map(() => new Recorder());
  for (let s = 0; s < slices; s++) {
    for (const [i, requests] of arms.entries()) await load({ ...o, duration: o.duration / slices, requests }, recs[i]);
  }
  return recs.map((r) => r.result());
}

/** One request from a scripted worker, timed and recorded; returns the status and parsed body. */
export async function call(rec: Recorder, token: string, method: string, url: string, body?: unknown): Promise<{ status: number; body: any }> {
  const t = performance.now();
  try {
    const res = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/scim+json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    rec.record(performance.now() - t, res.status);
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  } catch (err) {
    rec.error();
    throw err;
  }
}
