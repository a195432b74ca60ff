/**
 * `client create|list|show|revoke` and `client secret add|revoke`: OAuth clients for IdPs (src/oauth/clients.ts, the
 * same use-cases as the admin API's /admin/v1/clients). A secret is printed once, alone on stdout, so it can be
 * captured with `$(...)`; the client id and endpoints go to stderr with it, or everything as JSON with --json.
 */
import type { Command } from 'commander';
import type { Config } from '../config/index.js';
import { addSecret, listClients, registerClient, revokeClient, revokeSecret, showClient, DEFAULT_SECRET_TTL } from '../oauth/clients.js';
import { actor, CliError, note, withUseCase } from './context.js';
import { printJson, printList } from './output.js';

const collect = (v: string, prev: string[]) => [...prev, v];


const out = printJson;
const issuerOf = (config: Config) => config.publicUrl.replace(/\/scim\/v2$/, '');


export function register(program: Command): void {
  const client = program.command('client').description('manage OAuth clients of the token endpoint (Entra client credentials and WIF, Okta authorization code)');

  client
    .command('create')
    .description('register a client; prints its secret once (federated clients have none)')
    .requiredOption('--name <name>', 'a label, e.g. entra or okta (1-100 characters)')
    .option('--scope <scope...>', 'scopes it may have: scim, scim:read, admin, metrics', ['scim'])
    .option('--secret-ttl <duration>', 'lifetime of the secret, 1d to 1095d', DEFAULT_SECRET_TTL)
    .option('--redirect-uri <uri>', 'a redirect URI for the authorization code grant (Okta); repeatable', collect, [])
    .option('--federated', 'authenticate with JWT assertions from an issuer (Entra workload identity federation)')
    .option('--issuer <url>', 'federated: the assertion issuer (iss), e.g. https://login.microsoftonline.com/<tenant>/v2.0')
    .option('--subject <id>', 'federated: the assertion subject (sub), the object id Entra shows')
    .option('--audience <aud>', 'federated: the assertion audience (aud), e.g. api://<app id>')
    .option('--jwks-url <url>', 'federated: where the issuer publishes its keys, e.g. https://login.microsoftonline.com/<tenant>/discovery/v2.0/keys')
    .option('--json', 'print the client, its secret and endpoints as JSON')
    .action(async (o: { name: string; scope: string[]; secretTtl: string; redirectUri: string[]; federated?: boolean; issuer?: string; subject?: string; audience?: string; jwksUrl?: string; json?: boolean }) => {
      const fedFlags = [o.issuer, o.subject, o.audience, o.jwksUrl].some((v) => v !== undefined);
      if (fedFlags && !o.federated) throw new CliError('--issuer, --subject, --audience and --jwks-url need --federated');
      await withUseCase(async (db, config) => {
        const { client: c, secret } = await registerClient(db, {
          name: o.name, scope: o.scope.flatMap((s) => s.split(',')),
          secretTtl: o.federated ? undefined : o.secretTtl,
          redirectUris: o.redirectUri,
          federation: o.federated ? { issuer: o.issuer, subject: o.subject, audience: o.audience, jwksUrl: o.jwksUrl } as never : undefined,
        }, actor());
        const issuer = issuerOf(config);
        const endpoints = {
          tokenEndpoint: `${issuer}/oauth/token`,
          ...(c.redirectUris.length ? { authorizationEndpoint: `${issuer}/oauth/authorize` } : {}),
          scimEndpoint: config.publicUrl,
        };
        if (o.json) {
          out({ ...(await showClient(db, c.id)), ...(secret ? { secret: { id: secret.id, value: secret.value, expires: new Date(secret.expiresAt).toISOString() } } : {}), ...endpoints });
          return;
        }
        if (secret) process.stdout.write(`${secret.value}\n`);
        note(`created ${c.kind} client "${c.name}" with scope ${c.scopes.join(' ')}`);
        note(`  client id:      ${c.id}`);
        if (secret) note(`  client secret:  printed above, shown once (id ${secret.id}, expires ${new Date(secret.expiresAt).toISOString()})`);
        if (endpoints.authorizationEndpoint) note(`  authorize URL:  ${endpoints.authorizationEndpoint}`);
        note(`  token URL:      ${endpoints.tokenEndpoint}`);
        note(`  SCIM URL:       ${endpoints.scimEndpoint}`);
      });
    });

  client
    .command('list')
    .description('list clients and their secrets (never a secret value)')
    .option('--json', 'print JSON instead of a table')
    .action(async (o: { json?: boolean }) => {
      await withUseCase(async (db) => {
        const clients = await listClients(db);
        printList(clients, ['id', 'name', 'kind', 'scope', { header: 'grants', value: 'grantTypes' },
          { header: 'secrets', value: (c) => (c.kind === 'federated' ? null : `${c.secrets.filter((s) => s.state === 'live').length} live`) },
          'created', 'revoked'], o);
      });
    });

  client
    .command('show')
    .description('one client as JSON: scopes, federation, redirect URIs, secrets (ids, expiry, state)')
    .argument('<client-id>')
    .action(async (id: string) => withUseCase(async (db) => out(await showClient(db, id))));

  client
    .command('revoke')
    .description('revoke a client: its secrets and every token it holds stop working on every instance within a second')
    .argument('<client-id>')
    .action(async (id: string) => withUseCase(async (db) => {
      await revokeClient(db, id, actor());
      note(`revoked client ${id}`);
    }));

  const secret = client.command('secret').description('rotate client secrets: add a new one, move the IdP to it, revoke the old');
  secret
    .command('add')
    .description('add another live secret to a client and print it once (the old ones stay valid until revoked)')
    .argument('<client-id>')
    .option('--secret-ttl <duration>', 'lifetime, 1d to 1095d', DEFAULT_SECRET_TTL)
    .action(async (id: string, o: { secretTtl: string }) => withUseCase(async (db) => {
      const s = await addSecret(db, id, o.secretTtl, actor());
      process.stdout.write(`${s.value}\n`);
      note(`added secret ${s.id} to client ${id}, expires ${new Date(s.expiresAt).toISOString()}; shown once`);
    }));
  secret
    .command('revoke')
    .description('revoke one secret of a client (tokens issued with it run out on their own unless --tokens)')
    .argument('<client-id>')
    .argument('<secret-id>')
    .option('--tokens', 'also end the access and refresh tokens obtained with this secret (a leaked secret)')
    .action(async (id: string, secretId: string, o: { tokens?: boolean }) => withUseCase(async (db) => {
      await revokeSecret(db, id, secretId, Boolean(o.tokens), actor());
      note(`revoked secret ${secretId} of client ${id}${o.tokens ? ' and the tokens obtained with it' : ''}`);
    }));
}
