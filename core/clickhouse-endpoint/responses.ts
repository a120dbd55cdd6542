import type http from "node:http";
import { promisify } from "node:util";
import zlib from "node:zlib";
import { logger } from "../logger.ts";
import { clickHouseErrorBody, httpStatusForError } from "../clickhouse/errors.ts";
import type { ClickHouseStoreError } from "../clickhouse/port.ts";
import { contentTypeOf } from "../clickhouse/sql-text.ts";

/** Response bodies and headers in the shape ClickHouse servers send and @clickhouse/client reads. */

const compressors = {
  gzip: promisify(zlib.gzip),
  deflate: promisify(zlib.deflate),
  br: promisify(zlib.brotliCompress),
} as const;
type Encoding = keyof typeof compressors;

export interface Summary {
  read_rows?: number;
  read_bytes?: number;
  written_rows?: number;
  written_bytes?: number;
  result_rows?: number;
  result_bytes?: number;
  elapsed: number;
}

export interface ServerIdentity {
  version: string;
  timezone: string;
}

export function baseHeaders(queryId: string, identity: ServerIdentity): Record<string, string> {
  return {
    "X-ClickHouse-Query-Id": queryId,
    "X-ClickHouse-Timezone": identity.timezone,
    "X-ClickHouse-Server-Display-Name": "reckon-chdb",
  };
}

export function summaryHeader(values: Summary): string {
  const s = (n: number | undefined) => String(n ?? 0);
  return JSON.stringify({
    read_rows: s(values.read_rows),
    read_bytes: s(values.read_bytes),
    written_rows: s(values.written_rows),
    written_bytes: s(values.written_bytes),
    total_rows_to_read: s(values.read_rows),
    result_rows: s(values.result_rows ?? values.written_rows),
    result_bytes: s(values.result_bytes ?? values.written_bytes),
    elapsed_ns: String(Math.round(values.elapsed * 1e9)),
  });
}

export function sendInsertDone(res: http.ServerResponse, headers: Record<string, string>): void {
  res.writeHead(200, { ...headers, "Content-Type": "text/plain; charset=UTF-8", "Content-Length": "0" });
  res.end();
}

/** Sends a query result in `format`, compressed when the client asked (enable_http_compression=1). */
export async function sendResult(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  result: { bytes: Uint8Array; format: string; compress: boolean },
  headers: Record<string, string>,
): Promise<void> {
  const out: Record<string, string> = {
    ...headers,
    "X-ClickHouse-Format": result.format,
    "Content-Type": contentTypeOf(result.format),
  };
  let payload = Buffer.from(result.bytes.buffer, result.bytes.byteOffset, result.bytes.byteLength);
  const encoding = result.compress ? pickEncoding(req.headers["accept-encoding"]) : undefined;
  if (encoding !== undefined) {
    payload = await compressors[encoding](payload);
    out["Content-Encoding"] = encoding;
  }
  out["Content-Length"] = String(payload.byteLength);
  res.writeHead(200, out);
  res.end(req.method === "HEAD" ? undefined : payload);
}

export function sendText(res: http.ServerResponse, text: string, status = 200): void {
  res.writeHead(status, {
    "Content-Type": status === 200 ? "text/html; charset=UTF-8" : "text/plain; charset=UTF-8",
    "Content-Length": String(Buffer.byteLength(text)),
  });
  res.end(text);
}

export function sendError(
  res: http.ServerResponse,
  error: ClickHouseStoreError,
  queryId: string,
  identity: ServerIdentity,
): void {
  if (error.type === "STD_EXCEPTION")
    logger.warn({ err: error }, "clickhouse http endpoint: query failed without a ClickHouse code");
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const body = clickHouseErrorBody(error, identity.version);
  res.writeHead(httpStatusForError(error.type), {
    "Content-Type": "text/plain; charset=UTF-8",
    "X-ClickHouse-Exception-Code": String(error.code),
    "X-ClickHouse-Query-Id": queryId,
    "Content-Length": String(Buffer.byteLength(body)),
  });
  res.end(body);
}

function pickEncoding(acceptEncoding: string | undefined): Encoding | undefined {
  if (acceptEncoding === undefined) return undefined;
  const offered = acceptEncoding.split(",").map((e) => e.trim().split(";")[0]?.toLowerCase());
  return (["gzip", "deflate", "br"] as const).find((e) => offered.includes(e));
}
