/**
 * Schema URNs of the resources served: User (RFC 7643 §4.1), its EnterpriseUser extension (§4.3), Group (§4.2).
 * In the store, the bottom layer, because the attribute maps of the lists (store/user-list.ts, group-list.ts) name
 * attributes by them as the SCIM representations do.
 */
export const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const GROUP_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:Group';
