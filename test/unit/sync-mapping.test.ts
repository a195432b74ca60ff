/** The mapping-file parser and the Mattermost name rules: pure functions, no database. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMapping, ruleMatches } from '../../src/workspace/mapping-file.ts';
import { channelNameProblem, defaultDisplayName, teamNameProblem } from '../../src/workspace/names.ts';

test('a valid file parses with defaults (autoAdd true, schemeAdmin false, allowGuests false)', () => {
  const r = parseMapping(JSON.stringify({ links: [
    { group: { externalId: 'e1' }, team: 'eng' },
    { group: { displayName: 'Sales' }, team: 'sales', channel: 'deals', autoAdd: false, schemeAdmin: true, allowGuests: true, createTeam: { displayName: 'Sales' }, createChannel: { displayName: 'Deals', type: 'P' } },
  ] }));
  assert.ok(r.ok);
  assert.deepEqual(r.rules[0], { group: { externalId: 'e1' }, team: 'eng', autoAdd: true, schemeAdmin: false, allowGuests: false });
  assert.deepEqual([r.rules[1]!.autoAdd, r.rules[1]!.schemeAdmin, r.rules[1]!.allowGuests], [false, true, true]);
  assert.deepEqual(r.rules[1]!.createTeam, { displayName: 'Sales', type: 'O', groupConstrained: false });
  assert.deepEqual(r.rules[1]!.createChannel, { displayName: 'Deals', type: 'P', groupConstrained: false });
  assert.deepEqual(parseMapping('{"links": []}'), { ok: true, rules: [] });
});

test('invalid files give one line naming the entry, never throw', () => {
  const bad: [unknown, RegExp][] = [
    ['[', /not valid JSON/],
    [[], /must hold a JSON object/],
    [{ rules: [] }, /unknown key "rules"/],
    [{ links: {} }, /"links" must be a list/],
    [{ links: [{ team: 'eng' }] }, /links\[0\]\.group must be/],
    [{ links: [{ group: { externalId: '' }, team: 'eng' }] }, /links\[0\]\.group\.externalId must be a non-empty string/],
    [{ links: [{ group: { externalId: 'x' }, team: 'eng', channel: 'Bad Channel' }] }, /links\[0\]\.channel: channel name/],
    [{ links: [{ group: { externalId: 'x' }, team: 'eng', createChannel: { displayName: 'x' } }] }, /createChannel needs "channel"/],
    [{ links: [{ group: { externalId: 'x' }, team: 'eng', createTeam: { displayName: 'x', type: 'P' } }] }, /createTeam\.type must be one of "O", "I"/],
    [{ links: [{ group: { externalId: 'x' }, team: 'eng', createTeam: { displayName: '' } }] }, /createTeam\.displayName/],
    [{ links: [{ group: { externalId: 'x' }, team: 'eng', allowGuests: 'yes' }] }, /^links\[0\]\.allowGuests must be true or false$/],
  ];
  for (const [doc, msg] of bad) {
    const r = parseMapping(typeof doc === 'string' ? doc : JSON.stringify(doc));
    assert.equal(r.ok, false, JSON.stringify(doc));
    if (!r.ok) {
      assert.match(r.error, msg);
      assert.ok(!r.error.includes('\n'));
    }
  }
});

test('rules match a group by exact externalId or exact displayName', () => {
  const byExt = { group: { externalId: 'E1' }, team: 'eng', autoAdd: true, schemeAdmin: false, allowGuests: false };
  const byName = { group: { displayName: 'Sales' }, team: 'eng', autoAdd: true, schemeAdmin: false, allowGuests: false };
  assert.equal(ruleMatches(byExt, { externalId: 'E1', displayName: 'x' }), true);
  assert.equal(ruleMatches(byExt, { externalId: 'e1', displayName: 'x' }), false);
  assert.equal(ruleMatches(byExt, { externalId: null, displayName: 'E1' }), false);
  assert.equal(ruleMatches(byName, { externalId: null, displayName: 'Sales' }), true);
  assert.equal(ruleMatches(byName, { externalId: null, displayName: 'sales' }), false);
});

test('Mattermost team and channel names', () => {
  for (const ok of ['ab', 'eng', 'eng-2', 'a__b', 'x'.repeat(64), '9lives']) assert.equal(teamNameProblem(ok), null, ok);
  for (const bad of ['a', 'Eng', 'eng_team', '-eng', 'eng-', 'a__b__c', 'x'.repeat(65), 'admin', 'administration', 'apiary', 'posters', 'boards2']) assert.notEqual(teamNameProblem(bad), null, bad);
  for (const ok of ['a', 'town-square', 'a_b', 'abc-', 'x'.repeat(64)]) assert.equal(channelNameProblem(ok), null, ok);
  for (const bad of ['', '-a', '_a', 'A', 'a b', 'x'.repeat(65)]) assert.notEqual(channelNameProblem(bad), null, bad);
  assert.equal(defaultDisplayName('town-square'), 'Town Square');
  assert.equal(defaultDisplayName('off-topic'), 'Off-Topic');
});
