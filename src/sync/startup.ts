/**
 * Start-up of the sync engine: parse GROUP_MAPPING_FILE (a bad file stops start-up with one line, like any bad
 * setting), build the engine with its rules, and apply the rules to the groups that already exist.
 */
import type { Knex } from 'knex';
import { ConfigError, type Config } from '../config/index.js';
import type { Logger } from '../log.js';
import { SyncEngine } from './engine.js';
import { loadMappingFile, type MappingRule } from '../workspace/mapping-file.js';
import { applyEngineRules, applyMappingsAtStart } from '../workspace/group-rules.js';

export const MAPPING_ACTOR = 'system:mapping';

export async function startSync(db: Knex, config: Config, log: Logger): Promise<SyncEngine> {
  let mappings: MappingRule[] = [];
  if (config.groupMappingFile) {
    const parsed = loadMappingFile(config.groupMappingFile);
    if (!parsed.ok) throw new ConfigError(`GROUP_MAPPING_FILE ${config.groupMappingFile}: ${parsed.error}`);
    mappings = parsed.rules;
  }
  const sync = new SyncEngine({ defaultChannels: config.defaultChannels, mappings, groupRules: applyEngineRules });
  if (mappings.length) {
    const { skips, ...counts } = await applyMappingsAtStart(db, sync, { actor: MAPPING_ACTOR });
    for (const s of skips) log.warn('group mapping rule skipped', { file: config.groupMappingFile, rule: `links[${s.rule}]`, reason: s.reason });
    log.info('group mapping applied', { file: config.groupMappingFile, rules: mappings.length, ...counts });
  }
  return sync;
}
