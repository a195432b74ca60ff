/**
 * The operator CLI: `npm run -s cli -- <group> <command>` (`-s` keeps npm's own banner off stdout).
 * It uses the database the server uses (DATABASE_URL, `.env`). Each command group lives in its own file and
 * exports `register(program)`; add a group by importing it and listing it below.
 */
import { Command, CommanderError } from 'commander';
import { CliError } from './context.js';
import { register as registerTokens } from './tokens.js';
import { register as registerUsers } from './users.js';
import { register as registerWorkspace } from './workspace.js';
import { register as registerConnector } from './connector.js';
import { register as registerClients } from './clients.js';
import { register as registerBulkFile } from './bulk-file.js';
import { register as registerMigrate } from './migrate.js';
import { register as registerAudit } from './audit.js';
import { register as registerBackup } from './backup.js';
import { register as registerDb } from './db.js';
import { register as registerRequests } from './requests.js';

const groups: ((program: Command) => void)[] = [registerTokens, registerClients, registerUsers, registerWorkspace, registerConnector, registerBulkFile, registerAudit, registerRequests, registerMigrate, registerBackup, registerDb];

// `cli audit | head`: the reader went away; the output it wanted is written, so this is a normal end, not a crash.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const program = new Command()
  .name('cli')
  .description('SCIM provisioning server: tokens, OAuth clients, users, workspace, Mattermost connector, export and import of Mattermost bulk-import files, backup, restore and checks of the store')
  .showHelpAfterError()
  .exitOverride();
for (const register of groups) register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode); // commander printed the message already
  process.stderr.write(`error: ${err instanceof CliError ? err.message : String((err as Error)?.message ?? err)}\n`);
  process.exit(1);
}
