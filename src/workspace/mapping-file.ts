/**
 * The group mapping file (GROUP_MAPPING_FILE): declared group → team/channel links, so a deployment can be set up
 * without clicks (Mattermost links groups by hand: System Console > Groups, or api4/group.go). This module only parses
 * and validates; it never throws and never touches the database. Shape:
 *
 *   {"links": [{"group": {"externalId": "..."} | {"displayName": "..."},
 *               "team": "team-name", "channel": "channel-name"?,
 *               "autoAdd": true, "schemeAdmin": false, "allowGuests": false,
 *               "createTeam": {"displayName": "...", "type": "O", "groupConstrained": false}?,
 *               "createChannel": {"displayName": "...", "type": "O", "groupConstrained": false}?}]}
 *
 * A group matches by exact externalId (stable; preferred) or by exact displayName (breaks on rename; display names are
 * not unique, RFC 7643 §4.2, so a displayName rule applies to every group of that name).
 */
import { readFileSync } from 'node:fs';
import { isObj } from '../scim/shared/json.js';
import { channelNameProblem, displayNameProblem, teamNameProblem } from './names.js';

export type GroupMatch = { externalId: string } | { displayName: string };

export interface MappingRule {
  group: GroupMatch;
  team: string;
  channel?: string;
  autoAdd: boolean;
  schemeAdmin: boolean;
  /** The link adds guests too (src/workspace/links.ts LinkInput). */
  allowGuests: boolean;
  /** Create the team (with its default channels) when the rule applies and no team has this name. */
  createTeam?: { displayName: string; type: 'O' | 'I'; groupConstrained: boolean };
  /** Create the channel in the team when the rule applies and the team has no channel of this name. */
  createChannel?: { displayName: string; type: 'O' | 'P'; groupConstrained: boolean };
}

export type MappingResult = { ok: true; rules: MappingRule[] } | { ok: false; error: string };

type Obj = Record<string, unknown>;

class Invalid extends Error {}

function only(o: Obj, where: string, keys: string[]): void {
  const extra = Object.keys(o).find((k) => !keys.includes(k));
  if (extra !== undefined) throw new Invalid(`${where}: unknown key "${extra}" (allowed: ${keys.join(', ')})`);
}

function optBool(o: Obj, key: string, where: string, def: boolean): boolean {
  const v = o[key];
  if (v === undefined) return def;
  if (typeof v !== 'boolean') throw new Invalid(`${where}.${key} must be true or false`);
  return v;
}

function nonEmpty(o: Obj, key: string, where: string): string {
  const v = o[key];
  if (typeof v !== 'string' || !v) throw new Invalid(`${where}.${key} must be a non-empty string`);
  return v;
}

function parseGroup(v: unknown, where: string): GroupMatch {
  if (!isObj(v)) throw new Invalid(`${where} must be {"externalId": "..."} or {"displayName": "..."}`);
  only(v, where, ['externalId', 'displayName']);
  const keys = Object.keys(v);
  if (keys.length !== 1) throw new Invalid(`${where} must name the group by exactly one of externalId or displayName`);
  return keys[0] === 'externalId' ? { externalId: nonEmpty(v, 'externalId', where) } : { displayName: nonEmpty(v, 'displayName', where) };
}

function parseCreate<T extends 'O' | 'I' | 'P'>(v: unknown, where: string, what: 'team' | 'channel', types: readonly T[]) {
  if (!isObj(v)) throw new Invalid(`${where} must be an object`);
  only(v, where, ['displayName', 'type', 'groupConstrained']);
  const displayName = v.displayName;
  const dp = displayNameProblem(what, displayName);
  if (dp) throw new Invalid(`${where}.displayName: ${dp}`);
  const type = (v.type ?? types[0]) as T;
  if (!types.includes(type)) throw new Invalid(`${where}.type must be one of ${types.map((t) => `"${t}"`).join(', ')}`);
  return { displayName: displayName as string, type, groupConstrained: optBool(v, 'groupConstrained', where, false) };
}

function parseRule(v: unknown, where: string): MappingRule {
  if (!isObj(v)) throw new Invalid(`${where} must be an object`);
  only(v, where, ['group', 'team', 'channel', 'autoAdd', 'schemeAdmin', 'allowGuests', 'createTeam', 'createChannel']);
  const group = parseGroup(v.group, `${where}.group`);
  const tp = teamNameProblem(v.team);
  if (tp) throw new Invalid(`${where}.team: ${tp}`);
  const rule: MappingRule = {
    group, team: v.team as string,
    autoAdd: optBool(v, 'autoAdd', where, true), schemeAdmin: optBool(v, 'schemeAdmin', where, false), allowGuests: optBool(v, 'allowGuests', where, false),
  };
  if (v.channel !== undefined) {
    const cp = channelNameProblem(v.channel);
    if (cp) throw new Invalid(`${where}.channel: ${cp}`);
    rule.channel = v.channel as string;
  }
  if (v.createTeam !== undefined) rule.createTeam = parseCreate(v.createTeam, `${where}.createTeam`, 'team', ['O', 'I'] as const);
  if (v.createChannel !== undefined) {
    if (rule.channel === undefined) throw new Invalid(`${where}.createChannel needs "channel"`);
    rule.createChannel = parseCreate(v.createChannel, `${where}.createChannel`, 'channel', ['O', 'P'] as const);
  }
  return rule;
}

const keyOf = (r: MappingRule) => JSON.stringify(['externalId' in r.group ? `e:${r.group.externalId}` : `d:${r.group.displayName}`, r.team, r.channel ?? null]);

/** Parse the file's text. Errors are one line and name the offending entry, e.g. `links[2].team: ...`. */
export function parseMapping(text: string): MappingResult {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { ok: false, error: `not valid JSON (${(err as Error).message.split('\n')[0]})` };
  }
  try {
    if (!isObj(doc)) throw new Invalid('the file must hold a JSON object {"links": [...]}');
    only(doc, 'the file', ['links']);
    if (!Array.isArray(doc.links)) throw new Invalid('"links" must be a list');
    const rules = doc.links.map((r, i) => parseRule(r, `links[${i}]`));
    const seen = new Map<string, number>();
    rules.forEach((r, i) => {
      const k = keyOf(r);
      if (seen.has(k)) throw new Invalid(`links[${i}] repeats links[${seen.get(k)}] (same group, team and channel)`);
      seen.set(k, i);
    });
    return { ok: true, rules };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, error: err.message };
    throw err;
  }
}

export function loadMappingFile(path: string): MappingResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { ok: false, error: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
  return parseMapping(text);
}

/** Does the rule name this group? externalId and displayName both match exactly (case and all). */
export function ruleMatches(rule: MappingRule, group: { externalId: string | null; displayName: string }): boolean {
  return 'externalId' in rule.group ? group.externalId === rule.group.externalId : group.displayName === rule.group.displayName;
}
