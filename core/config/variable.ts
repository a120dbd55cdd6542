import { z } from "zod";

/** Who reads a variable: a role of `reckon start`, or a one-off command. */
export type Reader =
  | "ingest"
  | "relay"
  | "projectors"
  | "serving"
  | "analytics"
  | "reckon start"
  | "reckon migrate"
  | "reckon import"
  | "reckon replay"
  | "reckon train"
  | "reckon model"
  | "logger";

/**
 * How much of a value may be shown (in errors and `reckon config`): `value` hides it all (API keys),
 * `url-password` hides the password of a URL (`postgres://user:***@host/db`), so the host stays visible.
 */
export type Secrecy = "value" | "url-password";

interface VariableMeta {
  description: string;
  readers: readonly Reader[];
  secret?: Secrecy;
}

/** How a raw string becomes a typed value, and what the reference calls that type. */
export interface Parser<T> {
  type: string;
  schema: z.ZodType<T>;
}

/**
 * One environment variable: its parser turns the raw string (as the environment holds it) into the typed value.
 * `default` is written the way an operator would set it, and goes through the same parser.
 */
export interface Variable<T> extends VariableMeta {
  presence: "required" | "default" | "optional";
  type: string;
  schema: z.ZodType<T>;
  default?: string;
}

/** A variable start-up cannot do without: unset, it is reported with the others. */
export const required = <T>(parser: Parser<T>, meta: VariableMeta): Variable<T> => ({
  presence: "required",
  ...parser,
  ...meta,
});

/** A variable with a default (the raw string, parsed like a set value when the variable is unset). */
export const withDefault = <T>(parser: Parser<T>, fallback: string, meta: VariableMeta): Variable<T> => ({
  presence: "default",
  ...parser,
  default: fallback,
  ...meta,
});

/** A variable whose absence means something of its own (e.g. no REDIS_URL: no Redis). */
export const optional = <T>(parser: Parser<T>, meta: VariableMeta): Variable<T | undefined> => ({
  presence: "optional",
  type: parser.type,
  schema: parser.schema.optional(),
  ...meta,
});

// Parsers of raw strings. Each message says what was expected.

/** Any zod schema over the raw string, with the type name the reference shows for it. */
export const parser = <T>(type: string, schema: z.ZodType<T>): Parser<T> => ({ type, schema });

export const text = parser("string", z.string());

export const oneOf = <const V extends readonly [string, ...string[]]>(values: V) =>
  parser(values.join(" | "), z.enum(values));

const commaList = z.string().transform((s) =>
  s
    .split(",")
    .map((k) => k.trim())
    .filter((k) => k.length > 0),
);

export const keyList = parser(
  "comma-separated keys",
  commaList.pipe(z.array(z.string().min(16, "each API key must be at least 16 characters"))),
);

/** Names separated by commas; `atLeastOne` is the message when none may be empty. */
export const nameList = (atLeastOne?: string) =>
  parser(
    "comma-separated names",
    commaList.pipe(atLeastOne === undefined ? z.array(z.string()) : z.array(z.string()).min(1, atLeastOne)),
  );

export const brokerList = parser(
  "comma-separated host:port",
  z
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
    ),
);

export const urlWithScheme = (schemes: string[]) =>
  parser(
    "URL",
    z
      .string()
      .refine((s) => schemes.some((p) => s.startsWith(p)), `must start with ${schemes.join(" or ")}`)
      .refine((s) => URL.canParse(s), "must be a valid URL"),
  );

export const redisUrl = parser(
  "URL",
  z
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
    ),
);

export const port = parser("port", z.coerce.number().int().min(0).max(65535));

export const wholeNumberBetween = (min: number, max: number) =>
  parser(`whole number ${min}–${max}`, z.coerce.number().int().min(min).max(max));

export const numberAbove0 = parser("number > 0", z.coerce.number().positive());

/** A finite number ≥ `min`; `rule` is the whole message (the variable's unit belongs in it). */
export const numberAtLeast = (min: number, rule = `must be a number ≥ ${min}`) =>
  parser(
    `number ≥ ${min}`,
    z
      .string()
      .transform(Number)
      .pipe(z.number({ error: rule }).refine((v) => Number.isFinite(v) && v >= min, rule)),
  );

/** A finite number > 0. */
export const positiveNumber = parser(
  "number > 0",
  z
    .string()
    .transform(Number)
    .pipe(
      z
        .number({ error: "must be a positive number" })
        .refine((v) => Number.isFinite(v) && v > 0, "must be a positive number"),
    ),
);

/** A whole number ≥ `min`. */
export const wholeNumberAtLeast = (min: number) => {
  const rule = `must be a whole number ≥ ${min}`;
  return parser(
    `whole number ≥ ${min}`,
    z
      .string()
      .transform(Number)
      .pipe(z.number({ error: rule }).refine((v) => Number.isInteger(v) && v >= min, rule)),
  );
};

/** `1`/`true` on, `0`/`false` off. */
export const flag = parser(
  "0 or 1",
  z
    .enum(["0", "1", "true", "false"], { error: "must be 1, 0, true or false" })
    .transform((s) => s === "1" || s === "true"),
);

/** An ISO-8601 date-time with a time zone (`2026-01-31T12:00:00Z`), as milliseconds since the epoch. */
const INSTANT_RULE = "must be an ISO-8601 date-time with a time zone (e.g. 2026-01-31T12:00:00Z)";
export const instant = parser(
  "ISO-8601 date-time",
  z
    .string()
    .refine(
      (s) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/.test(s),
      INSTANT_RULE,
    )
    .transform((s) => Date.parse(s))
    .pipe(z.number({ error: INSTANT_RULE })),
);
