/** Declares the SCIM resource types once per process (SCIMMY keeps declarations in module-level state). */
import { declareUsers } from './users.js';
import { declareGroups } from './groups.js';

let declared = false;

export function declareResources(): void {
  if (declared) return;
  declared = true;
  declareUsers();
  declareGroups();
}
