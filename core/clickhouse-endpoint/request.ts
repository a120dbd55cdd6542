import type http from "node:http";
import zlib from "node:zlib";
import { isInsertAwaitingData } from "../clickhouse/sql-text.ts";
import { headerValue } from "./authentication.ts";
import { EndpointFailure } from "./endpoint-failure.ts";

/** What a ClickHouse HTTP request asks for, read from its URL, headers and body. */
export interface ParsedRequest {
  sql: string | undefined;
  insert: { prefix: string; data: Buffer } | undefined;
  params: Record<string, string>;
  settings: Record<string, string>;
  database: string | undefined;
  defaultFormat: string;
}

// Query-string keys that belong to the protocol, not to the query's settings.
const PROTOCOL_KEYS = new Set([
  "query",
  "database",
  "default_format",
  "query_id",
  "session_id",
  "session_timeout",
  "session_check",
  "user",
  "password",
  "quota_key",
  "role",
  "stacktrace",
]);
// Settings about the HTTP transport itself: meaningful to a server's HTTP layer, not to the engine.
const TRANSPORT_SETTINGS = new Set([
  "enable_http_compression",
  "http_zlib_compression_level",
  "send_progress_in_http_headers",
  "http_headers_progress_interval_ms",
  "wait_end_of_query",
  "http_wait_end_of_query",
  "buffer_size",
  "http_response_buffer_size",
  "add_http_cors_header",
  "cancel_http_readonly_queries_on_client_close",
  "http_write_exception_in_output_format",
  "compress",
  "decompress",
]);

export function parseRequest(req: http.IncomingMessage, url: URL, body: Buffer): ParsedRequest {
  if (url.searchParams.get("compress") === "1" || url.searchParams.get("decompress") === "1") {
    // Answering uncompressed to a client that expects ClickHouse's LZ4 framing would be misread silently.
    throw new EndpointFailure(
      "ClickHouse native (LZ4) HTTP compression is not supported: use compress=0 or gzip",
      48,
      "NOT_IMPLEMENTED",
    );
  }
  const params: Record<string, string> = {};
  const settings: Record<string, string> = {};
  for (const [key, value] of url.searchParams) {
    if (key.startsWith("param_")) params[key.slice(6)] = value;
    else if (!PROTOCOL_KEYS.has(key) && !TRANSPORT_SETTINGS.has(key)) settings[key] = value;
  }
  let bodyText: Buffer = body;
  const contentType = headerValue(req, "content-type") ?? "";
  let formQuery: string | undefined;
  if (contentType.startsWith("multipart/form-data")) {
    for (const [name, value] of parseMultipart(body, contentType)) {
      if (name === "query") formQuery = value;
      else if (name.startsWith("param_")) params[name.slice(6)] = value;
      else
        throw new EndpointFailure(
          `Unsupported multipart part '${name}' (external tables are not supported)`,
          48,
          "NOT_IMPLEMENTED",
        );
    }
    bodyText = Buffer.alloc(0);
  }
  const urlQuery = url.searchParams.get("query") ?? undefined;
  const database = url.searchParams.get("database") ?? headerValue(req, "x-clickhouse-database") ?? undefined;
  const defaultFormat =
    url.searchParams.get("default_format") ?? headerValue(req, "x-clickhouse-format") ?? "TabSeparated";
  const parsed: ParsedRequest = {
    sql: undefined,
    insert: undefined,
    params,
    settings,
    database: database === "" || database === "default" ? undefined : database,
    defaultFormat,
  };
  const head = formQuery ?? urlQuery;
  if (head !== undefined && bodyText.length > 0 && isInsertAwaitingData(head)) {
    parsed.insert = { prefix: head, data: bodyText };
  } else if (head !== undefined && bodyText.length > 0) {
    // A server reads the URL query followed by the body as one statement.
    parsed.sql = `${head}\n${bodyText.toString("utf8")}`;
  } else if (head !== undefined) {
    parsed.sql = head;
  } else if (bodyText.length > 0) {
    parsed.sql = bodyText.toString("utf8");
  }
  if (parsed.sql !== undefined && parsed.sql.trim() === "") {
    throw new EndpointFailure("Empty query", 62, "SYNTAX_ERROR");
  }
  return parsed;
}

function parseMultipart(body: Buffer, contentType: string): Array<[string, string]> {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  const marker = boundary?.[1] ?? boundary?.[2];
  if (marker === undefined)
    throw new EndpointFailure("multipart/form-data without a boundary", 36, "BAD_ARGUMENTS");
  const parts: Array<[string, string]> = [];
  for (const chunk of body.toString("utf8").split(`--${marker}`)) {
    const split = chunk.indexOf("\r\n\r\n");
    if (split === -1) continue;
    const name = /name="([^"]*)"/i.exec(chunk.slice(0, split))?.[1];
    if (name === undefined) continue;
    parts.push([name, chunk.slice(split + 4).replace(/\r\n$/, "")]);
  }
  return parts;
}

const decompressorFor: Readonly<Record<string, () => NodeJS.ReadWriteStream>> = {
  gzip: () => zlib.createGunzip(),
  deflate: () => zlib.createInflate(),
  br: () => zlib.createBrotliDecompress(),
};

/** The request body, decompressed per Content-Encoding, refused past `maxBytes`. */
export async function readBody(req: http.IncomingMessage, maxBytes: number): Promise<Buffer> {
  const encoding = headerValue(req, "content-encoding");
  let source: NodeJS.ReadableStream = req;
  if (encoding !== undefined && encoding !== "identity") {
    const make = decompressorFor[encoding];
    if (make === undefined)
      throw new EndpointFailure(
        `Unknown HTTP compression method '${encoding}'`,
        233,
        "UNKNOWN_COMPRESSION_METHOD",
      );
    source = req.pipe(make());
    req.on("error", (error) => (source as NodeJS.ReadWriteStream).emit("error", error));
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of source) {
    const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    total += buf.length;
    if (total > maxBytes)
      throw new EndpointFailure(`Request body is larger than ${maxBytes} bytes`, 202, "QUERY_IS_TOO_LARGE");
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}
