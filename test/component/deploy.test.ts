/**
 * The deployment recipes (issue 16 §2), tested as far as a machine without a Docker engine allows: the Dockerfile
 * lints clean (dockerfile-utils, the linter behind the VS Code Docker extension), everything it copies exists and
 * is not hidden by .dockerignore, the build stage copies what `npm run build` reads, the compiled code imports only
 * production dependencies, the runtime stage runs plain node on a file the build makes, as a user other than root,
 * and its HEALTHCHECK command tells a serving server from a missing one. The compose file, the systemd unit and the
 * proxy examples name only settings the server has, and agree with its defaults.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, posix, relative, resolve } from 'node:path';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import * as yaml from 'js-yaml';
import { createDatabase, ROOT, spawnServer } from '../helpers/server.ts';
import { ensureBuilt } from '../helpers/build.ts';
import { loadConfig } from '../../src/config/index.ts';

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const DEFAULTS = loadConfig({});
/** Every setting the server reads: .env.example lists them all (src/config/index.ts says so). */
const SETTINGS = new Set([...read('.env.example').matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]!));
const PKG = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };

interface Stage { name: string; workdir: string; instructions: Instruction[] }

/** The Dockerfile's stages in order, each with its instructions and its last WORKDIR. */
function stages(): Stage[] {
  const out: Stage[] = [];
  for (const i of DockerfileParser.parse(read('Dockerfile')).getInstructions()) {
    const args = i.getArguments().map((a) => a.getValue());
    if (i.getKeyword() === 'FROM') out.push({ name: args[2] ?? `stage${out.length}`, workdir: '/', instructions: [] });
    const stage = out.at(-1);
    if (!stage) continue; // ARG before the first FROM
    stage.instructions.push(i);
    if (i.getKeyword() === 'WORKDIR') stage.workdir = posix.resolve(stage.workdir, args[0]!);
  }
  return out;
}

const argsOf = (i: Instruction) => i.getArguments().map((a) => a.getValue());
const ofKind = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.getKeyword() === keyword);
/** COPY's sources (every argument but the last) and its --from stage, if any. */
const copyOf = (i: Instruction) => ({ from: (i as any).getFromFlag()?.getValue() as string | undefined, sources: argsOf(i).slice(0, -1) });
/** A JSON-form argument list (CMD ["node", ...]); the instruction's flags and the CMD keyword of HEALTHCHECK come off. */
function jsonForm(i: Instruction): string[] {
  const raw = (i.getRawArgumentsContent() ?? '').replace(/\\\n/g, ' ');
  const json = /(\[.*\])\s*$/s.exec(raw);
  assert.ok(json, `${i.getKeyword()} is not in JSON (exec) form: ${raw}`);
  return JSON.parse(json[1]!);
}

/** .dockerignore's patterns as a predicate (names, `*` globs; what this repository's file uses). */
function dockerIgnored(): (path: string) => boolean {
  const patterns = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const regexes = patterns.map((p) => new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*')}(/.*)?$`));
  return (path) => regexes.some((r) => r.test(path.replace(/^\.\//, '').replace(/\/$/, '')));
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : [join(dir, e.name)]));
}

describe('Dockerfile', () => {
  before(ensureBuilt);

  test('lints clean with dockerfile-utils, which does flag a broken Dockerfile', () => {
    assert.deepEqual(validate(read('Dockerfile')).map((d) => `line ${d.range.start.line + 1}: ${d.message}`), []);
    const broken = validate('FROM node:22 AS build\nEXPOSE eighty\nHEALTHCHECK --interval=5 CMD true\nCOPY onlyone\n');
    assert.ok(broken.length >= 3, `the linter found only: ${broken.map((d) => d.message).join('; ')}`);
  });

  test('two stages: the build stage copies what npm run build reads before running it', () => {
    const [build, runtime, ...more] = stages();
    assert.ok(build && runtime && more.length === 0, 'a build stage and a runtime stage');
    const copied = new Set(ofKind(build, 'COPY').flatMap((i) => copyOf(i).sources));
    const buildConfig = JSON.parse(read('tsconfig.build.json')) as { extends: string; include: string[] };
    for (const needed of ['package.json', 'package-lock.json', 'tsconfig.build.json', posix.normalize(buildConfig.extends), ...buildConfig.include]) {
      assert.ok(copied.has(needed), `the build stage does not copy ${needed}`);
    }
    const runs = ofKind(build, 'RUN').map((i) => argsOf(i).join(' '));
    assert.ok(runs.some((r) => /^npm ci\b/.test(r) && !r.includes('--omit=dev')), 'the build stage installs the dev dependencies');
    assert.ok(runs.some((r) => r.includes('npm run build')), 'the build stage runs npm run build');
  });

  test('every COPY source exists and is in the build context; --from=build copies what the build made', () => {
    const ignored = dockerIgnored();
    const all = stages();
    for (const stage of all) {
      for (const copy of ofKind(stage, 'COPY').map(copyOf)) {
        for (const source of copy.sources) {
          if (!copy.from) {
            assert.ok(existsSync(join(ROOT, source)), `COPY ${source}: not in the repository`);
            assert.ok(!ignored(source), `COPY ${source}: .dockerignore leaves it out of the build context`);
            continue;
          }
          const from = all.find((s) => s.name === copy.from);
          assert.ok(from, `COPY --from=${copy.from}: no such stage`);
          // The build stage's WORKDIR is the repository root as the build sees it.
          const inRepo = relative(from.workdir, posix.resolve(from.workdir, source));
          assert.ok(!inRepo.startsWith('..'), `COPY --from=${copy.from} ${source}: outside ${from.workdir}`);
          assert.ok(existsSync(join(ROOT, inRepo)), `COPY --from=${copy.from} ${source}: ${inRepo} does not exist after npm run build`);
        }
      }
    }
    assert.ok(ignored('.env') && ignored('node_modules') && ignored('data/scim.db'), 'secrets, data and node_modules stay out of the context');
  });

  test('runtime: production dependencies only, and the compiled code imports nothing else', () => {
    const runtime = stages()[1]!;
    const install = ofKind(runtime, 'RUN').map((i) => argsOf(i).join(' ')).find((r) => /^npm ci\b/.test(r));
    assert.match(install ?? '', /^npm ci --omit=dev --omit=optional\b/);
    // What that installs: the lockfile's packages marked neither dev nor optional (devOptional is both: kept by
    // --omit=dev alone, which is how TypeScript, an optional peer of @mattermost/client, would get in).
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { dev?: boolean; optional?: boolean; devOptional?: boolean }> };
    const installed = new Set(Object.entries(lock.packages).filter(([path, p]) => path && !p.dev && !p.optional && !p.devOptional).map(([path]) => path));
    for (const tool of ['tsx', 'typescript', 'dockerfile-utils']) assert.ok(!installed.has(`node_modules/${tool}`), `${tool} is not in the image`);
    assert.ok(installed.has('node_modules/better-sqlite3') && installed.has('node_modules/pg'));
    const imported = new Set<string>();
    for (const file of files(join(ROOT, 'dist')).filter((f) => f.endsWith('.js'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/(?:^|\s)(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm)) {
        const spec = m[1] ?? m[2] ?? m[3]!;
        if (spec.startsWith('.') || spec.startsWith('node:') || builtinModules.includes(spec)) continue;
        imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    }
    assert.ok(imported.has('knex') && imported.has('express'), `the scan found the imports: ${[...imported].join(', ')}`);
    const missing = [...imported].filter((p) => !PKG.dependencies[p] || !installed.has(`node_modules/${p}`));
    assert.deepEqual(missing, [], 'imported by dist/ but not installed in the image');
  });

  test('runtime: plain node on the built entry point, not root, /data volume, settings and port that fit', () => {
    const runtime = stages()[1]!;
    const cmd = ofKind(runtime, 'CMD');
    assert.equal(cmd.length, 1);
    const [node, entry, ...rest] = jsonForm(cmd[0]!);
    assert.equal(node, 'node', 'CMD runs node itself (exec form: no shell, no npm between SIGTERM and the server)');
    assert.deepEqual(rest, []);
    assert.equal(entry, 'dist/src/main.js');
    assert.ok(existsSync(join(ROOT, entry!)), `${entry} exists after npm run build`);
    const workdir = runtime.workdir;
    assert.equal(workdir, '/app');

    const user = ofKind(runtime, 'USER').map((i) => argsOf(i)[0]!).at(-1);
    assert.ok(user && !/^(root|0)(:|$)/.test(user), `runs as ${user ?? 'root (no USER)'}`);
    assert.deepEqual(ofKind(runtime, 'VOLUME').flatMap((i) => jsonForm(i)), ['/data']);

    const env = Object.fromEntries(ofKind(runtime, 'ENV').flatMap(argsOf).map((kv) => kv.split(/=(.*)/s).slice(0, 2) as [string, string]));
    for (const name of Object.keys(env)) assert.ok(name === 'NODE_ENV' || SETTINGS.has(name), `ENV ${name} is not a setting of the server`);
    assert.match(env.DATABASE_URL!, /^sqlite:\/data\//, 'the SQLite store is in the volume');
    assert.equal(env.HOST, '0.0.0.0', 'reachable from outside the container');
    const config = loadConfig(env);
    assert.deepEqual(ofKind(runtime, 'EXPOSE').flatMap(argsOf), [String(config.port)]);
  });

  test('HEALTHCHECK runs node\'s fetch on /healthz: exit 0 while the server serves, 1 when nothing listens', { timeout: 60_000 }, async () => {
    const check = ofKind(stages()[1]!, 'HEALTHCHECK');
    assert.equal(check.length, 1);
    const [node, ...args] = jsonForm(check[0]!);
    assert.equal(node, 'node');
    assert.ok(args.join(' ').includes('/healthz'));
    const run = (port: number) => new Promise<number | null>((r) => {
      execFile(process.execPath, args, { env: { ...process.env, PORT: String(port) }, timeout: 20_000 }, (err) => r(err ? (err as any).code ?? null : 0));
    });
    // /healthz touches no database: one store is enough here.
    const db = await createDatabase('sqlite');
    const server = await spawnServer('sqlite', db, { compiled: true });
    try {
      assert.equal(await run(Number(new URL(server.url).port)), 0);
    } finally {
      await server.stop();
      await db.drop();
    }
    const closed = await new Promise<number>((r) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => r(p)); }); });
    assert.equal(await run(closed), 1);
  });
});

describe('deploy/compose.yaml', () => {
  const compose = yaml.load(read('deploy/compose.yaml')) as any;
  const scim = compose.services.scim;

  test('PostgreSQL with a healthcheck; the server waits for it to be healthy', () => {
    assert.match(compose.services.db.image, /^postgres:\d+/);
    assert.match(compose.services.db.healthcheck.test.join(' '), /pg_isready/);
    assert.equal(scim.depends_on.db.condition, 'service_healthy');
    assert.match(scim.environment.DATABASE_URL, /^postgres:\/\/[^@]+@db:5432\//);
  });

  test('builds this repository\'s Dockerfile, names only real settings, and gives SIGTERM time to drain', () => {
    assert.ok(existsSync(join(resolve(ROOT, 'deploy', scim.build.context), scim.build.dockerfile)));
    for (const name of Object.keys(scim.environment)) assert.ok(SETTINGS.has(name), `${name} is not a setting of the server`);
    assert.ok(Number(/^(\d+)s$/.exec(scim.stop_grace_period)?.[1]) > 25, 'the server may take 25 s to finish its requests');
    assert.deepEqual(scim.ports, [`127.0.0.1:${DEFAULTS.port}:${DEFAULTS.port}`], 'published on the loopback address only, for the TLS proxy');
  });
});

describe('deploy/systemd/scim-provisioning.service', () => {
  const unit = read('deploy/systemd/scim-provisioning.service');
  const values = (key: string) => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!);

  test('plain node on the build, settings from an EnvironmentFile, hardened, time to drain, no restart on 78', () => {
    const [exec, ...others] = values('ExecStart');
    assert.deepEqual(others, []);
    assert.match(exec!, /^\/\S*\/node dist\/src\/main\.js$/, 'node itself on the compiled entry point (no npm, no tsx)');
    assert.equal(values('EnvironmentFile').length, 1);
    for (const kv of values('Environment')) assert.ok(kv.startsWith('NODE_ENV=') || SETTINGS.has(kv.split('=')[0]!), `${kv} is not a setting of the server`);
    for (const hardening of ['NoNewPrivileges=yes', 'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes', 'PrivateDevices=yes', 'CapabilityBoundingSet=', 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX', 'SystemCallFilter=@system-service']) {
      assert.ok(unit.split('\n').includes(hardening), `missing ${hardening}`);
    }
    assert.ok(!/^User=root$/m.test(unit) && values('User').length === 1, 'a user of its own');
    // With ProtectSystem=strict only the state directory is writable: the default SQLite path must be in it.
    const state = values('StateDirectory')[0];
    assert.ok(values('Environment').includes(`DATABASE_URL=sqlite:/var/lib/${state}/scim.db`));
    assert.ok(Number(/^(\d+)s$/.exec(values('TimeoutStopSec')[0]!)?.[1]) > 25);
    assert.deepEqual(values('RestartPreventExitStatus'), ['78'], 'configuration errors (exit 78, src/main.ts) are not restarted');
  });

  test('systemd-analyze verify accepts it', { skip: spawnSync('systemd-analyze', ['--version']).status !== 0 && 'systemd-analyze is not installed' }, () => {
    const dir = mkdtempSync(join(tmpdir(), 'scim-unit-'));
    try {
      // As installed on a machine whose node is this one (verify checks that ExecStart's program exists).
      const path = join(dir, 'scim-provisioning.service');
      writeFileSync(path, unit.replace(/^ExecStart=\S+/m, `ExecStart=${process.execPath}`));
      const r = spawnSync('systemd-analyze', ['verify', path], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr.trim(), '', 'no warnings (unknown keys, bad values)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('deploy/Caddyfile and deploy/nginx.conf', () => {
  const size = (v: string, units: Record<string, number>) => { const m = /^(\d+)([a-zA-Z]*)$/.exec(v)!; return Number(m[1]) * units[m[2]!]!; };
  const caddy = read('deploy/Caddyfile');
  const nginx = read('deploy/nginx.conf');

  test('both explain PUBLIC_URL and TRUST_PROXY_HOPS and proxy to the server\'s default address', () => {
    for (const [name, text] of [['Caddyfile', caddy], ['nginx.conf', nginx]] as const) {
      for (const setting of ['PUBLIC_URL', 'TRUST_PROXY_HOPS']) {
        assert.ok(SETTINGS.has(setting));
        assert.match(text, new RegExp(`${setting}=`), `${name} explains ${setting}`);
      }
      assert.ok(text.includes(`${DEFAULTS.host}:${DEFAULTS.port}`), `${name} proxies to ${DEFAULTS.host}:${DEFAULTS.port}`);
      assert.match(text, /X-Request-Id/);
    }
    assert.match(nginx, /proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;/);
  });

  test('each lets a body the server accepts through, so a too large one gets the server\'s SCIM 413', () => {
    const nginxMax = size(/client_max_body_size (\S+);/.exec(nginx)![1]!, { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 });
    const caddyMax = size(/max_size (\S+)/.exec(caddy)![1]!, { '': 1, KB: 1000, MB: 1000 ** 2, KiB: 1024, MiB: 1024 ** 2 });
    for (const max of [nginxMax, caddyMax]) assert.ok(max > DEFAULTS.bodyLimit, `${max} <= BODY_LIMIT_BYTES ${DEFAULTS.bodyLimit}`);
  });
});
