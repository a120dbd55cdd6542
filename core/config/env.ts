import { z } from "zod";

/**
 * Every setting Reckon reads from the environment, validated once at start.
 * A bad value stops start-up with a message naming the variable, the expectation and what was received.
 */
const keyList = z
  .string()
  .transform((s) =>
    s
      .split(",")
      .map((k) => k.trim())
      .filter((k) => k.length > 0),
  )
  .pipe(z.array(z.string().min(16, "each API key must be at least 16 characters")));

const brokerList = z
  .string()
  .transform((s) =>
    s
      .replace(/^kafka:\/\//, "")
      .split(",")
      .map((b) => b.trim())
      .filter((b) => b.length > 0),
  )
  .pipe(
    z
      .array(z.string().regex(/^[^:\s]+:\d{1,5}$/, "each broker must be host:port"))
      .min(1, "at least one broker"),
  );

const urlWithScheme = (schemes: string[]) =>
  z
    .string()
    .refine((s) => schemes.some((p) => s.startsWith(p)), `must start with ${schemes.join(" or ")}`)
    .refine((s) => URL.canParse(s), "must be a valid URL");

export const EnvSchema = z.object({
  DATABASE_URL: urlWithScheme(["postgres://", "postgresql://"]),
  KAFKA_BROKERS: brokerList,
  REDIS_URL: z
    .string()
    .refine(
      (s) => ["redis://", "rediss://", "redis-cluster://", "memory://"].some((p) => s.startsWith(p)),
      "must start with redis://, rediss://, redis-cluster:// or memory:// (the in-process store: memory://DIR)",
    )
    // redis-cluster://host:port,host:port is not a WHATWG URL; core/redis/redis.ts parses it.
    .refine(
      (s) =>
        s.startsWith("redis-cluster://")
          ? /^redis-cluster:\/\/([^@/]*@)?[^,/]+(,[^,/]+)*\/?$/.test(s)
          : s.startsWith("memory://") || URL.canParse(s),
      "must be a valid URL (a cluster: redis-cluster://host:port,host:port)",
    )
    .optional(),
  CLICKHOUSE_URL: urlWithScheme(["http://", "https://", "chdb://"]).optional(),
  CLICKHOUSE_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(8123),
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  HOST: z.string().default("0.0.0.0"),
  RECKON_WRITE_KEYS: keyList.default([]),
  RECKON_READ_KEYS: keyList.default([]),
  RECKON_ADMIN_KEYS: keyList.default([]),
  KAFKA_EVENTS_TOPIC: z.string().default("reckon.events.v1"),
  KAFKA_DLQ_TOPIC: z.string().default("reckon.events.dlq.v1"),
  KAFKA_PARTITIONS: z.coerce.number().int().min(1).max(1024).default(3),
  /** How far in the past (hours) a non-backfill event timestamp may be. */
  RECKON_MAX_EVENT_AGE_HOURS: z.coerce.number().positive().default(72),
  /** How far in the future (seconds) a client clock may be ahead. */
  RECKON_MAX_CLOCK_SKEW_SECONDS: z.coerce.number().positive().default(300),
  /** The least time between two analytics writes to ClickHouse (their partition batches are combined meanwhile). */
  RECKON_ANALYTICS_WRITE_INTERVAL_MS: z.coerce.number().int().min(0).max(60_000).default(200),
  /**
   * The projections the projectors role runs in this process (default: all). Each projection is its own
   * consumer group, so several processes can share the work (e.g. the Redis ones here, analytics elsewhere).
   * Names are checked by the projectors role, which knows them.
   */
  RECKON_PROJECTIONS: z
    .string()
    .transform((s) =>
      s
        .split(",")
        .map((p) => p.trim())
        .filter((p) => p.length > 0),
    )
    .pipe(z.array(z.string()).min(1, "at least one projection name"))
    .optional(),
});

export type Env = z.infer<typeof EnvSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

/** Parses the environment; throws ConfigError listing every bad variable at once. */
export function loadEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = EnvSchema.safeParse(cleaned, { reportInput: true });
  if (parsed.success) return parsed.data;
  throw new ConfigError(
    parsed.error.issues.map((issue) => {
      // The variable, not the array index inside it: the message names what the operator sets.
      const name = String(issue.path[0]);
      const received = cleaned[name];
      return received === undefined
        ? `${name} is required: ${issue.message}`
        : `${name}: ${issue.message} (received ${JSON.stringify(redactIfKey(name, received))})`;
    }),
  );
}

function redactIfKey(name: string, value: string): string {
  return name.endsWith("_KEYS") ? "<redacted>" : value;
}
