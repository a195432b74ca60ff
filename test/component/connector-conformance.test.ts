/**
 * The conformance suites (Entra, Okta and RFC replays: conformance/) against a server whose connector delivers into
 * the Mattermost contract fake: SCIM behaves exactly as without the connector (every check passes), and afterwards
 * Mattermost holds what the store says. A person Mattermost cannot hold (it needs an email address; the replays
 * create some without one) is parked with that reason, visibly, and nothing else is.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { main as conformance } from '../../conformance/main.ts';
import { stores } from '../helpers/server.ts';
import { assertMirrors, drained, parked, startRig } from '../helpers/connector.ts';

for (const store of stores()) {
  describe(`conformance with the connector on (${store})`, () => {
    test('every check passes, then Mattermost mirrors the store', async () => {
      const rig = await startRig(store);
      try {
        const write = process.stdout.write.bind(process.stdout);
        const out: string[] = [];
        process.stdout.write = ((chunk: string) => { out.push(String(chunk)); return true; }) as typeof process.stdout.write;
        let code: number;
        try {
          code = await conformance(['node', 'conformance', '--url', rig.server.base, '--token', rig.server.token, '--suite', 'all']);
        } finally {
          process.stdout.write = write;
        }
        assert.equal(code, 0, out.join('').split('\n').filter((l) => /fail/i.test(l)).slice(0, 20).join('\n'));
        await drained(rig.sql, 60_000);
        const stuck = await parked(rig.sql);
        const unsendable = new Set<string>();
        for (const p of stuck) {
          assert.match(p.last_error, /needs an email address/, `only people without an email are parked: ${p.entity_key}: ${p.last_error}`);
          unsendable.add(p.entity_key.slice('user:'.length));
        }
        await assertMirrors(rig.sql, rig.mm, { unsendable });
        const n = Number((await rig.sql('mattermost_bindings').where({ kind: 'user' }).count({ n: '*' }))[0]!.n);
        assert.ok(n > 20, `the replays provisioned people into Mattermost (${n})`);
        console.log(`# conformance into Mattermost [${store}]: ${n} accounts, ${stuck.length} parked (no email)`);
      } finally {
        await rig.stop();
      }
    });
  });
}
