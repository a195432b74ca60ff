/**
 * PATCH one member into a group, then out again (`members[value eq "id"]`), for a group of 10 members and for the
 * largest group (100,000 members at the default size), interleaved. Issue 3: the large one may take at most 1.25
 * times as long.
 */
import type autocannon from 'autocannon';
import { interleave } from '../lib/load.js';
import { PATCH_OP, type Ctx, type Scenario } from '../lib/scenario.js';

/** Requests that add a spare user to the group, then remove the same user. */
function addThenRemove(ctx: Ctx, groupId: string): autocannon.Request[] {
  let n = 0;
  const path = `/scim/v2/Groups/${groupId}`;
  return [
    {
      method: 'PATCH', path,
      setupRequest: (req, context: any) => {
        // A spare user (in no group) per add/remove pair; the context carries it to the remove.
        context.user = ctx.fx.spareIds[n++ % ctx.fx.spareIds.length];
        return { ...req, body: JSON.stringify({ schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: context.user }] }] }) };
      },
    },
    {
      method: 'PATCH', path,
      setupRequest: (req, context: any) => ({ ...req, body: JSON.stringify({ schemas: [PATCH_OP], Operations: [{ op: 'remove', path: `members[value eq "${context.user}"]` }] }) }),
    },
  ];
}

/** The two group sizes interleaved; the outcome is the large group's, the 10-member group's rides along. */
export const groupPatch: Scenario = {
  name: 'group-patch',
  shape: 'PATCH group',
  at: 'largest',
  async run(ctx) {
    const big = ctx.fx.bigGroups[0]!;
    const [large, small] = await interleave({ url: ctx.url, token: ctx.token, connections: ctx.connections, duration: ctx.duration }, [
      addThenRemove(ctx, big.id),
      addThenRemove(ctx, ctx.fx.smallGroup.id),
    ]);
    return {
      ...large!,
      as: 'group-patch-big',
      connections: ctx.connections,
      note: `group of ${big.members} members`,
      also: [{ scenario: 'group-patch-10', outcome: { ...small!, connections: ctx.connections, note: 'group of 10 members, interleaved with the above' } }],
    };
  },
};
