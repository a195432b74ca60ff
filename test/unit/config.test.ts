/** Settings validation: pure, no server. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig, maskDatabaseUrl } from '../../src/config/index.ts';

function configError(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail('no configuration error');
}

test('a DATABASE_URL whose password contains @ shows no part of the password in the config error', () => {
  const msg = configError({ DATABASE_URL: 'mysql://user:p@ss@host/db' });
  assert.match(msg, /^DATABASE_URL /);
  assert.ok(!msg.includes('ss@') && !msg.includes('p@') && !msg.includes(':p'), msg);
  assert.match(msg, /\*\*\*@host\/db/);
  for (const url of ['postgres://user:p@ss@host/db', 'postgres://u:s3cr/t@h:5432/db', 'postgres://u:x@y@z@h/db?sslmode=require', 'postgres://h/db?user=u&password=s3cret']) {
    const masked = maskDatabaseUrl(url);
    for (const secret of ['p@ss', 'ss@', 's3cr', 'x@y', 'y@z', 's3cret']) assert.ok(!masked.includes(secret), `${url} -> ${masked}`);
  }
  assert.equal(maskDatabaseUrl('postgres://user:p@ss@host/db'), 'postgres://***@host/db');
  assert.equal(maskDatabaseUrl('postgres://host/db'), 'postgres://host/db');
  assert.equal(maskDatabaseUrl('sqlite:./data/scim.db'), 'sqlite:./data/scim.db');
});

const MM = { MATTERMOST_URL: 'https://chat.example.com', MATTERMOST_TOKEN: 'abcdefghijklmnopqrstuvwxyz' };

test('without MATTERMOST_URL the connector is off; with it, the defaults hold', () => {
  assert.equal(loadConfig({}).mattermost, undefined);
  assert.deepEqual(loadConfig(MM).mattermost, {
    url: 'https://chat.example.com', token: MM.MATTERMOST_TOKEN, authService: '', authData: 'externalId', deleteMode: 'deactivate',
    reconcileIntervalMs: 0, concurrency: 4, maxRequestsPerSecond: 0, leaseMs: 30_000, requestTimeoutMs: 15_000,
  });
});

test('Mattermost settings: valid values are read as given', () => {
  const mm = loadConfig({
    ...MM, MATTERMOST_URL: 'http://10.0.0.5:8065/mm/api/v4/', MATTERMOST_AUTH_SERVICE: 'SAML', MATTERMOST_AUTH_DATA: 'email',
    MATTERMOST_DELETE: 'permanent', MATTERMOST_RECONCILE_INTERVAL: '1h', MATTERMOST_CONCURRENCY: '64', MATTERMOST_MAX_RPS: '10',
    MATTERMOST_LEASE: '2m', MATTERMOST_REQUEST_TIMEOUT: '500ms',
  }).mattermost!;
  // A trailing /api/v4 and slashes are taken off: Client4 adds /api/v4 itself.
  assert.equal(mm.url, 'http://10.0.0.5:8065/mm');
  assert.equal(mm.authService, 'saml');
  assert.equal(mm.authData, 'email');
  assert.equal(mm.deleteMode, 'permanent');
  assert.equal(mm.reconcileIntervalMs, 3_600_000);
  assert.equal(mm.concurrency, 64);
  assert.equal(mm.maxRequestsPerSecond, 10);
  assert.equal(mm.leaseMs, 120_000);
  assert.equal(mm.requestTimeoutMs, 500);
  assert.equal(loadConfig({ ...MM, MATTERMOST_AUTH_DATA: 'userName' }).mattermost!.authData, 'userName');
  assert.equal(loadConfig({ ...MM, MATTERMOST_RECONCILE_INTERVAL: '90' }).mattermost!.reconcileIntervalMs, 90_000, 'a bare number is seconds');
  assert.equal(loadConfig({ ...MM, MATTERMOST_LEASE: '0' }).mattermost!.leaseMs, 30_000, '0 is the default');
});

test('each invalid Mattermost setting is a ConfigError naming it, and never shows the token', () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ MATTERMOST_TOKEN: MM.MATTERMOST_TOKEN }, /^MATTERMOST_TOKEN is set but MATTERMOST_URL is not/],
    [{ MATTERMOST_URL: MM.MATTERMOST_URL }, /^MATTERMOST_URL is set but MATTERMOST_TOKEN is not/],
    [{ ...MM, MATTERMOST_URL: 'chat.example.com' }, /^MATTERMOST_URL must be an http\(s\) URL/],
    [{ ...MM, MATTERMOST_URL: 'ftp://chat.example.com' }, /^MATTERMOST_URL must be an http\(s\) URL without credentials/],
    [{ ...MM, MATTERMOST_URL: 'https://admin:hunter22@chat.example.com' }, /^MATTERMOST_URL must be an http\(s\) URL without credentials/],
    [{ ...MM, MATTERMOST_URL: 'https://chat.example.com/?x=1' }, /^MATTERMOST_URL must/],
    [{ ...MM, MATTERMOST_URL: 'https://chat.example.com/#top' }, /^MATTERMOST_URL must/],
    [{ ...MM, MATTERMOST_TOKEN: 'short' }, /^MATTERMOST_TOKEN must be a Mattermost token/],
    [{ ...MM, MATTERMOST_TOKEN: 'abcdefghijklmnop-qrstuvwxyz' }, /^MATTERMOST_TOKEN must be a Mattermost token/],
    [{ ...MM, MATTERMOST_AUTH_SERVICE: 'kerberos' }, /^MATTERMOST_AUTH_SERVICE must be one of/],
    [{ ...MM, MATTERMOST_AUTH_DATA: 'id' }, /^MATTERMOST_AUTH_DATA must be one of/],
    [{ ...MM, MATTERMOST_DELETE: 'purge' }, /^MATTERMOST_DELETE must be one of/],
    [{ ...MM, MATTERMOST_RECONCILE_INTERVAL: '30s' }, /^MATTERMOST_RECONCILE_INTERVAL must be 0 or between/],
    [{ ...MM, MATTERMOST_RECONCILE_INTERVAL: '8d' }, /^MATTERMOST_RECONCILE_INTERVAL must be 0 or between/],
    [{ ...MM, MATTERMOST_RECONCILE_INTERVAL: '1w' }, /^MATTERMOST_RECONCILE_INTERVAL must be a duration/],
    [{ ...MM, MATTERMOST_RECONCILE_INTERVAL: '8 days' }, /^MATTERMOST_RECONCILE_INTERVAL must be a duration/],
    [{ ...MM, MATTERMOST_RECONCILE_INTERVAL: '200h' }, /^MATTERMOST_RECONCILE_INTERVAL must be 0 or between/],
    [{ ...MM, MATTERMOST_CONCURRENCY: '0' }, /^MATTERMOST_CONCURRENCY must be between 1 and 64/],
    [{ ...MM, MATTERMOST_CONCURRENCY: '65' }, /^MATTERMOST_CONCURRENCY must be between 1 and 64/],
    [{ ...MM, MATTERMOST_CONCURRENCY: 'four' }, /^MATTERMOST_CONCURRENCY must be an integer/],
    [{ ...MM, MATTERMOST_MAX_RPS: '-1' }, /^MATTERMOST_MAX_RPS must be between 0 and 100000/],
    [{ ...MM, MATTERMOST_MAX_RPS: '1.5' }, /^MATTERMOST_MAX_RPS must be an integer/],
    [{ ...MM, MATTERMOST_LEASE: '500ms' }, /^MATTERMOST_LEASE must be 0 or between 1000 ms/],
    [{ ...MM, MATTERMOST_LEASE: '2h' }, /^MATTERMOST_LEASE must be 0 or between/],
    [{ ...MM, MATTERMOST_LEASE: 'soon' }, /^MATTERMOST_LEASE must be a duration/],
    [{ ...MM, MATTERMOST_REQUEST_TIMEOUT: '100ms' }, /^MATTERMOST_REQUEST_TIMEOUT must be 0 or between 500 ms/],
    [{ ...MM, MATTERMOST_REQUEST_TIMEOUT: '11m' }, /^MATTERMOST_REQUEST_TIMEOUT must be 0 or between/],
  ];
  for (const [env, want] of cases) {
    const msg = configError(env);
    assert.match(msg, want, JSON.stringify(env));
    assert.ok(!msg.includes(MM.MATTERMOST_TOKEN) && !msg.includes('hunter22'), msg);
  }
});

test('OAUTH_TOKEN_TTL: 60m to 360m, the window Entra checks; 59m and 361m are refused', () => {
  assert.equal(loadConfig({}).oauth.accessTokenTtlMs, 3_600_000, 'default 1h');
  assert.equal(loadConfig({ OAUTH_TOKEN_TTL: '6h' }).oauth.accessTokenTtlMs, 21_600_000);
  assert.equal(loadConfig({ OAUTH_TOKEN_TTL: '60m' }).oauth.accessTokenTtlMs, 3_600_000);
  assert.equal(loadConfig({ OAUTH_TOKEN_TTL: '360m' }).oauth.accessTokenTtlMs, 21_600_000);
  for (const bad of ['59m', '361m', '7h', '0', 'soon']) {
    assert.match(configError({ OAUTH_TOKEN_TTL: bad }), /^OAUTH_TOKEN_TTL must be a duration between 60m and 360m/, bad);
  }
});

test('console sessions: CONSOLE_IDLE_MINUTES 1-1440 (default 15), CONSOLE_SESSION_HOURS 1-168 (default 12), idle within the session', () => {
  assert.deepEqual(loadConfig({}).console, { idleMinutes: 15, sessionHours: 12 });
  assert.deepEqual(loadConfig({ CONSOLE_IDLE_MINUTES: '5', CONSOLE_SESSION_HOURS: '1' }).console, { idleMinutes: 5, sessionHours: 1 });
  for (const bad of ['0', '1441', '15m', 'soon']) assert.match(configError({ CONSOLE_IDLE_MINUTES: bad }), /^CONSOLE_IDLE_MINUTES must be/, bad);
  for (const bad of ['0', '169', '12h']) assert.match(configError({ CONSOLE_SESSION_HOURS: bad }), /^CONSOLE_SESSION_HOURS must be/, bad);
  assert.match(configError({ CONSOLE_IDLE_MINUTES: '90', CONSOLE_SESSION_HOURS: '1' }), /^CONSOLE_IDLE_MINUTES \(90\) must not be longer than CONSOLE_SESSION_HOURS/);
});
