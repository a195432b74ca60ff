/**
 * Child processes under load: the real server (compiled, dist/src/main.js, or src/main.ts through tsx) or the bare
 * express baseline (bench/bare.ts), each a separate node process so its memory and CPU are its own. Also samples the
 * process's resident memory.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');

export interface Proc {
  pid: number;
  url: string;
  output(): string;
  stop(): Promise<void>;
}

/** A free loopback port (the server logs its port only at info level, and benches run at warn). */
async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

export interface StartOptions {
  /** A .ts file runs through tsx; a .js file (the compiled server, dist/src/main.js) with plain node, as production. */
  script: 'src/main.ts' | 'dist/src/main.js' | 'bench/bare.ts';
  env?: Record<string, string>;
  /** Directory for `node --cpu-prof` output, or undefined for no profile. */
  profileDir?: string;
}

export async function startProcess(opts: StartOptions): Promise<Proc> {
  const port = await freePort();
  const prof = opts.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.profileDir}`] : [];
  const loader = opts.script.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child: ChildProcess = spawn(process.execPath, [...prof, ...loader, opts.script], {
    cwd: ROOT,
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', PUBLIC_URL: '', LOG_LEVEL: 'warn', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer) => { out = (out + d).slice(-20_000); };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${opts.script} exited with ${child.exitCode}:\n${out}`);
    const ok = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${opts.script} did not answer /healthz within 60 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid: child.pid!,
    url,
    output: () => out,
    stop: () => new Promise<void>((done) => {
      if (child.exitCode !== null || child.signalCode !== null) return done();
      const force = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.once('exit', () => { clearTimeout(force); done(); });
      child.kill('SIGTERM'); // graceful: the CPU profile is written on a clean exit
    }),
  };
}

/** The process and its children (a cluster's primary and workers, WORKERS > 1), from /proc (Linux). */
export function treeOf(pid: number): number[] {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    return [pid, ...kids];
  } catch {
    return [pid];
  }
}

/** VmRSS and VmHWM in MB, from /proc (Linux), summed over the process and its children (every worker's memory). */
export function memoryOf(pid: number): { rss: number; hwm: number } {
  let rss = 0;
  let hwm = 0;
  for (const p of treeOf(pid)) {
    try {
      const s = readFileSync(`/proc/${p}/status`, 'utf8');
      const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? 0);
      rss += kb('VmRSS') / 1024;
      hwm += kb('VmHWM') / 1024;
    } catch {
      // gone: a worker that exited
    }
  }
  return { rss, hwm };
}

/** Samples VmRSS every 100 ms until stopped; returns the peak seen and the kernel's high-water mark. */
export function sampleMemory(pid: number): () => { peakRss: number; hwm: number } {
  let peak = memoryOf(pid).rss;
  const timer = setInterval(() => { peak = Math.max(peak, memoryOf(pid).rss); }, 100);
  return () => {
    clearInterval(timer);
    const m = memoryOf(pid);
    return { peakRss: Math.max(peak, m.rss), hwm: m.hwm };
  };
}

/**
 * CPU time used, user + system, in ms (/proc/<pid>/stat utime and stime, in clock ticks of 10 ms), summed over the
 * process and its children: with WORKERS > 1 the workers do the work, not the primary.
 */
export function cpuMsOf(pid: number): number {
  let ms = 0;
  for (const p of treeOf(pid)) {
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ms += (Number(f[11]) + Number(f[12])) * 10;
    } catch {
      // gone
    }
  }
  return ms;
}

/**
 * CPU time, in ms, of every process named `postgres` on this machine (backends, WAL writer, checkpointer): what a
 * PostgreSQL run costs the database, next to cpuMsOf's server figure. The local server is the bench's alone while it
 * runs, so the other processes' share is noise only when another session uses it too. 0 where /proc has none.
 */
export function postgresCpuMs(): number {
  let ms = 0;
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      if (!stat.includes('(postgres)')) continue;
      const f = stat.split(') ')[1]!.split(' ');
      ms += (Number(f[11]) + Number(f[12])) * 10;
    } catch {
      // gone
    }
  }
  return ms;
}

/**
 * dist/ brought up to date before the bench starts the compiled server: scripts/run-dist.sh's own check (compile only
 * when a source, a tsconfig or package.json is newer than dist/.built), then `node -e 0` in place of the server, as
 * test/helpers/build.ts does.
 */
export async function ensureBuilt(): Promise<void> {
  await new Promise<void>((ok, fail) => {
    execFile('sh', ['scripts/run-dist.sh', '-e', '0'], { cwd: ROOT, timeout: 300_000 }, (err, _out, stderr) =>
      err ? fail(new Error(`npm run build failed (use --source to bench src/ through tsx):\n${stderr}`)) : ok());
  });
}
