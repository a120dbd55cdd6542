import type { RoleModule, RoleName } from "../core/runtime/role.ts";
import { ingestRole, relayRole } from "../ingest/role.ts";
import { projectorsRole } from "../projectors/role.ts";
import { analyticsRole } from "../analytics/role.ts";
import { servingRole } from "../serving/role.ts";

/**
 * Every role `reckon start` can run, in start order. A role module lives in its own folder (`<folder>/role.ts`);
 * adding a role is one import and one entry here (and its name in `RoleName`, core/runtime/role.ts).
 */
export const ROLE_MODULES: readonly RoleModule[] = [
  ingestRole,
  relayRole,
  projectorsRole,
  servingRole,
  analyticsRole,
];

export const ALL_ROLES: RoleName[] = ROLE_MODULES.map((m) => m.name);
