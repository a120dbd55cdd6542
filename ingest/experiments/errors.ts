// Typed errors of the experiment write model. The HTTP layer maps `code` to a status; every message
// says which field, what was expected and what was received, so a client can act on it.
import type { z } from "zod";

export type ExperimentErrorCode =
  "validation" | "conflict" | "invalid_state" | "not_found" | "already_exists";

/** One problem with one field. `field` is a dotted path such as `variants[1].weight` ("" = the whole body). */
export interface ExperimentIssue {
  readonly field: string;
  /** Machine-readable rule name: a zod issue code (`too_big`, `invalid_type`...) or our own (`unique`...). */
  readonly rule: string;
  readonly expected: string;
  readonly received: unknown;
  readonly message: string;
}

/** Suggested HTTP status per code, for whoever wires the decider to express. */
export const EXPERIMENT_ERROR_HTTP_STATUS: Readonly<Record<ExperimentErrorCode, number>> = {
  validation: 400,
  conflict: 409,
  invalid_state: 409,
  not_found: 404,
  already_exists: 409,
};

export class ExperimentError extends Error {
  override readonly name = "ExperimentError";
  readonly code: ExperimentErrorCode;
  readonly issues: readonly ExperimentIssue[];

  constructor(code: ExperimentErrorCode, message: string, issues: readonly ExperimentIssue[] = []) {
    super(message);
    this.code = code;
    this.issues = issues;
  }

  static validation(issues: readonly ExperimentIssue[]): ExperimentError {
    const summary = issues.map((i) => i.message).join("; ");
    return new ExperimentError("validation", `invalid experiment: ${summary}`, issues);
  }

  /** A single-field validation error raised by a decider rule rather than by the schema. */
  static rule(
    field: string,
    rule: string,
    expected: string,
    received: unknown,
    why: string,
  ): ExperimentError {
    return ExperimentError.validation([
      {
        field,
        rule,
        expected,
        received,
        message: `${field}: ${why} (expected ${expected}, received ${show(received)})`,
      },
    ]);
  }
}

export function isExperimentError(e: unknown): e is ExperimentError {
  return e instanceof ExperimentError;
}

/** `["variants", 1, "weight"]` → `variants[1].weight`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** Compact JSON for messages; long values are cut so one bad 10 kB field does not flood a log line. */
export function show(value: unknown): string {
  if (value === undefined) return "nothing";
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

type ZodIssue = z.core.$ZodIssue;

function expectedOf(issue: ZodIssue): string {
  switch (issue.code) {
    case "invalid_type":
      return issue.expected;
    case "too_big":
      return `${issue.origin === "array" ? "length " : issue.origin === "string" ? "length " : ""}${
        issue.inclusive === false ? "<" : "<="
      } ${String(issue.maximum)}`;
    case "too_small":
      return `${issue.origin === "array" ? "length " : issue.origin === "string" ? "length " : ""}${
        issue.inclusive === false ? ">" : ">="
      } ${String(issue.minimum)}`;
    case "invalid_format":
      return issue.pattern ? `a string matching ${issue.pattern}` : `format ${issue.format}`;
    case "invalid_value":
      return `one of ${issue.values.map((v) => JSON.stringify(v)).join(" | ")}`;
    case "unrecognized_keys":
      return "no other fields";
    case "invalid_union":
      return "options" in issue && Array.isArray(issue.options)
        ? `one of ${issue.options.map((o) => JSON.stringify(o)).join(" | ")}`
        : "one of the allowed shapes";
    case "custom": {
      const params = issue.params as { expected?: unknown } | undefined;
      return typeof params?.expected === "string" ? params.expected : issue.message;
    }
    default:
      return issue.message;
  }
}

function ruleOf(issue: ZodIssue): string {
  if (issue.code === "custom") {
    const params = issue.params as { rule?: unknown } | undefined;
    if (typeof params?.rule === "string") return params.rule;
  }
  return issue.code;
}

// A bad discriminator reports the whole object as input; the value of the discriminator says more.
function receivedOf(issue: ZodIssue): unknown {
  if (issue.code === "invalid_union" && "discriminator" in issue && typeof issue.discriminator === "string") {
    const input = issue.input;
    if (typeof input === "object" && input !== null)
      return (input as Record<string, unknown>)[issue.discriminator];
  }
  return issue.input;
}

/** Turns zod issues (parsed with `reportInput: true`) into issues that name field, rule and received value. */
export function issuesFromZod(error: z.ZodError): ExperimentIssue[] {
  return error.issues.map((issue) => {
    if (issue.code === "unrecognized_keys") {
      const field = formatPath([...issue.path, ...(issue.keys.length === 1 ? issue.keys : [])]);
      const received = issue.keys;
      const label = field === "" ? "body" : field;
      const names = issue.keys.map((k) => JSON.stringify(k)).join(", ");
      return {
        field,
        rule: issue.code,
        expected: "no other fields",
        received,
        message: `${label}: unknown field ${names} is not allowed here (rule ${issue.code}, received ${show(received)})`,
      };
    }
    const field = formatPath(issue.path);
    const expected = expectedOf(issue);
    const received = receivedOf(issue);
    const label = field === "" ? "body" : field;
    return {
      field,
      rule: ruleOf(issue),
      expected,
      received,
      message: `${label}: ${issue.message} (rule ${ruleOf(issue)}, expected ${expected}, received ${show(received)})`,
    };
  });
}

/** Parses with a schema or throws a `validation` ExperimentError naming every failing field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input, { reportInput: true });
  if (!result.success) throw ExperimentError.validation(issuesFromZod(result.error));
  return result.data;
}
