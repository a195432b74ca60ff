/**
 * How a person signs in to Mattermost, from our row and the connector's settings (MATTERMOST_AUTH_SERVICE,
 * MATTERMOST_AUTH_DATA): the one rule for the accounts the connector creates and the `auth_service`/`auth_data` a
 * bulk-import file carries, so that an account made by `mmctl import` is the account the connector would have made.
 * Mattermost keeps at most 128 bytes of auth_data (server/public/model/user.go UserAuthDataMaxLength).
 */
import type { UserRow } from '../store/users.js';

export interface SignInSettings { authService: string; authData: 'externalId' | 'userName' | 'email' }

/** The SCIM attribute's value that becomes auth_data, or null when the person has none (or no service is set). */
export function authDataOf(cfg: SignInSettings, row: Pick<UserRow, 'external_id' | 'user_name' | 'email'>): string | null {
  if (!cfg.authService) return null;
  const v = cfg.authData === 'externalId' ? row.external_id : cfg.authData === 'userName' ? row.user_name : row.email;
  return v ? v.slice(0, 128) : null;
}
