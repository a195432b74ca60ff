/**
 * The production build for the tests whose subject it is (the compiled server and CLI, `npm start`, `npm run cli`,
 * the Dockerfile's paths): dist/ brought up to date once per test process by the same check `npm start` makes
 * (scripts/run-dist.sh compiles only when a source changed). Test files run in parallel, and two compiles into one
 * dist/ would delete each other's output, so a lock directory makes them take turns. Other tests run src/ with tsx.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './server.ts';

const LOCK = join(tmpdir(), `scim-build-lock-${createHash('sha256').update(ROOT).digest('hex').slice(0, 12)}`);
/** A compile takes a few seconds; a lock older than this was left by a killed test run. */
const STALE_MS = 120_000;

let built: Promise<void> | undefined;

async function lock(): Promise<void> {
  const deadline = Date.now() + 2 * STALE_MS;
  for (;;) {
    try {
      mkdirSync(LOCK);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > STALE_MS) rmSync(LOCK, { recursive: true, force: true });
      } catch { /* released meanwhile */ }
      if (Date.now() > deadline) throw new Error(`build lock ${LOCK} held too long`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** dist/ is current (compiled now if a source changed since the last build). */
export function ensureBuilt(): Promise<void> {
  built ??= (async () => {
    await lock();
    try {
      await new Promise<void>((resolve, reject) => {
        execFile('sh', ['scripts/run-dist.sh', '-e', '0'], { cwd: ROOT, timeout: 120_000 }, (err, _out, stderr) =>
          err ? reject(new Error(`the build failed: ${stderr}`)) : resolve());
      });
    } finally {
      rmSync(LOCK, { recursive: true, force: true });
    }
  })();
  return built;
}
