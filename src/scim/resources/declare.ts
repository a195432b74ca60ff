/** Declares the SCIM resource types once per process (SCIMMY keeps declarations in module-level state). */
import { declareUsers } from './users.js';
import { declareGroups } from './groups.js';
import { declareRoles } from './roles.js';
import { declareEntitlements } from './entitlements.js';

let declared = false;

export function declareResources(): void {
  if (declared) return;
  declared = true;
  declareUsers();
  declareGroups();
  // Okta Identity Governance's catalogues (read-only): listed in /ResourceTypes and /Schemas after User and Group.
  declareRoles();
  declareEntitlements();
}
