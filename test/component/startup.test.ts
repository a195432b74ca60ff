/**
 * Start-up as an operator meets it: a DATABASE_URL that cannot work is one line naming the setting (no stack, the
 * password masked) and a non-zero exit; `npm start` (the compiled server, exec'd by scripts/run-dist.sh) under a
 * process manager stops with the server when npm is sent SIGTERM, leaving nothing serving.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/server.ts';
import { ensureBuilt } from '../helpers/build.ts';

interface Exit { code: number | null; out: string; ms: number }

function run(cmd: string, args: string[], env: Record<string, string>): { proc: ChildProcess; exit: Promise<Exit>; output: () => string } {
  const t0 = Date.now();
  const proc = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, PORT: '0', HOST: '127.0.0.1', SCIM_TOKEN: 'startup-test-token-0123456789', ADMIN_TOKEN: '', LOG_LEVEL: 'info', PUBLIC_URL: '', GROUP_MAPPING_FILE: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d) => { out += d; });
  proc.stderr!.on('data', (d) => { out += d; });
  const exit = new Promise<Exit>((r) => proc.once('exit', (code) => r({ code, out, ms: Date.now() - t0 })));
  return { proc, exit, output: () => out };
}

/** The server with this DATABASE_URL, killed after 40 s if it neither starts nor exits. */
async function startWith(url: string): Promise<Exit> {
  const r = run(process.execPath, ['--import', 'tsx', 'src/main.ts'], { DATABASE_URL: url });
  const timer = setTimeout(() => r.proc.kill('SIGKILL'), 40_000);
  const e = await r.exit;
  clearTimeout(timer);
  return e;
}

function assertOneLine(e: Exit, expected: RegExp, secret?: string): void {
  const lines = e.out.trim().split('\n');
  assert.equal(lines.length, 1, `expected one line, got:\n${e.out}`);
  assert.match(lines[0]!, /DATABASE_URL/);
  assert.match(lines[0]!, expected);
  assert.doesNotMatch(e.out, /^\s+at /m, 'no stack trace');
  if (secret) assert.ok(!e.out.includes(secret), `the password leaked: ${e.out}`);
  assert.ok(e.code !== 0 && e.code !== null, `exit code ${e.code}`);
}

describe('a DATABASE_URL that cannot work stops start-up with one line', () => {
  test('SQLite: a path that cannot be opened (exit 78)', async () => {
    for (const url of ['sqlite:/dev/null/scim.db', `sqlite:${tmpdir()}`]) {
      const e = await startWith(url);
      assertOneLine(e, /^configuration error: DATABASE_URL sqlite:.*: unable to open database file$/);
      assert.equal(e.code, 78);
    }
  });

  test('PostgreSQL: database missing, role missing (exit 78); connection refused (exit 1); password masked', { skip: !process.env.TEST_DATABASE_URL }, async () => {
    const base = new URL(process.env.TEST_DATABASE_URL!);
    const missing = new URL(base); missing.pathname = '/scim_no_such_database_e';
    let e = await startWith(missing.toString());
    assertOneLine(e, /^configuration error: DATABASE_URL .*scim_no_such_database_e: database "scim_no_such_database_e" does not exist$/);
    assert.equal(e.code, 78);

    const role = `postgres://nosuchrole:p@ss@${base.host}${base.pathname}`;
    e = await startWith(role);
    assertOneLine(e, /^configuration error: DATABASE_URL postgres:\/\/\*\*\*@.*: role "nosuchrole" does not exist$/, 'p@ss');
    assert.equal(e.code, 78);

    const closed = await new Promise<number>((r) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => r(p)); }); });
    e = await startWith(`postgres://postgres:s3cret@127.0.0.1:${closed}/db`);
    assertOneLine(e, /^database unavailable: DATABASE_URL postgres:\/\/\*\*\*@127\.0\.0\.1:\d+\/db: connect ECONNREFUSED/, 's3cret');
    assert.equal(e.code, 1);
  });
});

/** Every process below `root` (from /proc: pid -> ppid). */
function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch { /* gone */ }
  }
  const out: number[] = [];
  const walk = (p: number) => { for (const [c, pp] of parent) if (pp === p) { out.push(c); walk(c); } };
  walk(root);
  return out;
}

/** Alive and not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

const listening = (port: number) => new Promise<boolean>((r) => {
  const s = net.connect(port, '127.0.0.1');
  s.once('connect', () => { s.destroy(); r(true); }).once('error', () => r(false));
});

test('npm start: SIGTERM to npm stops the server itself, nothing left serving', { skip: process.platform !== 'linux', timeout: 60_000 }, async () => {
  await ensureBuilt(); // npm start runs dist/ (compiling it first when stale, which this test is not about)
  const dir = mkdtempSync(join(tmpdir(), 'scim-start-'));
  const npm = run('npm', ['start'], { DATABASE_URL: `sqlite:${join(dir, 'scim.db')}` });
  let tree: number[] = [];
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm start did not listen:\n${npm.output()}`)), 30_000);
      npm.proc.stdout!.on('data', () => {
        const m = /"message":"listening"[^\n]*"port":(\d+)/.exec(npm.output()) ?? /"port":(\d+)[^\n]*"message":"listening"/.exec(npm.output());
        if (m) { clearTimeout(timer); resolve(Number(m[1])); }
      });
    });
    tree = descendants(npm.proc.pid!);
    assert.ok(tree.length >= 1, 'npm runs the server as a child');
    assert.ok(await listening(port));
    npm.proc.kill('SIGTERM');
    const e = await npm.exit;
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline && (tree.some(alive) || (await listening(port)))) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(tree.filter(alive), [], `processes left after npm exited (${e.code}): ${tree.filter(alive).map((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ')).join('; ')}`);
    assert.equal(await listening(port), false, 'something still listens on the server port');
    assert.match(npm.output(), /"message":"stopped"/, 'the server shut down gracefully');
  } finally {
    for (const p of tree) if (alive(p)) process.kill(p, 'SIGKILL');
    if (npm.proc.exitCode === null && npm.proc.signalCode === null) npm.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
