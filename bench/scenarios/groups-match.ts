/**
 * Entra's group match query, GET /Groups?excludedAttributes=members&filter=displayName eq "x", on the largest groups
 * and on empty groups, interleaved. Members must not be read at all, so both must be as fast (issue 3).
 */
import { interleave } from '../lib/load.js';
import { q, type Scenario } from '../lib/scenario.js';
import type autocannon from 'autocannon';

function match(names: string[]): autocannon.Request[] {
  let n = 0;
  return [{ method: 'GET', setupRequest: (req) => ({ ...req, path: `/scim/v2/Groups?excludedAttributes=members&filter=${q(`displayName eq "${names[n++ % names.length]}"`)}` }) }];
}

export const groupsMatch: Scenario = {
  name: 'groups-match',
  shape: 'GET',
  at: 'largest',
  async run(ctx) {
    const [big, empty] = await interleave({ url: ctx.url, token: ctx.token, connections: ctx.connections, duration: ctx.duration }, [
      match(ctx.fx.bigGroups.map((g) => g.name)),
      match(ctx.fx.emptyGroups.map((g) => g.name)),
    ]);
    return {
      ...big!,
      as: 'groups-match-big',
      connections: ctx.connections,
      note: `${ctx.fx.bigGroups.length} groups of ${ctx.fx.bigGroups[0]!.members} members`,
      also: [{ scenario: 'groups-match-empty', outcome: { ...empty!, connections: ctx.connections, note: `${ctx.fx.emptyGroups.length} empty groups, interleaved with the above` } }],
    };
  },
};
