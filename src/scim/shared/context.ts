/** What every SCIM handler knows about the request it serves (passed as SCIMMY's `ctx`). */
import type { Response } from 'express';
import type { Db } from '../../store/db.js';
import type { Logger } from '../../log.js';
import type { Config } from '../../config/index.js';
import type { SyncEngine } from '../../sync/engine.js';

export interface Principal { tokenId: string; name: string; scope: 'scim' | 'admin' }

export interface ScimContext {
  db: Db;
  config: Config;
  log: Logger;
  sync: SyncEngine;
  principal: Principal;
  requestId: string;
  method: string;
  /** The raw query string values, before SCIMMY saw them (we parse filters ourselves). */
  query: Record<string, unknown>;
  /** If-Match header value, if any (RFC 7644 §3.14). */
  ifMatch: string | undefined;
  res: Response;
}

/** The audit actor string for a principal: never the token itself. */
export const actorOf = (p: Principal): string => `token:${p.name}`;
