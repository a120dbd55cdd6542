// Public surface of the holdout write model, for the repository and the HTTP routes.
export { decideHoldout, evolveHoldout, initialHoldoutState } from "./decider.ts";
export type { ExistingHoldout, HoldoutCommand, HoldoutEvent, HoldoutState } from "./decider.ts";
export { HoldoutDefinitionSchema, HoldoutPatchSchema, MAX_HOLDOUT_SHARE } from "./definition-schema.ts";
export type { HoldoutDefinition, HoldoutPatch } from "./definition-schema.ts";
