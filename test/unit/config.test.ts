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
