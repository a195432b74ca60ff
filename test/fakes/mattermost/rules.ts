// Validation rules, each from the Mattermost source file named next to it (repo mattermost/mattermost).
import { AppError } from './errors.ts';
import { isValidId } from './ids.ts';

const runes = (s: string) => [...s].length;

// server/public/model/user.go: restrictedUsernames, validUsernameChars, UserNameMinLength/MaxLength.
const RESTRICTED_USERNAMES = new Set(['all', 'channel', 'matterbot', 'system']);
export function isValidUsername(s: string): boolean {
  return s.length >= 1 && s.length <= 64 && /^[a-z0-9.\-_]+$/.test(s) && !RESTRICTED_USERNAMES.has(s);
}

// server/public/model/utils.go IsValidEmail: must already be lower case, and net/mail.ParseAddress must accept it
// with no display name. ParseAddress is approximated by an addr-spec of dot-atoms (no quoted local parts, no
// domain literals); that covers every address a directory sends.
export function isValidEmail(s: string): boolean {
  if (s !== s.toLowerCase()) return false;
  const atom = "[a-z0-9!#$%&'*+/=?^_`{|}~-]+";
  return new RegExp(`^${atom}(\\.${atom})*@${atom}(\\.${atom})*$`).test(s);
}

// server/public/model/user.go IsValidLocale: at most 5 characters and a BCP 47 tag golang.org/x/text accepts
// (approximated by Intl.getCanonicalLocales).
function isValidLocale(s: string): boolean {
  if (s === '') return true;
  if (s.length > 5) return false;
  try {
    Intl.getCanonicalLocales(s);
    return true;
  } catch {
    return false;
  }
}

export const AUTH_SERVICES = new Set(['', 'email', 'gitlab', 'ldap', 'saml', 'google', 'office365', 'openid']);

interface UserFields {
  id: string; username: string; email: string; nickname: string; first_name: string; last_name: string;
  position: string; auth_data?: string | null; auth_service: string; password?: string; locale: string; roles: string;
}

// server/public/model/user.go User.IsValid, in its order; InvalidUserError gives model.user.is_valid.<field>.app_error.
export function checkUser(u: UserFields): void {
  const bad = (field: string) => {
    throw new AppError(`model.user.is_valid.${field}.app_error`, 400, `user_id=${u.id}`);
  };
  if (!isValidId(u.id)) bad('id');
  if (!isValidUsername(u.username)) bad('username');
  if (u.email.length > 128 || u.email === '' || !isValidEmail(u.email)) bad('email');
  if (runes(u.nickname) > 64) bad('nickname');
  if (runes(u.position) > 128) bad('position');
  if (runes(u.first_name) > 64) bad('first_name');
  if (runes(u.last_name) > 64) bad('last_name');
  const authData = u.auth_data ?? '';
  if (authData.length > 128) bad('auth_data');
  if (authData !== '' && u.auth_service === '') bad('auth_data_type');
  if ((u.password ?? '') !== '' && authData !== '') bad('auth_data_pwd');
  if (!isValidLocale(u.locale)) bad('locale');
  if (u.roles.length > 256) throw new AppError('model.user.is_valid.roles_limit.app_error', 400, `user_id=${u.id}`);
}

// server/channels/app/users/password.go IsPasswordValidWithSettings with the default PasswordSettings
// (MinimumLength 5, no character classes) and model.PasswordMaximumLength 72.
export function checkPassword(password: string): void {
  if (password.length < 5) throw new AppError('model.user.is_valid.pwd_min_length.app_error', 400);
  if (password.length > 72) throw new AppError('model.user.is_valid.pwd_max_length.app_error', 400);
}

// server/public/model/user.go IsValidUserRoles + role.go IsValidRoleName (^[a-z0-9_]+$, at most 64): a lone
// "system_admin" is refused on purpose.
export function isValidUserRoles(roles: string): boolean {
  const list = roles.split(/\s+/).filter(Boolean);
  if (!list.every((r) => r.length <= 64 && /^[a-z0-9_]+$/.test(r))) return false;
  return !(list.length === 1 && list[0] === 'system_admin');
}

// server/public/model/utils.go reservedName, and team.go IsReservedTeamName (a name may not START with one).
const RESERVED = ['admin', 'api', 'channel', 'claim', 'error', 'files', 'help', 'landing', 'login', 'mfa', 'oauth',
  'plug', 'plugins', 'post', 'signup', 'boards', 'playbooks'];

interface TeamFields { id: string; name: string; display_name: string; type: string; description: string;
  company_name: string; allowed_domains: string; email: string }

// server/public/model/team.go Team.IsValid, in its order.
export function checkTeam(t: TeamFields): void {
  const bad = (what: string) => {
    throw new AppError(`model.team.is_valid.${what}.app_error`, 400, `id=${t.id}`);
  };
  if (t.email.length > 128 || (t.email !== '' && !isValidEmail(t.email))) bad('email');
  if (runes(t.display_name) === 0 || runes(t.display_name) > 64) bad('name');
  if (t.name.length > 64) bad('url');
  if (t.description.length > 255) bad('description');
  if (RESERVED.some((r) => t.name.toLowerCase().startsWith(r))) bad('reserved');
  // isValidAlphaNum (utils.go validAlphaNum) and TeamNameMinLength 2.
  if (!/^[a-z0-9]+([a-z\-0-9]+|(__)?)[a-z0-9]+$/.test(t.name) || t.name.length < 2) bad('characters');
  if (t.type !== 'O' && t.type !== 'I') bad('type');
  if (t.company_name.length > 64) bad('company');
  if (t.allowed_domains.length > 500) bad('domains');
}

interface ChannelFields { id: string; name: string; display_name: string; type: string; header: string; purpose: string }

// server/public/model/channel.go Channel.IsValid, in its order.
export function checkChannel(c: ChannelFields): void {
  const bad = (what: string) => {
    throw new AppError(`model.channel.is_valid.${what}.app_error`, 400, `id=${c.id}`);
  };
  if (runes(c.display_name) > 64) bad('display_name');
  // IsValidChannelIdentifier: validSimpleAlphaNum (utils.go) and ChannelNameMinLength 1. The 64 limit is
  // ChannelNameMaxLength (the Channels.Name column is varchar(64)); IsValid itself does not test it, the store does.
  if (!/^[a-z0-9]+([a-z\-_0-9]+|(__)?)[a-z0-9]*$/.test(c.name) || c.name.length > 64) bad('1_or_more');
  if (!['O', 'P'].includes(c.type)) bad('type'); // D/G/S/BO/BP exist but are not made through POST /channels here
  if (runes(c.header) > 1024) bad('header');
  if (runes(c.purpose) > 250) bad('purpose');
  // A name shaped like a DM name ("<id>__<id>") or a GM name (40 hex) is refused for other types.
  const parts = c.name.split('__');
  if (/^[a-f0-9]{40}$/.test(c.name) || (parts.length === 2 && isValidId(parts[0]) && isValidId(parts[1]))) bad('name');
}
