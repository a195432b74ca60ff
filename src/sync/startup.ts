/**
 * Start-up of the sync engine and the mapping-file rules: parse GROUP_MAPPING_FILE (a bad file stops start-up with one
 * line, like any bad setting), build the engine and the group lifecycle's `applyGroupRules` port for the file's rules,
 * and apply the rules to the groups that already exist.
 */
import type { Knex } from 'knex';
import { ConfigError, type Config } from '../config/index.js';
import type { Logger } from '../log.js';
import type { ApplyGroupRules } from '../scim/use-cases/context.js';
import { SyncEngine } from './engine.js';
import { loadMappingFile, type MappingRule } from '../workspace/mapping-file.js';
import { applyMappingsAtStart, groupRulesPort } from '../workspace/group-rules.js';

export const MAPPING_ACTOR = 'system:mapping';

export interface SyncSetup {
  sync: SyncEngine;
  /** The mapping-file rules, for the group lifecycle (ScimContext.applyGroupRules); does nothing without a file. */
  applyGroupRules: ApplyGroupRules;
}

/**
 * `applyAtStart: false`: a cluster worker, whose primary applied the rules once before forking (src/cluster/primary.ts);
 * the file is still parsed, for the rules new groups meet.
 */
export async function startSync(db: Knex, config: Config, log: Logger, opts: { applyAtStart?: boolean } = {}): Promise<SyncSetup> {
  let mappings: MappingRule[] = [];
  if (config.groupMappingFile) {
    const parsed = loadMappingFile(config.groupMappingFile);
    if (!parsed.ok) throw new ConfigError(`GROUP_MAPPING_FILE ${config.groupMappingFile}: ${parsed.error}`);
    mappings = parsed.rules;
  }
  const sync = new SyncEngine({ defaultChannels: config.defaultChannels });
  if (mappings.length && opts.applyAtStart !== false) {
    const { skips, ...counts } = await applyMappingsAtStart(db, sync, mappings, { actor: MAPPING_ACTOR });
    for (const s of skips) log.warn('group mapping rule skipped', { file: config.groupMappingFile, rule: `links[${s.rule}]`, reason: s.reason });
    log.info('group mapping applied', { file: config.groupMappingFile, rules: mappings.length, ...counts });
  }
  return { sync, applyGroupRules: groupRulesPort(sync, mappings) };
}
