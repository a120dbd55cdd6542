import { readFileSync } from "node:fs";

/**
 * `npx tsx bench/serving-profile.ts FILE.cpuprofile [requests]`: where a serving process's CPU went, from a V8
 * CPU profile (`MICRO_PROFILE=FILE` in serving-inprocess.ts, or `node --cpu-prof`). Two views:
 * - self time by layer, a native frame (JSON.parse, Buffer ops) charged to the nearest JavaScript caller's file;
 * - inclusive time of named steps (a sample counts for a step when the step is on its stack).
 * With `requests` (how many were served in the profiled window) each line is also given in ms per request.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const LAYERS: [RegExp, string][] = [
  [
    /node_modules\/(express|router|body-parser|type-is|content-type|on-finished|finalhandler|send|qs|path-to-regexp|mime|media-typer|raw-body|depd|parseurl|accepts|negotiator|statuses|http-errors|proxy-addr|forwarded|encodeurl|escape-html|vary|fresh|range-parser|cookie|safe-buffer|iconv-lite|merge-descriptors|utils-merge|setprototypeof|content-disposition|ee-first|unpipe)\//,
    "express & middleware",
  ],
  [
    /node_modules\/(ioredis|redis-parser|denque|cluster-key-slot|standard-as-callback|redis-errors|lodash)/,
    "ioredis (encode/parse)",
  ],
  [/node_modules\/onnxruntime/, "onnxruntime-node"],
  [/node_modules\/prom-client/, "metrics (prom-client)"],
  [/node_modules\/(pino|sonic-boom|thread-stream)/, "logging (pino)"],
  [/node_modules\/zod/, "zod"],
  [/node_modules\/tsx/, "tsx loader"],
  [/node_modules\//, "other node_modules"],
  [/core\/http\/auth/, "auth (core/http/auth.ts)"],
  [/core\/http\//, "core/http (app, metrics middleware)"],
  [/serving\/http\//, "serving/http (router, params)"],
  [/serving\/ranking\/redis-read-model/, "read model caches (redis-read-model.ts)"],
  [/serving\/ranking\//, "ranking (rank/features/rules)"],
  [/serving\/recommender\//, "recommend() (candidates)"],
  [/serving\/models\//, "artifact reader / ranker wrapper"],
  [/projectors\/features\//, "user features read (projectors/features/read.ts)"],
  [/projectors\//, "other projectors reads"],
  [/node:internal\/(http|_http)|node:_http|_http_/, "node http"],
  [/node:(net|internal\/stream|stream|internal\/streams|internal\/net|internal\/dns)/, "node net/streams"],
  [/node:internal\/(timers|process|async_hooks)|node:timers/, "node timers/ticks/promises"],
  [/^node:/, "other node internals"],
];

const STEPS = [
  "rankForUser",
  "recommend",
  "getUserFeatures",
  "getRecentInteractions",
  "itemInfo",
  "score",
  "requireScope",
  "parseRecommendationParams",
  "json",
  "handleRecommendation",
  "sendJson",
  "stringify",
  "parse",
];

export function summarise(profile: Profile, requests?: number) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const layerOf = (id: number): string => {
    const leaf = byId.get(id)!.callFrame;
    if (["(garbage collector)", "(program)", "(idle)", "(root)"].includes(leaf.functionName))
      return leaf.functionName;
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const url = byId.get(cur)!.callFrame.url;
      if (!url) continue;
      for (const [re, name] of LAYERS) if (re.test(url)) return name;
      return url.replace(/^file:\/\/.*?\/main\//, "");
    }
    return "(native, no JS caller)";
  };
  const self = new Map<string, number>();
  const steps = new Map<string, number>();
  const leaves = new Map<string, number>();
  let total = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const leaf = byId.get(id)!.callFrame;
    if (leaf.functionName === "(idle)") {
      idle += dt;
      return;
    }
    total += dt;
    const layer = layerOf(id);
    self.set(layer, (self.get(layer) ?? 0) + dt);
    const leafName = `${leaf.functionName || "(anonymous)"} ${leaf.url.replace(/^.*\//, "")}:${leaf.lineNumber}`;
    leaves.set(leafName, (leaves.get(leafName) ?? 0) + dt);
    const onStack = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur))
      onStack.add(byId.get(cur)!.callFrame.functionName);
    for (const s of STEPS) if (onStack.has(s)) steps.set(s, (steps.get(s) ?? 0) + dt);
  });
  const row = (us: number) => ({
    share: `${((100 * us) / total).toFixed(1)} %`,
    ...(requests ? { ms_per_request: +(us / 1000 / requests).toFixed(3) } : {}),
  });
  const sorted = (m: Map<string, number>, limit = 40) =>
    Object.fromEntries(
      [...m]
        .sort((a, b) => b[1] - a[1])
        .slice(0, limit)
        .map(([k, v]) => [k, row(v)]),
    );
  return {
    busy_ms: Math.round(total / 1000),
    idle_ms: Math.round(idle / 1000),
    ...(requests ? { busy_ms_per_request: +(total / 1000 / requests).toFixed(3) } : {}),
    self_by_layer: sorted(self),
    inclusive_steps: sorted(steps),
    top_self_functions: sorted(leaves, Number(process.env.PROFILE_TOP ?? 25)),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, requests] = process.argv.slice(2);
  if (!file) throw new Error("usage: serving-profile.ts FILE.cpuprofile [requests]");
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
  console.log(JSON.stringify(summarise(profile, requests ? Number(requests) : undefined), null, 2));
}
