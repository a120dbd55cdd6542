import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import readline from "node:readline";
import { parse } from "csv-parse";
import { SingleBar, Presets } from "cli-progress";
import type { Database } from "../../core/postgres/database.ts";
import { validateEvent, type InteractionEvent, type TimeWindow } from "../../core/contracts/event.ts";
import type { FieldError } from "../../core/contracts/validation.ts";
import { appendInteractionEvents } from "../../core/event-store/event-store.ts";
import { rowToEvent, type RowMapping } from "./rows-to-events.ts";

export interface ImportOptions {
  db: Database;
  file: string;
  format: "csv" | "ndjson";
  mapping: RowMapping;
  window: TimeWindow;
  batchSize?: number;
  progress?: boolean;
}

export interface ImportSummary {
  file: string;
  rows: number;
  accepted: number;
  duplicate: number;
  rejected: number;
  /** The first rejections, with their row numbers (1-based, data rows). */
  rejections: { row: number; errors: FieldError[] }[];
  seconds: number;
  events_per_second: number;
}

const MAX_REPORTED_REJECTIONS = 20;

/** `reckon import FILE`: loads a CSV or NDJSON file through the same validation and store as the HTTP API. */
export async function importFile(options: ImportOptions): Promise<ImportSummary> {
  const started = performance.now();
  const batchSize = options.batchSize ?? 500;
  const total = (await stat(options.file)).size;
  const input = createReadStream(options.file);
  const bar = options.progress
    ? new SingleBar(
        { format: "import |{bar}| {percentage}% | {rows} rows | {rate} ev/s" },
        Presets.shades_classic,
      )
    : undefined;
  bar?.start(total, 0, { rows: 0, rate: 0 });

  const summary: ImportSummary = {
    file: options.file,
    rows: 0,
    accepted: 0,
    duplicate: 0,
    rejected: 0,
    rejections: [],
    seconds: 0,
    events_per_second: 0,
  };
  let batch: InteractionEvent[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const { outcomes } = await appendInteractionEvents(options.db, batch);
    for (const o of outcomes) summary[o.status] += 1;
    batch = [];
  };

  for await (const row of readRows(input, options.format)) {
    summary.rows += 1;
    const verdict =
      row === undefined
        ? { ok: false as const, errors: [{ field: "(line)", rule: "must be a JSON object" }] }
        : validateEvent(rowToEvent(row, options.mapping), options.window);
    if (verdict.ok) batch.push(verdict.event);
    else {
      summary.rejected += 1;
      if (summary.rejections.length < MAX_REPORTED_REJECTIONS) {
        summary.rejections.push({ row: summary.rows, errors: verdict.errors });
      }
    }
    if (batch.length >= batchSize) {
      await flush();
      const seconds = (performance.now() - started) / 1000;
      bar?.update(input.bytesRead, { rows: summary.rows, rate: Math.round(summary.rows / seconds) });
    }
  }
  await flush();
  bar?.update(total, { rows: summary.rows });
  bar?.stop();
  summary.seconds = Number(((performance.now() - started) / 1000).toFixed(3));
  summary.events_per_second = Math.round(summary.rows / Math.max(summary.seconds, 1e-3));
  return summary;
}

async function* readRows(
  input: NodeJS.ReadableStream,
  format: "csv" | "ndjson",
): AsyncGenerator<Record<string, unknown> | undefined> {
  if (format === "csv") {
    yield* input.pipe(
      parse({ columns: true, skip_empty_lines: true, trim: true, bom: true }),
    ) as AsyncIterable<Record<string, string>>;
    return;
  }
  for await (const line of readline.createInterface({ input, crlfDelay: Infinity })) {
    if (line.trim() === "") continue;
    try {
      const value: unknown = JSON.parse(line);
      yield typeof value === "object" && value !== null && !Array.isArray(value)
        ? (value as Record<string, unknown>)
        : undefined;
    } catch {
      yield undefined;
    }
  }
}
