/**
 * The admin console's overview (GET /admin/v1/overview): how many people, groups, teams and channels there are, how
 * each IdP credential's SCIM requests fared over the last 24 hours, and, with the connector on, how far behind
 * Mattermost is. Counts only, each one statement; nothing here calls Mattermost (GET /admin/v1/connector does).
 */
import type { Knex } from 'knex';
import { workspaceCounts, type WorkspaceCounts } from '../store/counts.js';
import { outboxStats } from '../store/outbox.js';
import { scimRequestsByActor } from '../store/request-log.js';

const DAY_MS = 86_400_000;

/**
 * Microsoft Entra quarantines a provisioning job when more than 40% of its provisioning events fail, once it has
 * seen at least 5,000 failures ("Application provisioning in quarantine status", Microsoft Learn:
 * https://learn.microsoft.com/entra/identity/app-provisioning/application-provisioning-quarantine-status, "Escrow
 * thresholds"); in quarantine its cycles slow to one a day and after four weeks the job is disabled. The 5,000 are
 * counted over the job's life on Entra's side, and are events rather than our HTTP requests, so the console cannot
 * know when Entra will start evaluating: it warns on the rate alone. `approaching` at half the quarantine rate
 * leaves an admin time to act (fix the mapping, the credential, the conflicting accounts) before the evaluation
 * would find the job over the line; above 40% the job would be quarantined as soon as it is evaluated.
 */
export const QUARANTINE_RATE = 0.4;
export const APPROACHING_RATE = 0.2;

export type QuarantineWarning = 'ok' | 'approaching' | 'quarantine_risk';

export function quarantineWarning(failureRate: number): QuarantineWarning {
  if (failureRate > QUARANTINE_RATE) return 'quarantine_risk';
  if (failureRate > APPROACHING_RATE) return 'approaching';
  return 'ok';
}

export interface ClientHealth {
  /** `token:<name>` or `client:<OAuth client>`; null for requests that were not authenticated (a wrong credential). */
  actor: string | null;
  total24h: number;
  failed24h: number;
  failureRate: number;
  warning: QuarantineWarning;
}

export type ConnectorHealth = { enabled: false } | { enabled: true; pending: number; parked: number; lagSeconds: number | null };

export interface Overview extends WorkspaceCounts { connector: ConnectorHealth; clients: ClientHealth[] }

export async function overview(db: Knex, opts: { connector: boolean; now?: number }): Promise<Overview> {
  const now = opts.now ?? Date.now();
  const [counts, requests, outbox] = await Promise.all([
    workspaceCounts(db),
    scimRequestsByActor(db, now - DAY_MS),
    opts.connector ? outboxStats(db, 'mattermost', now) : undefined,
  ]);
  const clients = requests.map((r): ClientHealth => {
    const failureRate = r.total ? Math.round((r.failed / r.total) * 10_000) / 10_000 : 0;
    return { actor: r.actor, total24h: r.total, failed24h: r.failed, failureRate, warning: quarantineWarning(failureRate) };
  });
  const connector: ConnectorHealth = outbox
    ? { enabled: true, pending: outbox.pending, parked: outbox.parked, lagSeconds: outbox.oldestPendingAt == null ? null : Math.max(0, Math.round((now - outbox.oldestPendingAt) / 1000)) }
    : { enabled: false };
  return { ...counts, connector, clients };
}
