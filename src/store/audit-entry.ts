/**
 * What an audit row says: the closed set of operations and the entry a use-case writes. Kept apart from audit.ts so
 * the outbox, which audit.ts calls, can read entries without importing audit.ts back.
 */

/**
 * What an audit row records (`audit_log.operation`, the metrics' `operation` label). Stored as these exact strings:
 * existing rows and their readers depend on them.
 *
 * SCIM users:
 * - `create_user`: a user was provisioned (POST /Users).
 * - `restore_user`: a POST with the externalId of a deleted user brought that user back.
 * - `update_user`: a PUT or PATCH changed a user's attributes.
 * - `rebind_user`: a PUT or PATCH changed a user's externalId.
 * - `deactivate_user`: `active` became false; their sessions were revoked.
 * - `reactivate_user`: `active` became true again.
 * - `delete_user`: SCIM DELETE; the record is kept, the person leaves their groups.
 * - `purge_user`: the CLI removed a user's row for good.
 * - `bind_user`: a POST whose externalId was unknown and whose primary email was an imported person's, not yet bound to
 *   an IdP identity (`cli import mattermost`), bound that person: externalId and the IdP's attributes set, workspace
 *   username kept.
 * - `change_role`: a person's system role (member, admin, guest) changed because their SCIM `roles` did
 *   (`before.systemRole`, `after.systemRole`, `after.roles`: the values that decided it); also written at creation
 *   when the role is not member. Mattermost follows through the outbox (roles, guest promote/demote).
 *
 * SCIM groups:
 * - `create_group`: a group was provisioned (POST /Groups).
 * - `restore_group`: a POST with the externalId of a deleted group brought it back, links kept.
 * - `rename_group`: a group's displayName changed.
 * - `rebind_group`: a group's externalId changed.
 * - `delete_group`: SCIM DELETE of a group; its members were removed.
 * - `add_group_member`: a person joined a group.
 * - `remove_group_member`: a person left a group (a group PATCH or PUT, or the person's deletion: cause `delete_user`).
 *
 * Teams and channels (admin API, CLI, mapping file):
 * - `create_team`: a team was created with its default channels.
 * - `update_team`: a team's displayName, type or groupConstrained changed.
 * - `archive_team`: a team was archived.
 * - `create_channel`: a channel was created in a team.
 * - `update_channel`: a channel's displayName, type or groupConstrained changed.
 * - `archive_channel`: a channel was archived.
 *
 * Memberships of teams and channels (the sync or an admin; `cause` says which):
 * - `team_add`: a person joined a team (or a tombstoned membership came back: `after.readded`).
 * - `team_remove`: a person's team membership was tombstoned.
 * - `team_promote`: a team member became scheme admin.
 * - `team_demote`: a team member stopped being scheme admin.
 * - `channel_add`: a person joined a channel (or came back: `after.readded`).
 * - `channel_remove`: a person's channel membership was tombstoned.
 * - `channel_promote`: a channel member became scheme admin.
 * - `channel_demote`: a channel member stopped being scheme admin.
 *
 * Group links:
 * - `link_team`: a group was linked to a team.
 * - `update_team_link`: a group-team link's autoAdd, schemeAdmin or allowGuests changed.
 * - `unlink_team`: a group-team link was deleted.
 * - `link_channel`: a group was linked to a channel.
 * - `update_channel_link`: a group-channel link's autoAdd, schemeAdmin or allowGuests changed.
 * - `unlink_channel`: a group-channel link was deleted.
 * - `mapping_skipped`: a mapping-file rule matched a group but could not apply (reason in `after`).
 * - `reconcile`: a reconcile ran (admin API, CLI), with its scope and counts.
 *
 * Mattermost bulk-import files (`cli import mattermost`; `after.matched` says whether it already existed here):
 * - `import_team`: a team of the file was created (with its default channels) or matched by name.
 * - `import_channel`: a channel of the file was created or matched by team and name.
 * - `import_user`: a person of the file was created (not yet bound to an IdP identity) or matched by email.
 *   Their memberships are `team_add` / `channel_add` rows with cause `import`.
 *
 * Tokens:
 * - `create_token`: a SCIM or admin bearer token was created.
 * - `revoke_token`: a token was revoked.
 *
 * OAuth clients (resource: the client; never a secret or a token in `before`/`after`):
 * - `create_client`: an OAuth client was registered (CLI or admin API).
 * - `add_client_secret`: a client was given another secret (rotation); `after` has its id and expiry.
 * - `revoke_client_secret`: one of a client's secrets was revoked (`after.tokensRevoked` when its tokens ended too).
 * - `revoke_client`: a client was revoked with every token it held.
 * - `issue_token`: the token endpoint issued an access token (`after`: grant type, grant id, scopes, expiry).
 * - `approve_authorization`: an admin approved a client on the consent page (RFC 6749 §4.1); a code was issued.
 * - `revoke_grant`: a spent code or refresh token was presented again; every token of its grant was revoked.
 *
 * The Mattermost connector (resource: the entity delivered; `cause` the outbox row ids):
 * - `connector_deliver`: Mattermost was brought in line with an entity (`after`: the effect and Mattermost's id).
 * - `connector_park`: a delivery failed in a way retrying cannot fix; parked with its reason (`after.error`).
 * - `connector_retry`: an admin put a parked delivery back in line.
 * - `connector_discard`: an admin dropped a parked delivery.
 * - `connector_bind`: one of ours was bound to an existing Mattermost account, team or channel (adoption).
 * - `connector_reconcile`: a reconcile compared Mattermost with the store (`after`: what it fixed).
 */
export const AUDIT_OPERATIONS = [
  'create_user', 'restore_user', 'update_user', 'rebind_user', 'deactivate_user', 'reactivate_user', 'delete_user', 'purge_user', 'bind_user', 'change_role',
  'import_team', 'import_channel', 'import_user',
  'create_group', 'restore_group', 'rename_group', 'rebind_group', 'delete_group', 'add_group_member', 'remove_group_member',
  'create_team', 'update_team', 'archive_team', 'create_channel', 'update_channel', 'archive_channel',
  'team_add', 'team_remove', 'team_promote', 'team_demote', 'channel_add', 'channel_remove', 'channel_promote', 'channel_demote',
  'link_team', 'update_team_link', 'unlink_team', 'link_channel', 'update_channel_link', 'unlink_channel', 'mapping_skipped', 'reconcile',
  'create_token', 'revoke_token',
  'create_client', 'add_client_secret', 'revoke_client_secret', 'revoke_client', 'issue_token', 'approve_authorization', 'revoke_grant',
  'connector_deliver', 'connector_park', 'connector_retry', 'connector_discard', 'connector_bind', 'connector_reconcile',
] as const;

export type AuditOperation = (typeof AUDIT_OPERATIONS)[number];

/** The membership operations of a team or a channel, for code that handles both kinds. */
export const MEMBER_OPERATIONS = {
  team: { add: 'team_add', remove: 'team_remove', promote: 'team_promote', demote: 'team_demote' },
  channel: { add: 'channel_add', remove: 'channel_remove', promote: 'channel_promote', demote: 'channel_demote' },
} as const satisfies Record<'team' | 'channel', Record<'add' | 'remove' | 'promote' | 'demote', AuditOperation>>;

/** The link operations of a group-team or group-channel link. */
export const LINK_OPERATIONS = {
  team: { link: 'link_team', update: 'update_team_link', unlink: 'unlink_team' },
  channel: { link: 'link_channel', update: 'update_channel_link', unlink: 'unlink_channel' },
} as const satisfies Record<'team' | 'channel', Record<'link' | 'update' | 'unlink', AuditOperation>>;

export interface AuditEntry {
  actor: string;
  requestId?: string | undefined;
  operation: AuditOperation;
  resourceType: 'User' | 'Group' | 'Team' | 'Channel' | 'TeamMember' | 'ChannelMember' | 'Token' | 'Client' | 'Link' | 'Session' | 'Connector';
  resourceId?: string | null | undefined;
  cause?: string | null | undefined;
  before?: unknown;
  after?: unknown;
}

