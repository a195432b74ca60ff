/**
 * What a check gets to work with: HTTP clients per IdP profile, the run's random data,
 * cleanup tracking, memoised prerequisites and skip/note helpers.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { SkipCheck } from './assert.ts';
import { PROFILES, Recorder, type ScimHttp } from './http.ts';

export type ResourceKind = 'Users' | 'Groups';

/** Random, run-unique names. Every name starts with {@link RunData.prefix} so filters can be scoped to this run. */
export class RunData {
  /** 8 lower-case hex characters, fresh every run. */
  readonly id = randomBytes(4).toString('hex');
  /** Every userName/displayName this run creates starts with it. */
  readonly prefix = `cf${this.id}.`;
  private counter = 0;

  /** `cf1a2b3c4d.<tag>7x9q` */
  name(tag: string): string {
    this.counter += 1;
    return `${this.prefix}${tag}${this.counter}${rand(3)}`;
  }
  /** An email-shaped userName, as Entra (UPN) and Okta (login) send. */
  userName(tag: string): string {
    return `${this.name(tag)}@example.com`;
  }
  uuid(): string {
    return randomUUID();
  }
  /** An Okta user id (`00u` + 17 characters), what Okta sends as externalId (OKTA-REF O3). */
  oktaUserId(): string {
    const abc = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    const bytes = randomBytes(17);
    return `00u${[...bytes].map((b) => abc[b % abc.length]).join('')}`;
  }
  word(): string {
    return rand(6);
  }
}

export function rand(n: number): string {
  const abc = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(n)].map((b) => abc[b % abc.length]).join('');
}

/** Everything this run created, to DELETE at the end (groups first, then users). */
export class Cleanup {
  readonly users = new Set<string>();
  readonly groups = new Set<string>();

  track(kind: ResourceKind, id: string): void {
    (kind === 'Users' ? this.users : this.groups).add(id);
  }
  untrack(kind: ResourceKind, id: string): void {
    (kind === 'Users' ? this.users : this.groups).delete(id);
  }

  async run(http: ScimHttp): Promise<{ deleted: number; failed: string[] }> {
    let deleted = 0;
    const failed: string[] = [];
    for (const [kind, set] of [
      ['Groups', this.groups],
      ['Users', this.users],
    ] as const) {
      for (const id of [...set]) {
        try {
          const res = await http.delete(`/${kind}/${encodeURIComponent(id)}`);
          if (res.status === 204 || res.status === 200 || res.status === 404) {
            deleted += res.status === 404 ? 0 : 1;
            set.delete(id);
          } else {
            failed.push(`DELETE /${kind}/${id} -> ${res.status}`);
          }
        } catch (err) {
          failed.push(`DELETE /${kind}/${id} -> ${(err as Error).message}`);
        }
      }
    }
    return { deleted, failed };
  }
}

/** State shared by every check of one run. */
export interface Shared {
  http: ScimHttp;
  run: RunData;
  cleanup: Cleanup;
  memo: Map<string, Promise<unknown>>;
  verbose: boolean;
  log: (line: string) => void;
}

export class Ctx {
  /** A plain RFC 7644 client (Accept and Content-Type application/scim+json). */
  readonly http: ScimHttp;
  /** Headers as Microsoft Entra sends them (no Accept; scim+json; charset=utf-8). */
  readonly entra: ScimHttp;
  /** Headers as Okta sends them. */
  readonly okta: ScimHttp;
  readonly recorder: Recorder;
  readonly notes: string[] = [];

  constructor(private readonly shared: Shared) {
    this.recorder = new Recorder(shared.verbose ? shared.log : undefined);
    this.http = shared.http.withRecorder(this.recorder).as(PROFILES.rfc);
    this.entra = this.http.as(PROFILES.entra);
    this.okta = this.http.as(PROFILES.okta);
  }

  get run(): RunData {
    return this.shared.run;
  }

  track(kind: ResourceKind, id: string): void {
    this.shared.cleanup.track(kind, id);
  }
  untrack(kind: ResourceKind, id: string): void {
    this.shared.cleanup.untrack(kind, id);
  }

  /** A remark printed under the check's result line and kept in the report. */
  note(message: string): void {
    this.notes.push(message);
  }

  /** Ends the check as SKIP: it does not apply to this server. */
  skip(message: string): never {
    throw new SkipCheck(message);
  }

  /** Runs `fn` once per run; later callers get the same result (or the same failure). */
  memo<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let p = this.shared.memo.get(key) as Promise<T> | undefined;
    if (!p) {
      p = fn();
      this.shared.memo.set(key, p);
    }
    return p;
  }

  /** GET /ServiceProviderConfig once per run (undefined if the server has none). */
  spc(): Promise<Record<string, any> | undefined> {
    return this.memo('spc', async () => {
      const res = await this.http.get('/ServiceProviderConfig');
      return res.status === 200 && res.json && typeof res.json === 'object' ? (res.json as Record<string, any>) : undefined;
    });
  }

  sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
  }
}
