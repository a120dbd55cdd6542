import { defaultsOf } from "../config/env.ts";
import { keySlot, slotTag } from "../redis/slots.ts";

/**
 * Redis key naming for projections. Every key carries the projection's namespace and version, and a hash tag
 * (`{u:42}`, `{i:7}`, `{c:books}`) so that all keys of one entity live in one Redis Cluster slot:
 *
 *   <prefix>:<ns>:v<version>:{u:42}:recent
 *
 * `ns` tells projections apart (`f` features, `r` recommendations) so that deleting one projection's old
 * version (SCAN `<prefix>:<ns>:v<version>:*`) can never touch another projection's keys. Keys are written
 * relative (`{u:42}:recent`) by the projections; the batch script prepends the version base.
 */

/** RECKON_REDIS_PREFIX's default. */
export const DEFAULT_KEY_PREFIX = defaultsOf(["RECKON_REDIS_PREFIX"]).RECKON_REDIS_PREFIX;

export const userTag = (userId: string) => `{u:${userId}}`;
export const itemTag = (itemId: string) => `{i:${itemId}}`;
export const categoryTag = (category: string) => `{c:${category}}`;

/** The category name under which trending over all items is kept. */
export const ALL_CATEGORIES = "*";

/** `<prefix>:<ns>:v<version>:` — prepended to every relative key of that version. */
export const versionBase = (prefix: string, ns: string, version: number) => `${prefix}:${ns}:v${version}:`;

/** Which version readers (and the live consumer) use; absent means version 1. */
export const versionPointerKey = (prefix: string, projection: string) =>
  `${prefix}:projection:${projection}:version`;

/**
 * The version readers are pinned to (`reckon switch --version`), absent when they follow the live version. Only
 * readers look at it: the live consumer keeps writing the version `versionPointerKey` names.
 */
export const pinnedVersionKey = (prefix: string, projection: string) =>
  `${prefix}:projection:${projection}:pinned`;

/** The set of versions `reckon replay --to` built beside the live one (kept until the next replay). */
export const checkpointVersionsKey = (prefix: string, projection: string) =>
  `${prefix}:projection:${projection}:checkpoints`;

/**
 * Relative to a version base: the position token a `reckon replay --to` built the version up to, or
 * "building" while it runs (deleted with the version's keys).
 */
export const CHECKPOINT_KEY = "checkpoint";

/** The hash of applied log positions (per topic:partition) of one version, stored with its effects. */
export const APPLIED_KEY = "applied";

export const appliedField = (topic: string, partition: number) => `${topic}:${partition}`;

/** The pseudo source a log replay (rebuild) records its progress under. */
export const REPLAY_SOURCE = "log";

/**
 * Redis Cluster bookkeeping of one version. The applied positions and the pending batch journals live in the
 * version pointer's slot (a tag chosen to hash there), so that one script can check the pointer while it writes
 * them, and the version switch can read them and move the pointer atomically. Relative names start with `{s:`.
 */
export function clusterControlKeys(prefix: string, ns: string, projection: string, version: number) {
  const pointer = versionPointerKey(prefix, projection);
  const base = versionBase(prefix, ns, version) + slotTag(keySlot(pointer));
  return { pointer, applied: `${base}:${APPLIED_KEY}`, journal: `${base}:journal` };
}

/** Redis Cluster: the per-slot guard (hash source → last applied position) of one version, in `slot`. */
export const slotGuardKey = (base: string, slot: number) => `${base}${slotTag(slot)}:g`;

/** Whether a relative key is cluster bookkeeping (guards, journal, applied), see clusterControlKeys. */
export const isClusterBookkeeping = (relative: string) => relative.startsWith("{s:");
