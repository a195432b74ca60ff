/** The operator CLI as an operator runs it: `src/cli/main.ts` in a child process on one database, with the server's
 * own settings (tokens, port, log level, ...) taken out of the environment and `extra` put in. `compiled` runs the
 * production build's `dist/src/cli/main.js` instead (helpers/build.ts `ensureBuilt` first). */
import { spawn } from 'node:child_process';
import { ROOT } from './server.ts';

export interface CliRun { code: number | null; stdout: string; stderr: string }

const SERVER_SETTINGS = /^(SCIM_TOKEN|ADMIN_TOKEN|PORT|LOG_LEVEL|PUBLIC_URL|GROUP_MAPPING_FILE|MATTERMOST_.*)$/;

export function runCli(dbUrl: string, args: string[], extra: Record<string, string> = {}, opts: { compiled?: boolean } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = { ...process.env, DATABASE_URL: dbUrl };
    for (const k of Object.keys(env)) if (SERVER_SETTINGS.test(k)) delete env[k];
    Object.assign(env, extra);
    const entry = opts.compiled ? ['dist/src/cli/main.js'] : ['--import', 'tsx', 'src/cli/main.ts'];
    const child = spawn(process.execPath, [...entry, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
