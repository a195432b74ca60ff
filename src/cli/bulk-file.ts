/**
 * `export mattermost` and `import mattermost`: the workspace as a Mattermost bulk-import file and back
 * (src/workspace/bulk-file/). The file is JSONL, or a zip holding it, the form `mmctl import process` takes
 * (yazl writes it as a stream, yauzl reads it; the first `.jsonl` entry at any depth is the data, as Mattermost's
 * own exports may nest it). Progress on stderr, the JSON report on stdout.
 */
import { createReadStream, createWriteStream, renameSync, rmSync } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import yauzl from 'yauzl';
import yazl from 'yazl';
import { AUTH_SERVICES } from '../config/index.js';
import { AppError } from '../errors/app-error.js';
import { SyncEngine } from '../sync/engine.js';
import { exportLines, newExportStats } from '../workspace/bulk-file/export.js';
import { importFile, ImportRejected, type LineSource } from '../workspace/bulk-file/import.js';
import { actor, CliError, note, withDb } from './context.js';
import { printJson } from './output.js';
import { startProgress } from './progress.js';

const json = printJson;

/** The `.jsonl` inside a zip, as a stream (entries are read one by one, never the whole zip). */
function openZipEntry(path: string): Promise<Readable> {
  return new Promise((resolve, reject) => {
    yauzl.open(path, { lazyEntries: true, autoClose: true }, (err, zip) => {
      if (err || !zip) return reject(new CliError(`${path}: not a readable zip (${err?.message ?? 'no data'})`));
      zip.on('entry', (entry: yauzl.Entry) => {
        if (!/\.jsonl$/i.test(entry.fileName) || entry.fileName.endsWith('/')) return zip.readEntry();
        zip.openReadStream(entry, (e, stream) => (e || !stream ? reject(e ?? new Error('no stream')) : resolve(stream)));
      });
      zip.on('end', () => reject(new CliError(`${path}: the zip holds no .jsonl file`)));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

/** Each pass reads the file from its start again, line by line. */
function linesOf(path: string): LineSource {
  return async function* () {
    const input = /\.zip$/i.test(path) ? await openZipEntry(path) : createReadStream(path);
    const rl = createInterface({ input, crlfDelay: Infinity });
    try {
      for await (const line of rl) yield line;
    } finally {
      rl.close();
      input.destroy();
    }
  };
}

export function register(program: Command): void {
  const exp = program.command('export').description('write the workspace to a file');
  exp.command('mattermost')
    .description('a Mattermost bulk-import file (mmctl import process): teams, channels, people and their memberships')
    .requiredOption('--out <file>', 'workspace.jsonl, or workspace.zip (the jsonl inside a zip, as mmctl wants it)')
    .option('--auth-service <service>', `auth_service of the people (default MATTERMOST_AUTH_SERVICE): ${AUTH_SERVICES.filter(Boolean).join(', ')}, or "" for email accounts`)
    .option('--auth-data <attribute>', 'SCIM attribute sent as auth_data (default MATTERMOST_AUTH_DATA): externalId, userName, email')
    .action(async (o: { out: string; authService?: string; authData?: string }) => {
      await withDb(async (db, config) => {
        const authService = o.authService ?? config.mattermost?.authService ?? '';
        if (!(AUTH_SERVICES as readonly string[]).includes(authService)) throw new CliError(`--auth-service must be one of ${AUTH_SERVICES.filter(Boolean).join(', ')} or ""`);
        const authData = o.authData ?? config.mattermost?.authData ?? 'externalId';
        if (!['externalId', 'userName', 'email'].includes(authData)) throw new CliError('--auth-data must be externalId, userName or email');
        const stats = newExportStats();
        const progress = startProgress('export', 'people');
        const lines = exportLines(db, { signIn: { authService, authData: authData as 'externalId' | 'userName' | 'email' }, onUsers: (done, total) => progress.update(done, total) }, stats);
        // Written next to the target and renamed at the end: a failed export leaves no half file behind.
        const tmp = `${o.out}.partial`;
        try {
          const source = Readable.from(lines, { objectMode: false, highWaterMark: 64 * 1024 });
          if (/\.zip$/i.test(o.out)) {
            const zip = new yazl.ZipFile();
            zip.addReadStream(source, `${basename(o.out).replace(/\.zip$/i, '')}.jsonl`);
            zip.end();
            await pipeline(zip.outputStream, createWriteStream(tmp));
          } else {
            await pipeline(source, createWriteStream(tmp));
          }
          renameSync(tmp, o.out);
        } catch (err) {
          progress.abort();
          rmSync(tmp, { force: true });
          throw err;
        }
        progress.finish(`${stats.users} people, ${stats.teams} teams, ${stats.channels} channels written to ${o.out}`, stats.users);
        for (const p of stats.problems) note(p);
        if (stats.withoutAuthData) note(`${stats.withoutAuthData} people have no ${authData}: written without auth_service/auth_data (Mattermost gives them a password)`);
        json({ out: o.out, ...stats });
      });
    });

  const imp = program.command('import').description('adopt a workspace from a file');
  imp.command('mattermost')
    .description('a Mattermost bulk-import file or export (.jsonl or .zip): teams, channels, people (matched by email) and memberships; no posts')
    .argument('<file>', 'file.jsonl or file.zip')
    .option('--dry-run', 'report what would be created, matched and skipped; apply nothing')
    .action(async (file: string, o: { dryRun?: boolean }) => {
      await withDb(async (db, config) => {
        const sync = new SyncEngine({ defaultChannels: config.defaultChannels });
        const progress = startProgress(o.dryRun ? 'import (dry run)' : 'import', 'lines');
        try {
          const report = await importFile({ db, sync, actor: `admin:${actor()}` }, linesOf(file), {
            dryRun: !!o.dryRun,
            onProgress: (pass, done, total) => progress.update(done, total, pass === 1 ? 'checking' : 'applying'),
          });
          const p = report.people;
          progress.finish(`${report.lines} lines; people ${o.dryRun ? 'to create' : 'created'} ${p.created}, matched ${p.matched}, skipped ${p.skipped}; ` +
            `teams ${report.teams.created} new, ${report.teams.matched} matched; channels ${report.channels.created} new, ${report.channels.matched} matched; ` +
            `memberships added ${report.teamMemberships.added + report.channelMemberships.added}${o.dryRun ? ' (dry run: nothing applied)' : ''}`, report.lines);
          json(report);
        } catch (err) {
          progress.abort();
          if (err instanceof ImportRejected) {
            for (const line of err.problems) note(line);
            if (err.more) note(`... and ${err.more} more`);
            throw new CliError(err.message);
          }
          if (err instanceof AppError) throw new CliError(err.message);
          if ((err as NodeJS.ErrnoException)?.code === 'ENOENT') throw new CliError(`${file}: no such file`);
          throw err;
        }
      });
    });
}
