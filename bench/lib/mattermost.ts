/**
 * The Mattermost contract fake (test/fakes/mattermost) in its own process, for `--connector`: the server under test
 * delivers into it over HTTP as it would into Mattermost, and the bench reads what it holds from its test-only
 * `GET /__fake/stats` (not part of Mattermost's API).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ROOT } from './server.js';
import type { FakeStats } from '../../test/fakes/mattermost/stats.ts';

export type { FakeStats };

export interface FakeProc {
  url: string;
  adminToken: string;
  pid: number;
  stats(): Promise<FakeStats>;
  stop(): Promise<void>;
}

/** `rateLimit` is Mattermost's RateLimitSettings (PerSec, MaxBurst), as "perSec,burst"; undefined for none. */
export async function startFake(rateLimit?: string): Promise<FakeProc> {
  const args = ['--import', 'tsx', 'test/fakes/mattermost/main.ts', '--port', '0', ...(rateLimit ? ['--rate-limit', rateLimit] : [])];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err = (err + d).slice(-4000); });
  const first = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`the Mattermost fake did not start within 30 s: ${err}`)), 30_000);
    child.once('exit', (code) => { clearTimeout(timer); fail(new Error(`the Mattermost fake exited with ${code}: ${err}`)); });
    createInterface({ input: child.stdout! }).once('line', (l) => { clearTimeout(timer); ok(l); });
  });
  const { url, adminToken } = JSON.parse(first) as { url: string; adminToken: string };
  return {
    url, adminToken, pid: child.pid!,
    stats: async () => {
      const r = await fetch(`${url}/__fake/stats`);
      if (!r.ok) throw new Error(`GET /__fake/stats answered ${r.status}`);
      return (await r.json()) as FakeStats;
    },
    stop: () => new Promise<void>((done) => {
      if (child.exitCode !== null || child.signalCode !== null) return done();
      const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
      child.once('exit', () => { clearTimeout(force); done(); });
      child.kill('SIGTERM');
    }),
  };
}
