/**
 * The Role and Entitlement schemas of Okta Identity Governance (Okta's "Build a SCIM 2.0 server with entitlements":
 * a resource type whose schema is `urn:okta:scim:schemas:core:1.0:Role` or `...:Entitlement` is a catalogue Okta
 * reads), as SCIMMY schema classes, so that SCIMMY's /ResourceTypes and /Schemas list them with RFC 7643 §7
 * attribute definitions like the User and Group schemas.
 *
 * The characteristics say what the server does: every attribute is read-only (the catalogues are read-only), `id`
 * is listed (Okta assigns entitlements on users by it), and Entitlement `displayName` is caseExact because its
 * filter compares it exactly (src/store/entitlement-catalog.ts says why).
 */
import SCIMMY from 'scimmy';
import { ENTITLEMENT_SCHEMA, ROLE_SCHEMA } from '../../store/entitlement-catalog.js';

const { Attribute, SchemaDefinition } = SCIMMY.Types;

/** A read-only string attribute, returned by default. */
const readOnly = (name: string, description: string, more: Record<string, unknown> = {}) =>
  new Attribute('string', name, { mutable: false, direction: 'out', description, ...more });

/**
 * A SchemaDefinition with a URN outside `urn:ietf:params:scim:schemas:`: SCIMMY 1.3.5's constructor accepts only
 * that namespace (types.js SchemaDefinition), so the definition is made under a placeholder and given its real id
 * before it is declared (Schemas.declare indexes it by id then).
 */
function definition(name: string, urn: string, description: string, idDescription: string, attributes: InstanceType<typeof Attribute>[]) {
  const def = new SchemaDefinition(name, `urn:ietf:params:scim:schemas:placeholder:${name}`, description, attributes);
  def.id = urn;
  // `id` is a common attribute SCIMMY hides from /Schemas; Okta's catalogues name it, and it is what a user's
  // roles[].value / entitlements[].value carries (the ResourceType schema does the same in SCIMMY, schemas.js).
  Object.assign(def.attribute('id').config, { shadow: false, uniqueness: 'server', description: idDescription });
  return def;
}

const ROLE_DEFINITION = definition('Role', ROLE_SCHEMA, 'A system role of the workspace, which an IdP assigns to a person as roles[].value', 'The role id, as Mattermost names the role (system_admin, system_user, system_guest)', [
  readOnly('displayName', 'The role as the workspace calls it', { required: true }),
  readOnly('description', 'What the role gives'),
]);

const ENTITLEMENT_DEFINITION = definition('Entitlement', ENTITLEMENT_SCHEMA, 'A team or channel of the workspace (or the admin role in it), which an IdP assigns to a person as entitlements[].value', 'team:<team>, channel:<team>:<channel>, and with :admin appended the admin role in it', [
  readOnly('displayName', 'The type and the display name of the team (and channel)', { required: true, caseExact: true }),
  readOnly('type', 'What the entitlement gives', { required: true, canonicalValues: ['Team', 'Team admin', 'Channel', 'Channel admin'] }),
  readOnly('description', 'What the entitlement gives, in words'),
]);

export class RoleSchema extends SCIMMY.Types.Schema {
  static override readonly id = ROLE_SCHEMA;
  static override readonly definition = ROLE_DEFINITION;
}

export class EntitlementSchema extends SCIMMY.Types.Schema {
  static override readonly id = ENTITLEMENT_SCHEMA;
  static override readonly definition = ENTITLEMENT_DEFINITION;
}
