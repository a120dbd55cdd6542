import type { Op } from "./redis-batch.ts";

/**
 * Turns a batch's ops (one list per message, in log order) into the flat ARGV stream the batch script reads.
 * Commutative ops are merged over the whole batch first, which is what makes a batch cheap in Redis:
 *
 * - `hincrby`/`zincrby` on the same key and field/member are summed (integers add exactly; a non-integer
 *   increment is sent unmerged),
 * - `hmax`/`zadd_gt` keep the greatest value per key and field/member,
 * - `pexpire` is sent once per key after every write (the value only depends on the key and the batch's
 *   clock, and no op here clears a TTL), `zcap` once per key after the writes: for a set that only receives
 *   `zadd_gt`, trimming once at the end keeps the same top entries as trimming after every add.
 *
 * `hset_newer`, `catfan` and `cooc` read what they write or what other ops write, so they keep their log order
 * (in the script, before the merged ops; nothing merged touches the keys they read, which is checked here).
 *
 * Stream: sequential ops as `N key version nFieldValues f v…`, `F key field nInner (op key arg value)…`,
 * `C histKey item timeMs histCap nbrCap`; merged ops as `I key field by`, `Z key by member`, `M key field value`,
 * `G key score member`; then `|`; then `T key cap` and `E key ms`.
 */
export function encodeBatch(opsPerMessage: readonly (readonly Op[])[]): string[] {
  const out: string[] = [];
  const sequentialKeys = new Set<string>();
  const hinc = new Map<string, [key: string, field: string, by: number]>();
  const zinc = new Map<string, [key: string, member: string, by: number]>();
  const hmax = new Map<string, [key: string, field: string, value: string]>();
  const zgt = new Map<string, [key: string, member: string, score: string]>();
  const unmerged: string[] = [];
  const caps = new Map<string, string>();
  const expiries = new Map<string, string>();
  const mergedKeys = new Set<string>();
  const incremented = new Set<string>();

  for (const ops of opsPerMessage) {
    for (const op of ops) {
      switch (op[0]) {
        case "hincrby": {
          const [, key, field, by] = op;
          mergedKeys.add(key);
          incremented.add(key);
          const n = Number(by);
          if (!Number.isSafeInteger(n)) {
            unmerged.push("I", key, field, by);
            break;
          }
          const id = `${key}\u0000${field}`;
          const cur = hinc.get(id);
          if (cur) cur[2] += n;
          else hinc.set(id, [key, field, n]);
          break;
        }
        case "zincrby": {
          const [, key, by, member] = op;
          mergedKeys.add(key);
          incremented.add(key);
          const n = Number(by);
          if (!Number.isSafeInteger(n)) {
            unmerged.push("Z", key, by, member);
            break;
          }
          const id = `${key}\u0000${member}`;
          const cur = zinc.get(id);
          if (cur) cur[2] += n;
          else zinc.set(id, [key, member, n]);
          break;
        }
        case "hmax": {
          const [, key, field, value] = op;
          mergedKeys.add(key);
          const id = `${key}\u0000${field}`;
          const cur = hmax.get(id);
          if (!cur || Number(value) > Number(cur[2])) hmax.set(id, [key, field, value]);
          break;
        }
        case "zadd_gt": {
          const [, key, score, member] = op;
          mergedKeys.add(key);
          const id = `${key}\u0000${member}`;
          const cur = zgt.get(id);
          if (!cur || Number(score) > Number(cur[2])) zgt.set(id, [key, member, score]);
          break;
        }
        case "zcap":
          mergedKeys.add(op[1]);
          caps.set(op[1], op[2]);
          break;
        case "pexpire":
          expiries.set(op[1], op[2]);
          break;
        case "hset_newer": {
          const [, key, version, ...fieldsAndValues] = op;
          sequentialKeys.add(key);
          out.push("N", key, version, String(fieldsAndValues.length), ...fieldsAndValues);
          break;
        }
        case "catfan": {
          const [, key, field, inner] = op;
          sequentialKeys.add(key);
          out.push("F", key, field, String(inner.length));
          for (const i of inner) {
            if (i[0] === "hincrby") out.push("I", i[1], i[2], i[3]);
            else if (i[0] === "zincrby") out.push("Z", i[1], i[2], i[3]);
            else if (i[0] === "pexpire") out.push("E", i[1], i[2], "");
            else throw new Error(`catfan cannot run ${i[0]}`);
          }
          break;
        }
        case "cooc": {
          const [, histKey, item, timeMs, histCap, nbrCap] = op;
          sequentialKeys.add(histKey);
          out.push("C", histKey, item, timeMs, histCap, nbrCap);
          break;
        }
      }
    }
  }
  for (const key of mergedKeys) {
    if (sequentialKeys.has(key))
      throw new Error(`${key}: merged ops would be reordered across an order-dependent op on the same key`);
  }
  for (const id of hmax.keys()) {
    if (hinc.has(id)) throw new Error(`${id}: hmax and hincrby on the same field do not commute`);
  }
  for (const id of zgt.keys()) {
    if (zinc.has(id)) throw new Error(`${id}: zadd_gt and zincrby on the same member do not commute`);
  }
  for (const key of caps.keys()) {
    if (incremented.has(key)) throw new Error(`${key}: a capped set may only receive zadd_gt in a batch`);
  }
  for (const [key, field, by] of hinc.values()) out.push("I", key, field, String(by));
  for (const [key, member, by] of zinc.values()) out.push("Z", key, String(by), member);
  out.push(...unmerged);
  for (const [key, field, value] of hmax.values()) out.push("M", key, field, value);
  for (const [key, member, score] of zgt.values()) out.push("G", key, score, member);
  out.push("|");
  for (const [key, cap] of caps) out.push("T", key, cap);
  for (const [key, ms] of expiries) out.push("E", key, ms);
  return out;
}
