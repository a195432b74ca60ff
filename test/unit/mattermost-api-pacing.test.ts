/**
 * MattermostApi's pacing against a limiter that answers as Mattermost's does (server/channels/app/ratelimit.go):
 * a 429 with `Retry-After` (seconds) pauses every request until then; `X-RateLimit-Remaining: 0` waits about one
 * request's worth (reset / limit) before the next request; a request that gets no answer in time is a transient
 * failure that asks for at least the timeout before a retry.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MattermostApi, MattermostFailure } from '../../src/connector/mattermost-api.ts';

async function server(answer: (n: number, res: ServerResponse) => void) {
  const at: number[] = [];
  const s = createServer((_req, res) => { at.push(Date.now()); answer(at.length, res); });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  return { url, at, close: () => new Promise<void>((r) => { s.closeAllConnections(); s.close(() => r()); }) };
}
const api = (url: string, timeoutMs = 2000) => new MattermostApi({ url, token: 'tokentokentokentoken', requestTimeoutMs: timeoutMs, maxRequestsPerSecond: 0 });
const json = (res: ServerResponse, status: number, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(status < 300 ? { status: 'OK' } : { id: 'x', message: 'x', status_code: status }));
};

test('a 429 with Retry-After pauses the next request until it has passed', async () => {
  const s = await server((n, res) => {
    if (n === 1) { res.writeHead(429, { 'Content-Type': 'text/plain', 'Retry-After': '1' }); res.end('limit exceeded\n'); } else json(res, 200);
  });
  try {
    const a = api(s.url);
    await assert.rejects(a.call('GET', `${s.url}/api/v4/system/ping`), (e) => e instanceof MattermostFailure && e.kind === 'rate_limited');
    assert.equal((await a.call('GET', `${s.url}/api/v4/system/ping`)).status, 200);
    assert.ok(s.at[1]! - s.at[0]! >= 950, `the second request waited out Retry-After (${s.at[1]! - s.at[0]!} ms)`);
  } finally {
    await s.close();
  }
});

test('an empty bucket waits one request\'s worth, not the whole reset', async () => {
  const s = await server((n, res) => json(res, 200, n === 1 ? { 'X-RateLimit-Limit': '4', 'X-RateLimit-Remaining': '0', 'X-RateLimit-Reset': '2' } : {}));
  try {
    const a = api(s.url);
    await a.call('GET', `${s.url}/a`);
    await a.call('GET', `${s.url}/b`);
    const gap = s.at[1]! - s.at[0]!;
    assert.ok(gap >= 450 && gap < 1500, `waited about reset / limit = 500 ms (${gap} ms)`);
  } finally {
    await s.close();
  }
});

test('no answer in time is transient and asks to wait at least the timeout', async () => {
  const s = await server(() => { /* never answers */ });
  try {
    await assert.rejects(api(s.url, 300).call('GET', `${s.url}/slow`), (e) => e instanceof MattermostFailure && e.kind === 'transient' && e.retryAfterMs === 300 && /timed out/.test(e.message));
  } finally {
    await s.close();
  }
});
