/**
 * The order a bulk job runs in (RFC 7644 §3.7: the service provider "MAY elect to optimize the sequence of
 * operations" but must reach "the same stateful result" as the client meant). Request order, except that a POST runs
 * before every operation that references its bulkId, whatever order they arrived in (§3.7.2). A cycle of POSTs that
 * reference each other (§3.7.1) is broken where an attribute can be split off: that POST creates its resource
 * without the circular attributes and a later step patches them in once the others exist; a cycle nothing can be
 * split from is answered 409, as §3.7.1 allows.
 */
import type { BulkOperation } from './bulk-request.js';
import { referenceOf, referencesIn, splitForCycle, unsplittableReferences } from './bulk-references.js';
import { isObj } from '../shared/json.js';
import { cleanUsername } from '../shared/username.js';

export type Step =
  /** Run operation `index`, with `data` (its own, or what is left of it after a cycle was split). */
  | { kind: 'run'; index: number; data: unknown }
  /** Patch the resource operation `index` created with the attributes split off for a cycle. */
  | { kind: 'complete'; index: number; patch: Record<string, unknown> }
  /** Operation `index` is on a cycle of references that cannot be split: answered 409 without running. */
  | { kind: 'circular'; index: number; bulkIds: string[] };

/** The bulkIds an operation references, in its data or its path. */
export function referencesOf(op: BulkOperation, data: unknown = op.data): Set<string> {
  const refs = referencesIn(data);
  const inPath = referenceOf(op.target?.id);
  if (inPath !== undefined) refs.add(inPath);
  return refs;
}

/** A binary min-heap of node numbers: ready nodes run lowest (earliest in the request) first. */
class MinHeap {
  private a: number[] = [];
  get size() { return this.a.length; }
  push(v: number) {
    const a = this.a;
    a.push(v);
    for (let i = a.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (a[p]! <= a[i]!) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }
  pop(): number {
    const a = this.a;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length) {
      a[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && a[l]! < a[m]!) m = l;
        if (r < a.length && a[r]! < a[m]!) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}

/**
 * The steps of a bulk job. Nodes 0..n-1 are the operations; a split-off completion becomes node n, n+1, ... and
 * waits for the POSTs its attributes reference. Malformed operations are steps too (answered with their fault in
 * their place), so that failOnErrors counts them where the client would.
 */
export function planBulk(ops: readonly BulkOperation[]): Step[] {
  const creator = new Map<string, number>();
  for (const op of ops) if (op.method === 'POST' && op.bulkId !== undefined) creator.set(op.bulkId, op.index);

  const deps: Set<number>[] = [];
  const dependents: number[][] = [];
  const pendingDeps: number[] = [];
  const payload: (Step & { kind: 'run' | 'complete' })[] = [];
  const done: boolean[] = [];
  const addNode = (step: Step & { kind: 'run' | 'complete' }, on: Iterable<number>): number => {
    const node = payload.length;
    payload.push(step);
    deps.push(new Set());
    dependents.push([]);
    done.push(false);
    let pending = 0;
    for (const d of on) {
      if (deps[node]!.has(d)) continue;
      deps[node]!.add(d);
      if (!done[d]) {
        pending++;
        dependents[d]!.push(node);
      }
    }
    pendingDeps.push(pending);
    return node;
  };
  const creatorsOf = (refs: Iterable<string>): number[] => [...refs].flatMap((r) => (creator.has(r) ? [creator.get(r)!] : []));

  // Operations first, so that node i is operation i; a self-reference is a dependency on itself (a cycle of one).
  // What each operation references, and which creators it references where no split can reach (a cycle through one
  // of those cannot be broken at this operation), are computed once here: the cycle walk below may meet an operation
  // at every cycle it is on, and walking its data each time made a request of one big POST on 999 cycles cost
  // seconds of CPU (1,000 x its size) while nothing else on the process ran.
  const refsOf: Set<string>[] = [];
  const stuckOn: number[][] = [];
  for (const op of ops) {
    const node = payload.length;
    payload.push({ kind: 'run', index: op.index, data: op.data });
    deps.push(new Set());
    dependents.push([]);
    done.push(false);
    pendingDeps.push(0);
    refsOf.push(op.fault ? new Set() : referencesOf(op));
    stuckOn.push(!op.fault && op.method === 'POST' && isObj(op.data) ? creatorsOf(unsplittableReferences(op.data)) : []);
    if (op.fault) continue;
    for (const d of creatorsOf(refsOf[node]!)) deps[node]!.add(d);
  }
  for (let i = 0; i < ops.length; i++) {
    pendingDeps[i] = deps[i]!.size;
    for (const d of deps[i]!) dependents[d]!.push(i);
  }
  // Each operation's dependencies as a list, and how far the cycle walk has looked along it: a dependency once done
  // stays done, so no walk looks at it again (re-scanning every list at every step made the walk cubic in a request
  // whose operations all reference each other).
  const depList = deps.map((d) => [...d]);
  const cursor = depList.map(() => 0);
  const firstUndone = (node: number): number => {
    const list = depList[node]!;
    while (done[list[cursor[node]!]!]) cursor[node]!++;
    return list[cursor[node]!]!;
  };

  const steps: Step[] = [];
  const ready = new MinHeap();
  for (let i = 0; i < ops.length; i++) if (pendingDeps[i] === 0) ready.push(i);
  let left = ops.length;
  let lowest = 0;
  const finish = (node: number) => {
    done[node] = true;
    left--;
    for (const t of dependents[node]!) if (--pendingDeps[t]! === 0 && !done[t]) ready.push(t);
  };

  while (left > 0) {
    while (ready.size) {
      const node = ready.pop();
      if (done[node]) continue;
      steps.push(payload[node]!);
      finish(node);
    }
    if (left === 0) break;
    // Stuck: every node left waits on another. Walk from the earliest waiting node along undone dependencies until a
    // node repeats: the nodes from there on are a cycle (only POSTs have dependents, so it is a cycle of POSTs).
    while (done[lowest]) lowest++;
    const seenAt = new Map<number, number>();
    const path: number[] = [];
    let cur = lowest;
    while (!seenAt.has(cur)) {
      seenAt.set(cur, path.length);
      path.push(cur);
      cur = firstUndone(cur);
    }
    const cycle = path.slice(seenAt.get(cur)!).sort((a, b) => a - b);
    let broken = false;
    for (const node of cycle) {
      const op = ops[node]!;
      if (!isObj(op.data) || stuckOn[node]!.some((c) => !done[c])) continue;
      const pending = new Set([...refsOf[node]!].filter((r) => creator.has(r) && !done[creator.get(r)!]));
      const split = splitForCycle(op.data, pending);
      if (!split) continue;
      steps.push({ kind: 'run', index: node, data: split.data });
      finish(node);
      addNode({ kind: 'complete', index: node, patch: split.patch }, creatorsOf(referencesIn(split.patch)));
      const completion = payload.length - 1;
      left++;
      if (pendingDeps[completion] === 0) ready.push(completion);
      broken = true;
      break;
    }
    if (broken) continue;
    // One list for the whole cycle, shared by its steps (a copy per step is quadratic in the cycle's length).
    const bulkIds = cycle.map((n) => ops[n]!.bulkId!).filter((b) => b !== undefined);
    for (const node of cycle) {
      steps.push({ kind: 'circular', index: node, bulkIds });
      finish(node);
    }
  }
  return steps;
}

/**
 * What would make two user POSTs' outcomes depend on their order: the same userName, externalId or email (the later
 * one is a 409 when run after the other), or workspace usernames from one base (the suffixes handed out would swap).
 * Values are compared lower-cased: a pair that only a full Unicode case fold equates is rare enough to run together,
 * and then the database still refuses the duplicate, whichever comes second.
 */
function userKeys(data: unknown): string[] {
  if (!isObj(data)) return [];
  const keys: string[] = [];
  const userName = data.userName;
  if (typeof userName === 'string') keys.push(`u:${userName.toLowerCase()}`, `w:${cleanUsername(userName).replace(/\d+$/, '').slice(0, 60)}`);
  if (typeof data.externalId === 'string') keys.push(`x:${data.externalId}`);
  if (Array.isArray(data.emails)) for (const e of data.emails) if (isObj(e) && typeof e.value === 'string') keys.push(`e:${e.value.toLowerCase()}`);
  return keys;
}

/**
 * The steps in batches whose members may run at the same time: consecutive user POSTs that reference nothing created
 * in their own batch and share no key (above), so any order of them ends in the state the sequence would. Everything
 * else (PUT, PATCH, DELETE, group POSTs, whose group rules may create teams, completions) is a batch of its own.
 * `concurrent: false` (SQLite's one writer; failOnErrors, which must stop exactly after the N-th error) gives
 * batches of one.
 */
export function batchesOf(steps: readonly Step[], ops: readonly BulkOperation[], concurrent: boolean): Step[][] {
  const batches: Step[][] = [];
  let open: { steps: Step[]; keys: Set<string>; bulkIds: Set<string> } | undefined;
  for (const step of steps) {
    const op = ops[step.index]!;
    const joinable = concurrent && step.kind === 'run' && !op.fault && op.method === 'POST' && op.target?.kind === 'Users';
    if (!joinable) {
      open = undefined;
      batches.push([step]);
      continue;
    }
    const keys = userKeys(step.data);
    const refs = referencesOf(op, step.data);
    if (open && (keys.some((k) => open!.keys.has(k)) || [...refs].some((r) => open!.bulkIds.has(r)))) open = undefined;
    if (!open) {
      open = { steps: [], keys: new Set(), bulkIds: new Set() };
      batches.push(open.steps);
    }
    open.steps.push(step);
    for (const k of keys) open.keys.add(k);
    if (op.bulkId !== undefined) open.bulkIds.add(op.bulkId);
  }
  return batches;
}
