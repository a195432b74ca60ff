/**
 * The SCIM /Groups resource (RFC 7644 §3) as a SCIMMY resource. SCIMMY's own Group flow is read-modify-write of the
 * whole member list (adding one member coerces every member, in time and memory), so every method is ours:
 * targeted SQL for members, projection that never reads members when they are not wanted.
 */
import SCIMMY from 'scimmy';
import type { ScimContext } from '../use-cases/context.js';
import { handlerFailure, scimError } from '../shared/errors.js';
import { parseCollectionQuery } from '../query/collection-query.js';
import { cursorsFor } from '../query/page-cursors.js';
import { groupToScim, memberToScim, projection, type Projection } from '../shared/group-representation.js';
import { planGroupPatch } from '../patch/group-patch.js';
import { changeGroup, createGroup, deleteGroup, groupFromScim, replaceGroup } from '../use-cases/group-lifecycle.js';
import { getGroup, loadMembers, memberPages, type GroupRow } from '../../store/groups.js';
import { groupListing, listGroupPage } from '../../store/group-list.js';
import type { ResourceResult } from '../shared/resource-result.js';

type Json = Record<string, any>;
const failure = (ctx: ScimContext, err: unknown): Error => handlerFailure(err, ctx);

/** The group as SCIM, reading members only when the projection wants them. */
async function render(ctx: ScimContext, row: GroupRow, p: Projection): Promise<ResourceResult> {
  const members = p.has('members') ? (await loadMembers(ctx.db, [row.id])).get(row.id) ?? [] : undefined;
  return { body: groupToScim(row, members, ctx.config.publicUrl, p), version: row.version };
}

/**
 * GET of one group with its members, streamed: members are read in keyset pages and serialised a page at a time, so
 * a 100,000-member group costs one page in memory, not all its rows, objects and JSON text at once.
 */
async function streamGroup(ctx: ScimContext, row: GroupRow, p: Projection): Promise<ResourceResult> {
  if (!p.has('members')) return render(ctx, row, p);
  const head = JSON.stringify(groupToScim(row, undefined, ctx.config.publicUrl, p));
  return { stream: groupText(ctx, row.id, head), version: row.version };
}

/** The group's JSON text: `head` (the group without members) with its members added last, page by page. */
async function* groupText(ctx: ScimContext, groupId: string, head: string): AsyncGenerator<string> {
  try {
    yield `${head.slice(0, -1)},"members":[`;
    let first = true;
    for await (const page of memberPages(ctx.db, groupId)) {
      const text = page.map((m) => JSON.stringify(memberToScim(m, ctx.config.publicUrl))).join(',');
      yield first ? text : `,${text}`;
      first = false;
    }
    yield ']}';
  } catch (err) {
    throw failure(ctx, err);
  }
}

async function listGroups(ctx: ScimContext, p: Projection) {
  const parsed = parseCollectionQuery(ctx.query, groupListing(ctx.db), { defaultCount: ctx.config.defaultPageSize, maxResults: ctx.config.maxResults });
  if (!parsed.ok) throw parsed.error;
  const cq = parsed.value;
  const { groups, members, total } = await listGroupPage(ctx.db, cq, { members: p.has('members'), cursors: cursorsFor(ctx.db) });
  const list = new SCIMMY.Messages.ListResponse([], { totalResults: 0 });
  return Object.assign(list, {
    Resources: groups.map((r) => groupToScim(r, members ? members.get(r.id) ?? [] : undefined, ctx.config.publicUrl, p)),
    totalResults: total,
    startIndex: cq.startIndex,
    itemsPerPage: groups.length,
  });
}

/**
 * Each method answers a ResourceResult (src/scim/shared/resource-result.ts) for src/http/resource-routes.ts to write,
 * not the SCIMMY value the base class declares: nothing else calls them.
 */
export class GroupResource extends SCIMMY.Resources.Group {
  override async read(ctx?: any): Promise<any> {
    const c = ctx as ScimContext;
    try {
      const p = projection(c.query);
      if (!this.id) return { body: await listGroups(c, p) } satisfies ResourceResult;
      const row = await getGroup(c.db, this.id);
      if (!row) throw scimError(404, null, `Group ${this.id} not found`);
      return await streamGroup(c, row, p);
    } catch (err) {
      throw failure(c, err);
    }
  }

  override async write(instance: any, ctx?: any): Promise<any> {
    const c = ctx as ScimContext;
    try {
      const input = groupFromScim(instance);
      const p = projection(c.query);
      if (!this.id) {
        const row = await createGroup(c, input);
        return { ...(await render(c, row, p)), location: `${c.config.publicUrl}/Groups/${row.id}` } satisfies ResourceResult;
      }
      return await render(c, await replaceGroup(c, this.id, input), p);
    } catch (err) {
      throw failure(c, err);
    }
  }

  /**
   * Answers 204 (what Entra's SCIM endpoint tutorial expects for group PATCH; RFC 7644 §3.5.2 allows it), or 200 with
   * the group when the client asks for attributes, so a membership change never returns the whole member list unasked.
   */
  override async patch(message: any, ctx?: any): Promise<any> {
    const c = ctx as ScimContext;
    try {
      if (!this.id) throw scimError(404, null, 'PATCH must target a group');
      const plan = planGroupPatch(message, this.id);
      if (!plan.ok) throw scimError(400, plan.error.scimType, plan.error.detail);
      const row = await changeGroup(c, this.id, plan.changes);
      if (c.query.attributes === undefined && c.query.excludedAttributes === undefined) return { version: row.version } satisfies ResourceResult;
      return await render(c, row, projection(c.query));
    } catch (err) {
      throw failure(c, err);
    }
  }

  override async dispose(ctx?: any): Promise<any> {
    const c = ctx as ScimContext;
    try {
      if (!this.id) throw scimError(404, null, 'DELETE must target a group');
      await deleteGroup(c, this.id);
      return {} satisfies ResourceResult;
    } catch (err) {
      throw failure(c, err);
    }
  }
}

export function declareGroups(): void {
  // Declared by its RFC name, so /ResourceTypes/Group resolves (SCIMMY keys declarations by name).
  SCIMMY.Resources.declare(GroupResource as any, { name: 'Group' } as any);
}
