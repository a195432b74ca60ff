/**
 * The delivery worker: runs in the server process, takes due heads of the outbox (store/outbox.ts), brings
 * Mattermost in line with each entity, and settles the rows, up to MATTERMOST_CONCURRENCY entities at a time.
 *
 * Guarantees: at-least-once delivery (a row leaves the outbox only after its effect succeeded, in the transaction
 * that audits it), idempotent effects (so at-least-once is exactly once in effect), order per entity (one head per
 * entity at a time). A transient failure is retried with exponential backoff and full jitter; a 429 pauses every
 * request of this instance for `Retry-After`; a failure retrying cannot fix is parked with its reason and stops
 * blocking the entity's later changes. The database being unreachable only delays deliveries: leases run out and
 * the rows are claimed again.
 */
import { randomUUID } from 'node:crypto';
import { writeAudit, type AuditEntry } from '../store/audit.js';
import { claimDue, park, parseKey, releaseAllLeases, releaseLeases, retryLater, settleDelivered, type Delivery, type EntityKey } from '../store/outbox.js';
import { dialectOf } from '../store/db.js';
import type { ConnectorCtx, Effect } from './context.js';
import { MattermostFailure } from './mattermost-api.js';
import { convergeUser } from './users.js';
import { convergeChannel, convergeTeam, WAITING_FOR_DEPENDENCY } from './teams.js';
import { convergeChannelMember, convergeTeamMember } from './members.js';

export const CONNECTOR_ACTOR = 'system:connector';

export type DeliveryResult = 'delivered' | 'retry' | 'rate_limited' | 'parked';

export interface WorkerOptions {
  concurrency: number;
  leaseMs: number;
  /** How often an idle worker looks for work (a committed change also wakes it at once in this process). */
  pollMs?: number;
  /** Backoff of the first retry; doubles per attempt up to `maxBackoffMs`. */
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  onResult?: (result: DeliveryResult, kind: EntityKey['kind'], lagMs: number) => void;
}

/** Bring Mattermost in line with the entity a delivery names. */
export function converge(ctx: ConnectorCtx, key: EntityKey, operations: readonly string[]): Promise<Effect> {
  switch (key.kind) {
    case 'user': return convergeUser(ctx, key.id, operations);
    case 'team': return convergeTeam(ctx, key.id);
    case 'channel': return convergeChannel(ctx, key.id);
    case 'team_member': return convergeTeamMember(ctx, key.teamId, key.userId);
    case 'channel_member': return convergeChannelMember(ctx, key.channelId, key.userId);
  }
}

const RESOURCE = { user: 'User', team: 'Team', channel: 'Channel', team_member: 'TeamMember', channel_member: 'ChannelMember' } as const;
const resourceIdOf = (k: EntityKey): string => ('id' in k ? k.id : k.userId);
const subjectOf = (k: EntityKey) => (k.kind === 'team_member' ? { teamId: k.teamId } : k.kind === 'channel_member' ? { channelId: k.channelId } : {});

export class DeliveryWorker {
  readonly owner = `${process.pid}-${randomUUID().slice(0, 8)}`;
  private running = false;
  private inFlight = new Set<Promise<unknown>>();
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private readonly o: Required<Omit<WorkerOptions, 'onResult'>> & Pick<WorkerOptions, 'onResult'>;
  /** Last time a delivery succeeded (epoch ms), for status. */
  lastSuccessAt: number | null = null;

  constructor(private readonly ctx: ConnectorCtx, opts: WorkerOptions) {
    this.o = { pollMs: 250, baseBackoffMs: 1000, maxBackoffMs: 300_000, ...opts };
  }

  async start(): Promise<void> {
    if (this.running) return;
    // One SQLite file has one server process: any lease left is a dead process's, so give it back now rather than
    // after it runs out. On PostgreSQL another live instance may hold it.
    if (dialectOf(this.ctx.db) === 'sqlite') await releaseAllLeases(this.ctx.db, 'mattermost').catch(() => undefined);
    this.running = true;
    this.loop = this.run();
  }

  /** Something was committed: look for work now instead of at the next poll. */
  nudge(): void {
    this.wake?.();
  }

  /** Finish the deliveries in flight, take no more, give back our leases. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.wake?.();
    this.ctx.api.close();
    await this.loop;
    await Promise.allSettled(this.inFlight);
    await releaseLeases(this.ctx.db, this.owner).catch(() => undefined);
  }

  private async run(): Promise<void> {
    while (this.running) {
      const free = this.o.concurrency - this.inFlight.size;
      let claimed: Delivery[] = [];
      if (free > 0) {
        try {
          claimed = await claimDue(this.ctx.db, 'mattermost', this.owner, free, Date.now(), this.o.leaseMs);
        } catch (err) {
          this.ctx.log.warn('outbox claim failed', { error: (err as Error).message });
        }
      }
      for (const d of claimed) {
        const p = this.deliver(d).finally(() => {
          this.inFlight.delete(p);
          this.wake?.();
        });
        this.inFlight.add(p);
      }
      if (claimed.length && this.inFlight.size < this.o.concurrency) continue;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.o.pollMs);
        this.wake = () => {
          clearTimeout(t);
          this.wake = null;
          resolve();
        };
      });
    }
  }

  /** Deliver one head with the rows behind it; never throws. */
  async deliver(d: Delivery): Promise<DeliveryResult> {
    const key = parseKey(d.entityKey);
    const log = this.ctx.log;
    if (!key) {
      await park(this.ctx.db, d, `unknown entity key ${d.entityKey}`).catch(() => undefined);
      return 'parked';
    }
    const lag = Date.now() - d.createdAt;
    let result: DeliveryResult;
    try {
      const effect = await converge(this.ctx, key, d.operations);
      await this.ctx.db.transaction(async (tx) => {
        await settleDelivered(tx, 'mattermost', d);
        await writeAudit(tx, this.audit(key, d, 'connector_deliver', { operations: d.operations, mattermostId: effect.mmId, changes: effect.changes }));
      });
      this.lastSuccessAt = Date.now();
      if (effect.changes.length) log.info('delivered to mattermost', { entity: d.entityKey, changes: effect.changes, rows: d.ids.length });
      result = 'delivered';
    } catch (err) {
      result = await this.failed(key, d, err);
    }
    this.o.onResult?.(result, key.kind, lag);
    return result;
  }

  private async failed(key: EntityKey, d: Delivery, err: unknown): Promise<DeliveryResult> {
    const f = err instanceof MattermostFailure ? err : null;
    const now = Date.now();
    try {
      if (f?.kind === 'permanent') {
        await this.ctx.db.transaction(async (tx) => {
          await park(tx, d, f.message);
          await writeAudit(tx, this.audit(key, d, 'connector_park', { operations: d.operations, error: f.message, status: f.status, errorId: f.errorId }));
        });
        this.ctx.log.warn('mattermost delivery parked', { entity: d.entityKey, error: f.message });
        return 'parked';
      }
      if (f?.kind === 'rate_limited') {
        await retryLater(this.ctx.db, d, Math.max(now, this.ctx.api.pausedUntilMs), f.message);
        return 'rate_limited';
      }
      // Transient: Mattermost down or slow, a 5xx, or something of ours (the database away, a bug): try again later.
      // Our own failure's text (a database message, a bug) goes to the log only: the row shows admins a pointer.
      const message = f ? f.message : `internal error while delivering (logged as "mattermost delivery failed" for ${d.entityKey})`;
      if (!f) this.ctx.log.error('mattermost delivery failed', { entity: d.entityKey, error: (err as Error)?.message, stack: (err as Error)?.stack });
      const backoff = Math.min(this.o.maxBackoffMs, this.o.baseBackoffMs * 2 ** Math.min(d.attempts - 1, 20));
      // Waiting for a dependency's delivery is not Mattermost failing: look again soon. Otherwise back off, and after a
      // timeout wait at least the timeout (mattermost-api.ts).
      const jittered = backoff / 2 + Math.random() * (backoff / 2);
      // A dependency that stays queued (Mattermost slow, our own rate) doubles the wait up to 10 s, so thousands of
      // waiting memberships do not churn through claims while their people are still on their way.
      const wait = f?.errorId === WAITING_FOR_DEPENDENCY
        ? Math.min(10_000, (f.retryAfterMs ?? 250) * 2 ** Math.min(d.attempts - 1, 10))
        : Math.max(jittered, f?.retryAfterMs ?? 0);
      await retryLater(this.ctx.db, d, now + wait, message);
      return 'retry';
    } catch (dbErr) {
      // Could not even record the failure (database away): the lease runs out and the row is claimed again.
      this.ctx.log.warn('outbox update failed', { entity: d.entityKey, error: (dbErr as Error).message });
      return 'retry';
    }
  }

  private audit(key: EntityKey, d: Delivery, operation: 'connector_deliver' | 'connector_park', after: Record<string, unknown>): AuditEntry {
    return {
      actor: CONNECTOR_ACTOR, requestId: d.requestIds[0], operation, resourceType: RESOURCE[key.kind], resourceId: resourceIdOf(key),
      cause: `outbox:${d.ids.length > 1 ? `${d.ids[0]}..${d.ids[d.ids.length - 1]}` : d.ids[0]}`, after: { ...subjectOf(key), ...after },
    };
  }
}
