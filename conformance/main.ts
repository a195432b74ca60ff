/**
 * SCIM 2.0 conformance CLI: replays Microsoft Entra ID and Okta provisioning traffic and
 * RFC 7643/7644 checks (including /Bulk, RFC 7644 §3.7, and the Okta Identity Governance catalogues) against any SCIM server over HTTP.
 *
 *   npm run conformance -- --url <SCIM base URL> --token <bearer token>
 *                          [--suite entra|okta|rfc|bulk|entitlements|all] [--report file.json] [--verbose]
 *
 * Exit codes: 0 all checks passed (skips allowed), 1 at least one check failed,
 * 2 usage error or server unreachable.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { Cleanup, RunData, type Shared } from './lib/context.ts';
import { NetworkError, PROFILES, Recorder, ScimHttp, Scrubber, createTransport } from './lib/http.ts';
import { runChecks, summarize, type Check, type Report, type SuiteName } from './lib/runner.ts';
import { entraChecks } from './suites/entra.ts';
import { oktaChecks } from './suites/okta.ts';
import { rfcChecks } from './suites/rfc.ts';
import { bulkChecks } from './suites/bulk.ts';
import { entitlementsChecks } from './suites/entitlements.ts';

const SUITES: Record<SuiteName, Check[]> = { entra: entraChecks, okta: oktaChecks, rfc: rfcChecks, bulk: bulkChecks, entitlements: entitlementsChecks };
const SUITE_ORDER: SuiteName[] = ['entra', 'okta', 'rfc', 'bulk', 'entitlements'];

class UsageError extends Error {}

interface Options {
  url?: string;
  token?: string;
  tokenUrl?: string;
  clientId?: string;
  clientSecret?: string;
  suite: string;
  report?: string;
  verbose?: boolean;
  only?: string;
}

function parseSuites(value: string): SuiteName[] {
  const parts = value
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  if (parts.length === 0 || parts.includes('all')) return [...SUITE_ORDER];
  for (const p of parts) {
    if (!(SUITE_ORDER as string[]).includes(p)) throw new UsageError(`unknown suite "${p}" (expected entra, okta, rfc, bulk, entitlements or all)`);
  }
  return SUITE_ORDER.filter((s) => parts.includes(s));
}

/** RFC 6749 §4.4 with HTTP Basic client authentication (§2.3.1), as Entra's gallery apps get their token. */
async function clientCredentialsToken(tokenUrl: string, id: string, secret: string): Promise<{ token: string } | { error: string }> {
  const auth = Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');
  try {
    const r = await fetch(tokenUrl, {
      method: 'POST',
      headers: { Authorization: `Basic ${auth}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    const body = (await r.json().catch(() => ({}))) as { access_token?: unknown; error?: unknown; error_description?: unknown };
    if (r.ok && typeof body.access_token === 'string') return { token: body.access_token };
    return { error: `${r.status} ${String(body.error ?? '')} ${String(body.error_description ?? '')}`.trim() };
  } catch (err) {
    return { error: `cannot reach ${tokenUrl}: ${(err as Error).message}` };
  }
}

export async function main(argv: string[]): Promise<number> {
  const program = new Command()
    .name('npm run conformance --')
    .description('Replay Entra ID / Okta provisioning and RFC 7644 checks against a SCIM 2.0 server.')
    .option('--url <url>', 'SCIM base URL, e.g. http://127.0.0.1:8080/scim/v2')
    .option('--token <token>', 'bearer token (default: $SCIM_TOKEN); never printed')
    .option('--token-url <url>', 'instead of --token: get one from this OAuth token endpoint (client credentials, as Entra does)')
    .option('--client-id <id>', 'with --token-url: the OAuth client id')
    .option('--client-secret <secret>', 'with --token-url: the client secret (default: $OAUTH_CLIENT_SECRET); never printed')
    .option('--suite <names>', 'entra | okta | rfc | bulk | entitlements | all (comma-separated list allowed)', 'all')
    .option('--report <file>', 'write a JSON report to this file')
    .option('--only <text>', 'run only the checks whose "suite/name" contains this text')
    .option('--verbose', 'print every request and response status')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });

  let opts: Options;
  try {
    program.parse(argv, { from: 'user' });
    opts = program.opts<Options>();
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }

  const usage = (msg: string) => {
    process.stderr.write(`error: ${msg}\n\n${program.helpInformation()}`);
    return 2;
  };

  if (!opts.url) return usage('--url is required');
  let token = opts.token ?? (opts.tokenUrl ? undefined : process.env.SCIM_TOKEN);
  if (opts.tokenUrl) {
    const secret = opts.clientSecret ?? process.env.OAUTH_CLIENT_SECRET;
    if (opts.token) return usage('give --token or --token-url, not both');
    if (!opts.clientId || !secret) return usage('--token-url needs --client-id and --client-secret (or OAUTH_CLIENT_SECRET)');
    const got = await clientCredentialsToken(opts.tokenUrl, opts.clientId, secret);
    if ('error' in got) {
      process.stderr.write(`error: the token endpoint refused: ${got.error}\n`);
      return 1;
    }
    token = got.token;
  }
  if (!token) return usage('--token is required (or set SCIM_TOKEN), or --token-url with a client');
  let baseUrl: URL;
  try {
    baseUrl = new URL(opts.url);
    if (!/^https?:$/.test(baseUrl.protocol)) throw new Error('not http(s)');
  } catch {
    return usage(`--url must be an http:// or https:// URL, got "${opts.url}"`);
  }
  let suites: SuiteName[];
  try {
    suites = parseSuites(opts.suite);
  } catch (err) {
    return usage((err as Error).message);
  }
  let checks = suites.flatMap((s) => SUITES[s]);
  if (opts.only) {
    const needle = opts.only.toLowerCase();
    checks = checks.filter((c) => `${c.suite}/${c.name}`.toLowerCase().includes(needle));
    if (checks.length === 0) return usage(`--only "${opts.only}" matches no check`);
  }

  const url = opts.url.replace(/\/+$/, '');
  const scrubber = new Scrubber([token]);
  const out = (line: string) => process.stdout.write(`${scrubber.scrub(line)}\n`);
  const transport = createTransport(scrubber);
  const http = new ScimHttp(url, token, PROFILES.rfc, new Recorder(), transport);

  try {
    // Preflight: reachable, token accepted, and something SCIM-like at this base URL.
    let spc;
    try {
      spc = await http.get('/ServiceProviderConfig');
    } catch (err) {
      if (err instanceof NetworkError) {
        process.stderr.write(`error: cannot reach the SCIM server at ${url}: ${err.message}\n`);
        return 2;
      }
      throw err;
    }
    if (spc.status === 401 || spc.status === 403) {
      process.stderr.write(`error: the server rejected the token (HTTP ${spc.status} on GET ${url}/ServiceProviderConfig)\n`);
      return 2;
    }
    if (spc.status === 404) {
      const users = await http.get('/Users?count=1');
      if (users.status === 404) {
        process.stderr.write(
          `error: no SCIM endpoints at ${url} (GET /ServiceProviderConfig and GET /Users both answered 404); is the base URL right (e.g. .../scim/v2)?\n`,
        );
        return 2;
      }
    }

    const run = new RunData();
    const cleanup = new Cleanup();
    const shared: Shared = { http, run, cleanup, memo: new Map(), verbose: !!opts.verbose, log: out };
    const startedAt = new Date().toISOString();

    const onSigint = async () => {
      out('interrupted: deleting what this run created...');
      const r = await cleanup.run(http);
      out(`cleanup: deleted ${r.deleted}${r.failed.length ? `, ${r.failed.length} failed` : ''}`);
      transport.close();
      process.exit(130);
    };
    process.once('SIGINT', onSigint);

    const running = SUITE_ORDER.filter((s) => checks.some((c) => c.suite === s));
    out(`SCIM conformance run ${run.id} against ${url}: ${checks.length} checks (${running.join(', ')})`);
    let results: Awaited<ReturnType<typeof runChecks>> = [];
    let cleanupResult: Report['cleanup'];
    try {
      results = await runChecks(checks, shared, scrubber, out);
    } finally {
      cleanupResult = await cleanup.run(http);
      process.removeListener('SIGINT', onSigint);
      out(
        `cleanup: deleted ${cleanupResult.deleted} resources${cleanupResult.failed.length ? `; could not delete: ${cleanupResult.failed.join('; ')}` : ''}`,
      );
    }

    const { passed, failed, skipped } = summarize(results);
    if (opts.report) {
      const report: Report = {
        url,
        startedAt,
        finishedAt: new Date().toISOString(),
        suites: running,
        checks: results,
        passed,
        failed,
        skipped,
        cleanup: cleanupResult,
      };
      const file = path.resolve(opts.report);
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, `${scrubber.scrub(JSON.stringify(report, null, 2))}\n`);
      out(`report: ${file}`);
    }
    if (skipped) out(`${skipped} skipped: ${results.filter((r) => r.skipped).map((r) => `${r.suite}/${r.name}`).join(', ')}`);
    out(`${passed} passed, ${failed} failed`);
    return failed > 0 ? 1 : 0;
  } finally {
    transport.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 2;
  },
);
