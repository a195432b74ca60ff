/** What every SCIM handler knows about the request it serves (passed as SCIMMY's `ctx`). */
import type { Db, Tx } from '../../store/db.js';
import type { Logger } from '../../log.js';
import type { Config } from '../../config/index.js';
import type { AuditCtx, SyncEngine } from '../../sync/engine.js';
import type { Scope } from '../../store/scopes.js';

/** A group as the mapping-file rules match it: by exact externalId or exact displayName. */
export interface NamedGroup { id: string; externalId: string | null; displayName: string }

/**
 * The group lifecycle's port to the mapping-file rules (GROUP_MAPPING_FILE; src/workspace/group-rules.ts implements it,
 * the composition code injects it): called in the group's transaction when a group is created, restored, renamed or
 * rebound, it links the group to the teams and channels the matching rules name (creating them if a rule says so).
 */
export type ApplyGroupRules = (tx: Tx, group: NamedGroup, a: AuditCtx) => Promise<void>;

/**
 * Who is calling: a static or managed bearer token (`kind: 'token'`) or an OAuth client holding an access token
 * (`kind: 'client'`, `tokenId` then `client:<client_id>`, so a client's tokens share its rate limit).
 */
export interface Principal { tokenId: string; name: string; scopes: readonly Scope[]; kind: 'token' | 'client' }

export interface ScimContext {
  db: Db;
  config: Config;
  log: Logger;
  sync: SyncEngine;
  applyGroupRules: ApplyGroupRules;
  principal: Principal;
  requestId: string;
  method: string;
  /** The raw query string values, before SCIMMY saw them (we parse filters ourselves). */
  query: Record<string, unknown>;
  /** If-Match header value, if any (RFC 7644 §3.14). */
  ifMatch: string | undefined;
}

/** The audit actor string for a principal: never the token itself. */
export const actorOf = (p: Principal): string => `${p.kind === 'client' ? 'client' : 'token'}:${p.name}`;
