import type { ProjectionStore } from "../../core/projection-store/port.ts";
import { formatPositionToken, parsePositionToken, type LogPosition } from "../../core/contracts/position.ts";
import {
  CHECKPOINT_KEY,
  checkpointVersionsKey,
  pinnedVersionKey,
  versionBase,
} from "../../core/read-models/keys.ts";

/**
 * Checkpoint versions and the readers' pin. `reckon replay --to` builds a version as the read model was at a
 * past position (a checkpoint) beside the live one; `reckon switch --version V` pins readers to it and
 * `reckon switch --live` sends them back. Only readers follow the pin: the live consumer keeps writing the live
 * version (the pointer its batch scripts read), so nothing ever writes into a pinned checkpoint, and switching
 * back finds the live version with every event applied while readers were away.
 */

/** Which projection's keys (a RedisProjection has these three). */
export interface ProjectionKeys {
  prefix: string;
  ns: string;
  name: string;
}

export interface PinnedVersion {
  version: number;
  /** The position the checkpoint was built up to: readers see the read model as it was there. */
  position: LogPosition;
}

const BUILDING = "building";
const checkpointKey = (p: ProjectionKeys, version: number) =>
  versionBase(p.prefix, p.ns, version) + CHECKPOINT_KEY;

/** The version readers use: the pinned checkpoint while one is pinned, else the live version. */
export async function readersVersion(
  store: ProjectionStore,
  prefix: string,
  projection: string,
): Promise<number> {
  const [pinned, live] = await Promise.all([
    store.get(pinnedVersionKey(prefix, projection)),
    store.currentVersion(prefix, projection),
  ]);
  return pinned === null ? live : Number(pinned);
}

/** What a version is as a checkpoint: built up to a position, still being built, or none. */
export type CheckpointState =
  { state: "built"; position: LogPosition } | { state: "building" } | { state: "unknown" };

export async function checkpointState(
  store: ProjectionStore,
  p: ProjectionKeys,
  version: number,
): Promise<CheckpointState> {
  const value = await store.get(checkpointKey(p, version));
  if (value === null) return { state: "unknown" };
  if (value === BUILDING) return { state: "building" };
  const position = parsePositionToken(value);
  return position ? { state: "built", position } : { state: "unknown" };
}

/** The checkpoint versions kept beside the live one (built or building), ascending. */
export async function checkpointVersions(store: ProjectionStore, p: ProjectionKeys): Promise<number[]> {
  return (await store.smembers(checkpointVersionsKey(p.prefix, p.name))).map(Number).sort((a, b) => a - b);
}

/** The checkpoint readers are pinned to, or undefined when they follow the live version. */
export async function pinnedVersion(
  store: ProjectionStore,
  p: ProjectionKeys,
): Promise<PinnedVersion | undefined> {
  const pinned = await store.get(pinnedVersionKey(p.prefix, p.name));
  if (pinned === null) return undefined;
  const version = Number(pinned);
  const state = await checkpointState(store, p, version);
  // A pin is only ever set on a built checkpoint, and a replay never deletes the pinned one.
  if (state.state !== "built")
    throw new Error(`${p.name}: readers are pinned to version ${version}, which holds no built checkpoint`);
  return { version, position: state.position };
}

/** Registers `version` as a checkpoint being built (before its first batch). */
export async function beginCheckpoint(
  store: ProjectionStore,
  p: ProjectionKeys,
  version: number,
): Promise<void> {
  await store.sadd(checkpointVersionsKey(p.prefix, p.name), [String(version)]);
  await store.set(checkpointKey(p, version), BUILDING);
}

/** Marks `version` built up to `position`: from now on it may be pinned. */
export async function finishCheckpoint(
  store: ProjectionStore,
  p: ProjectionKeys,
  version: number,
  position: LogPosition,
): Promise<void> {
  await store.set(checkpointKey(p, version), formatPositionToken(position));
}

/**
 * Deletes every checkpoint version but the pinned one (a replay starts with this: a checkpoint is kept until
 * the next replay of its projection). Returns the versions still kept (the pinned one, if any) and the keys
 * deleted.
 */
export async function dropUnpinnedCheckpoints(
  store: ProjectionStore,
  p: ProjectionKeys,
): Promise<{ kept: number | undefined; deletedKeys: number }> {
  const pinned = await store.get(pinnedVersionKey(p.prefix, p.name));
  let deletedKeys = 0;
  for (const version of await checkpointVersions(store, p)) {
    if (String(version) === pinned) continue;
    deletedKeys += await store.deleteByPrefix(versionBase(p.prefix, p.ns, version));
    await store.srem(checkpointVersionsKey(p.prefix, p.name), [String(version)]);
  }
  return { kept: pinned === null ? undefined : Number(pinned), deletedKeys };
}

/** Where readers go: a checkpoint version, or back to the live version. */
export type SwitchRequest = { version: number } | { live: true };

export interface SwitchOutcome {
  projection: string;
  /** The version readers use after the command. */
  readers: number;
  /** The version the live consumer writes (unchanged by a switch). */
  live: number;
  /** The checkpoint readers are pinned to after the command (its position token), or null when live. */
  pinned: { version: number; position: string } | null;
  /** The version readers used before the command. */
  previous: number;
  /** False when readers already were where the command sends them (a repeated switch changes nothing). */
  changed: boolean;
}

/** A switch the arguments cannot make: which field, which rule, what was received. */
export class SwitchRefused extends Error {
  constructor(
    readonly field: string,
    readonly rule: string,
    readonly received: string,
  ) {
    super(`${field}: ${rule} (received ${received})`);
    this.name = "SwitchRefused";
  }
}

/**
 * Points readers of `p` at a built checkpoint, or back at the live version. Idempotent. Refuses (SwitchRefused,
 * field `--version`) a version that is no checkpoint, or one still being built. Asking for the live version by
 * number is the same as `live`.
 */
export async function switchReaders(
  store: ProjectionStore,
  p: ProjectionKeys,
  request: SwitchRequest,
): Promise<SwitchOutcome> {
  const pinKey = pinnedVersionKey(p.prefix, p.name);
  const [live, pinnedRaw] = await Promise.all([store.currentVersion(p.prefix, p.name), store.get(pinKey)]);
  const previous = pinnedRaw === null ? live : Number(pinnedRaw);
  const outcome = (pinned: SwitchOutcome["pinned"], changed: boolean): SwitchOutcome => ({
    projection: p.name,
    readers: pinned?.version ?? live,
    live,
    pinned,
    previous,
    changed,
  });
  if ("live" in request || request.version === live) {
    if (pinnedRaw === null) return outcome(null, false);
    await store.del([pinKey]);
    return outcome(null, true);
  }
  const version = request.version;
  const state = await checkpointState(store, p, version);
  if (state.state === "building")
    throw new SwitchRefused(
      "--version",
      `version ${version} of ${p.name} is still being built by reckon replay --to; switch once the replay has finished`,
      String(version),
    );
  if (state.state === "unknown") {
    const kept = (await checkpointVersions(store, p)).filter((v) => v !== version);
    throw new SwitchRefused(
      "--version",
      `must be a checkpoint version of ${p.name} built by reckon replay --to (kept: ${
        kept.length > 0 ? kept.join(", ") : "none"
      }) or its live version ${live}`,
      String(version),
    );
  }
  const pinned = { version, position: formatPositionToken(state.position) };
  if (pinnedRaw === String(version)) return outcome(pinned, false);
  await store.set(pinKey, String(version));
  return outcome(pinned, true);
}
