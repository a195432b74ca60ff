/** What a scenario is given and returns, and the request shapes the bare-express baseline is measured with. */
import type { Fixtures } from './seed.js';
import { userBody } from './seed.js';
import type { LoadResult, Recorder } from './load.js';
import type { FakeProc } from './mattermost.js';

export interface Ctx {
  /** http://127.0.0.1:PORT (an origin: scenarios add the path) */
  url: string;
  /** The SCIM base path on `url`: /scim/v2 on this server, whatever --compare names on another one. */
  scimPath?: string;
  token: string;
  fx: Fixtures;
  connections: number;
  duration: number;
  /** Size of the Entra replay: 1 is 10,000 users, 100 groups, 20,000 memberships. */
  entraScale: number;
  /** Where an interleaved scenario adds each slice's responses (load's second argument). */
  rec?: Recorder;
  /** The server's database (scenarios that read what the server wrote, e.g. the outbox). */
  dbUrl?: string;
  /** With --connector: the admin API's token and the Mattermost fake the server delivers into. */
  connector?: { adminToken: string; mm: FakeProc; maxRps: number; mmRateLimit: string | undefined; concurrency: number; drainTimeoutS: number };
}

export interface Outcome extends LoadResult {
  connections: number;
  /** Anything worth printing beside the figures (pages walked, objects per second...). */
  note?: string;
  /** The server process's CPU (user + system) per request over the run, when measured (runOne). */
  cpuUsPerRequest?: number;
  /** PostgreSQL's CPU per request (every `postgres` process), on PostgreSQL runs. */
  dbCpuUsPerRequest?: number;
  /** Why the p99 target does not apply, if it does not. */
  p99Exempt?: string;
  /** The row's name when it is not the scenario's (a pair names each of its rows). */
  as?: string;
  /** Outcomes of companion scenarios measured in the same run, interleaved with this one (compared pairs). */
  also?: { scenario: string; outcome: Outcome }[];
}

export interface Scenario {
  name: string;
  /** The bare-express request with the same method and body shape, for the ratio. */
  shape: ShapeName;
  /** `each`: at every --users size; `largest`: only at the largest; `own`: on its own fresh, empty database. */
  at: 'each' | 'largest' | 'own';
  /** Only on a server with the Mattermost connector on (--connector). */
  needsConnector?: boolean;
  /** Run on every size at once in alternating slices (its sizes are compared); run() must pass ctx.rec to load(). */
  interleaveSizes?: boolean;
  run(ctx: Ctx): Promise<Outcome>;
}

export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** Request shapes for the baseline: the same method, path style and body size as the scenarios that use them. */
export const SHAPES = {
  'GET': { method: 'GET', path: '/scim/v2/Users?filter=userName%20eq%20%22user1%40bench.example.com%22' },
  'POST user': { method: 'POST', path: '/scim/v2/Users', body: JSON.stringify(userBody('user1@bench.example.com', 'ext-1', 1)) },
  'PUT user': { method: 'PUT', path: '/scim/v2/Users/2819c223-7f76-453a-919d-413861904646', body: JSON.stringify(userBody('user1@bench.example.com', 'ext-1', 1)) },
  'PATCH user': {
    method: 'PATCH', path: '/scim/v2/Users/2819c223-7f76-453a-919d-413861904646',
    body: JSON.stringify({ schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'displayName', value: 'Bench User 1 (1)' }] }),
  },
  'PATCH group': {
    method: 'PATCH', path: '/scim/v2/Groups/2819c223-7f76-453a-919d-413861904646',
    body: JSON.stringify({ schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: '2819c223-7f76-453a-919d-413861904646' }] }] }),
  },
} as const;
export type ShapeName = keyof typeof SHAPES;

export const q = (filter: string) => encodeURIComponent(filter);

/** The SCIM base path requests go to (scenarios that also run against a --compare server use it). */
export const scimBase = (ctx: Pick<Ctx, 'scimPath'>) => ctx.scimPath ?? '/scim/v2';

/** Rounds a number of users down into a readable label: 1000 -> 1k, 100000 -> 100k. */
export const sizeLabel = (n: number) => (n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n));
