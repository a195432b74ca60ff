/**
 * Workspace roles from the IdP.
 * - `users.system_role`: the person's one system role, `member` (Mattermost `system_user`), `admin`
 *   (`system_user system_admin`) or `guest` (`system_guest`), decided from the SCIM `roles` values by the role mapping
 *   (src/workspace/roles.ts). Existing people are members, as Mattermost's `users.roles` defaults to `system_user`.
 * - `group_teams.allow_guests` / `group_channels.allow_guests`: a link adds guests only when it says so. Mattermost
 *   gives guests nothing by default ("guests see only the teams and channels they are given",
 *   docs onboard/guest-accounts.rst); the flag is how an admin gives them a linked team or channel.
 * The CHECK keeps the column to the three values whatever writes it.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.string('system_role', 16).notNullable().defaultTo('member').checkIn(['member', 'admin', 'guest'], 'users_system_role_check');
  });
  for (const table of ['group_teams', 'group_channels']) {
    await knex.schema.alterTable(table, (t) => { t.boolean('allow_guests').notNullable().defaultTo(false); });
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['group_teams', 'group_channels']) await knex.schema.alterTable(table, (t) => { t.dropColumn('allow_guests'); });
  await knex.schema.alterTable('users', (t) => { t.dropChecks(['users_system_role_check']); });
  await knex.schema.alterTable('users', (t) => { t.dropColumn('system_role'); });
}
