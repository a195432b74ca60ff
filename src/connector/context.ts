/** What every connector effect works with, and how it reports what it did (or, in a dry run, would do). */
import type { Knex } from 'knex';
import type { MattermostConfig } from '../config/index.js';
import type { Logger } from '../log.js';
import type { MattermostApi } from './mattermost-api.js';

export interface ConnectorCtx {
  db: Knex;
  api: MattermostApi;
  cfg: MattermostConfig;
  log: Logger;
  /** A dry run: effects are described in `changes` instead of being sent. */
  dryRun: boolean;
  /** The delivery worker's context: a dependency (the person or team of a membership, the team of a channel) that
   * has a change of its own queued waits for that delivery instead of being created here too. A reconcile, which
   * walks everything itself, converges dependencies inline. */
  waitForQueued?: boolean;
}

/** What one convergence did to Mattermost: each change in words, and the Mattermost id of the entity if known. */
export class Effect {
  readonly changes: string[] = [];
  mmId: string | null = null;

  constructor(private readonly ctx: ConnectorCtx) {}

  /** Do `send` (or in a dry run only say it would be done), recording `what`. */
  async change<T>(what: string, send: () => Promise<T>): Promise<T | undefined> {
    this.changes.push(what);
    if (this.ctx.dryRun) return undefined;
    return send();
  }
}
