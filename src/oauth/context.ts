/** What the OAuth use-cases need: the store, the token lifetimes, the assertion verifier, the log, who asks. */
import type { Knex } from 'knex';
import type { OAuthConfig } from '../config/index.js';
import type { Logger } from '../log.js';
import type { AssertionVerifier } from './assertion.js';
import type { ClientThrottle } from './throttle.js';

export interface OAuthDeps {
  db: Knex;
  config: OAuthConfig;
  log: Logger;
  verifier: AssertionVerifier;
  throttle: ClientThrottle;
}

export interface OAuthRequest {
  /** The form parameters, each given once (the adapter refuses repeats, RFC 6749 §3.2). */
  params: Readonly<Record<string, string>>;
  /** HTTP Basic credentials (RFC 6749 §2.3.1), already percent-decoded; undefined without that header. */
  basic: { id: string; secret: string } | undefined;
  requestId: string;
  /** The caller's address, for the log. */
  client: string;
}
