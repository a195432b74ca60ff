/**
 * The conformance suites (Entra, Okta and RFC replays: conformance/) against a server whose connector delivers into
 * the Mattermost contract fake: SCIM behaves exactly as without the connector (every check passes), and afterwards
 * Mattermost holds what the store says. A person Mattermost cannot hold (it needs an email address; the replays
 * create some without one) is parked with that reason, visibly, and nothing else is.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { ROOT, stores } from '../helpers/server.ts';
import { assertMirrors, drained, parked, startRig } from '../helpers/connector.ts';

for (const store of stores()) {
  describe(`conformance with the connector on (${store})`, () => {
    test('every check passes, then Mattermost mirrors the store', async () => {
      const rig = await startRig(store);
      try {
        // The CLI as CI runs it (its module runs itself on import), against this in-process server.
        const run = spawn(process.execPath, ['--import', 'tsx', 'conformance/main.ts', '--url', rig.server.base, '--token', rig.server.token, '--suite', 'all'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        run.stdout.on('data', (d) => { out += d; });
        run.stderr.on('data', (d) => { out += d; });
        const code = await new Promise<number | null>((resolve) => run.once('close', resolve));
        assert.equal(code, 0, out.split('\n').filter((l) => /fail|error/i.test(l)).slice(0, 20).join('\n'));
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
