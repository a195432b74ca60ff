import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TOKEN = 'cli-test-secret-token-4711';

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env };
    delete env.SCIM_TOKEN;
    const child = spawn(process.execPath, ['--import', 'tsx', 'conformance/main.ts', ...args], { cwd: ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('an unreachable server is a clear error with exit code 2, and the token is not printed', async () => {
  const r = await runCli(['--url', 'http://127.0.0.1:9', '--token', TOKEN]);
  assert.equal(r.code, 2, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.match(r.stderr, /cannot reach the SCIM server at http:\/\/127\.0\.0\.1:9/);
  assert.match(r.stderr, /ECONNREFUSED/);
  assert.ok(!`${r.stdout}${r.stderr}`.includes(TOKEN), 'the token must never be printed');
});

test('a missing --url is a usage error with exit code 2', async () => {
  const r = await runCli(['--token', TOKEN]);
  assert.equal(r.code, 2, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
  assert.match(r.stderr, /--url is required/);
  assert.match(r.stderr, /Usage:/);
});

test('an unknown suite is a usage error with exit code 2', async () => {
  const r = await runCli(['--url', 'http://127.0.0.1:9', '--token', TOKEN, '--suite', 'google']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /unknown suite "google"/);
});
