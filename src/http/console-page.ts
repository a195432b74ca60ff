/**
 * The admin console's page (issue 17): GET /console and every deep link under it (/console/people/<id>) answer
 * index.html, whose script routes with the history API; the page's own files (src/console-ui, copied to
 * dist/src/console-ui by `npm run build`) and four vendor modules (Preact, its hooks, htm) are served by name, read
 * once at start-up: no path from the URL ever reaches the file system, so there is nothing to traverse. The console
 * speaks only the admin API (/admin/v1) with its session cookie; /console/session is not served here.
 *
 * Its Content-Security-Policy allows scripts and styles from this origin only. The one inline script is the import
 * map (Chromium cannot load one from a file yet), allowed by its SHA-256, computed here from the file as shipped.
 * Assets are `no-cache` with an ETag: a browser revalidates each load (a 304 costs one round trip) and never runs
 * an old app.js against a new server.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Router, type Request, type Response } from 'express';

export const CONSOLE_MOUNT = '/console';

/** src/console-ui next to src/http when run from source (tsx), dist/src/console-ui when run from the build. */
const UI_DIR = join(import.meta.dirname, '..', 'console-ui');

/** The vendor modules the import map names: served from node_modules by exact file, resolved as Node resolves them. */
const VENDOR: Record<string, string> = {
  'preact.mjs': 'preact',
  'preact-hooks.mjs': 'preact/hooks',
  'htm.mjs': 'htm',
  'htm-preact.mjs': 'htm/preact',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

interface Asset { body: Buffer; type: string; etag: string }

function asset(body: Buffer, name: string): Asset {
  return { body, type: TYPES[extname(name)] ?? 'application/octet-stream', etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

const IMPORT_MAP = /<script type="importmap">([\s\S]*?)<\/script>/;

/** The policy of every answer of this mount; `scriptHash` allows the inline import map of index.html. */
export function consolePolicy(scriptHash: string): string {
  return [
    "default-src 'none'", `script-src 'self' '${scriptHash}'`, "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
    "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'",
  ].join('; ');
}

/** The page's files and the vendor modules, read once; throws at start-up if one is missing (a broken build). */
export function loadConsoleAssets(dir = UI_DIR): { files: Map<string, Asset>; policy: string } {
  const files = new Map<string, Asset>();
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile()) files.set(`/${entry.name}`, asset(readFileSync(join(dir, entry.name)), entry.name));
  }
  for (const [name, specifier] of Object.entries(VENDOR)) {
    files.set(`/vendor/${name}`, asset(readFileSync(fileURLToPath(import.meta.resolve(specifier))), name));
  }
  const index = files.get('/index.html');
  const map = index && IMPORT_MAP.exec(index.body.toString('utf8'));
  if (!map) throw new Error(`${dir}/index.html is missing or has no import map`);
  const hash = `sha256-${createHash('sha256').update(map[1]!, 'utf8').digest('base64')}`;
  return { files, policy: consolePolicy(hash) };
}

function send(req: Request, res: Response, file: Asset, policy: string): void {
  res.setHeader('Content-Security-Policy', policy);
  res.setHeader('Cache-Control', 'no-cache');
  res.setHeader('ETag', file.etag);
  res.setHeader('Content-Type', file.type);
  if (req.headers['if-none-match'] === file.etag) return void res.status(304).end();
  res.status(200).send(req.method === 'HEAD' ? undefined : file.body);
}

export function consolePage(): Router {
  const { files, policy } = loadConsoleAssets();
  const index = files.get('/index.html')!;
  const r = Router();
  r.get(/.*/, (req, res, next) => {
    // The session endpoints are the server side's (its own router); this one serves files only.
    if (req.path === '/session' || req.path.startsWith('/session/')) return next();
    const file = files.get(req.path);
    if (file) return send(req, res, file, policy);
    // The page's files are one level deep: a missing one (/nope.js) or vendor file is a 404; anything else is a route
    // of the page, dots and all (/people/ada@example.com).
    if (req.path.startsWith('/vendor/') || (req.path.lastIndexOf('/') === 0 && extname(req.path) !== '')) {
      res.setHeader('Content-Security-Policy', policy);
      return void res.status(404).type('text/plain').send('not found');
    }
    send(req, res, index, policy);
  });
  return r;
}
