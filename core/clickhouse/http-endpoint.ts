import { randomUUID, timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import zlib from "node:zlib";
import { logger } from "../logger.ts";
import { ChdbClickHouseStore } from "./chdb-adapter.ts";
import type { ChdbConnection } from "./chdb-engine.ts";
import { clickHouseErrorBody, httpStatusForError, toClickHouseStoreError } from "./errors.ts";
import { ClickHouseStoreError } from "./port.ts";
import { contentTypeOf, countResultRows, isInsertAwaitingData, trailingFormat } from "./sql-text.ts";

/**
 * A ClickHouse-compatible HTTP interface over the in-process engine, so @clickhouse/client and
 * SQL tools that speak ClickHouse over HTTP (Grafana, Metabase, DBeaver) can use a single-node Reckon.
 * Results are computed whole, then sent (no streaming of partial results, so no mid-stream errors).
 */

export interface ClickHouseHttpEndpointOptions {
  /** Serve this store's engine (the endpoint then leaves the store open on close). */
  store?: ChdbClickHouseStore;
  /** Or open a store on this data directory (closed with the endpoint). */
  dataDir?: string;
  /** Default 8123; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** When set, queries need these credentials (basic auth, X-ClickHouse-User/Key, or user/password params). */
  auth?: { user: string; password: string };
  /** Largest accepted request body after decompression; default 1 GiB. */
  maxBodyBytes?: number;
}

export interface ClickHouseHttpEndpoint {
  readonly port: number;
  readonly host: string;
  readonly url: string;
  close(): Promise<void>;
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

const compressors = {
  gzip: promisify(zlib.gzip),
  deflate: promisify(zlib.deflate),
  br: promisify(zlib.brotliCompress),
} as const;
type Encoding = keyof typeof compressors;

interface HttpSession {
  connection: ChdbConnection;
  busy: boolean;
  timer: NodeJS.Timeout | undefined;
  timeoutMs: number;
}

interface ParsedRequest {
  sql: string | undefined;
  insert: { prefix: string; data: Buffer } | undefined;
  params: Record<string, string>;
  settings: Record<string, string>;
  database: string | undefined;
  defaultFormat: string;
}

class HttpFailure extends ClickHouseStoreError {}

export async function startClickHouseHttpEndpoint(
  options: ClickHouseHttpEndpointOptions,
): Promise<ClickHouseHttpEndpoint> {
  const ownsStore = options.store === undefined;
  const store =
    options.store ??
    (await ChdbClickHouseStore.open(options.dataDir === undefined ? {} : { dataDir: options.dataDir }));
  const engine = store.engine;
  const shared = await engine.connect();
  const info = await shared.query("SELECT version(), timezone()", "TabSeparated");
  const [version = "unknown", timezone = "UTC"] = Buffer.from(info.bytes).toString("utf8").trim().split("\t");
  const sessions = new Map<string, HttpSession>();
  const maxBodyBytes = options.maxBodyBytes ?? 1024 ** 3;

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.error({ err: error }, "clickhouse http endpoint: unhandled failure");
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  // ClickHouse keeps idle connections 10 s; @clickhouse/client reads the Keep-Alive header Node sends from this.
  server.keepAliveTimeout = 10_000;

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://localhost");
    const queryId = url.searchParams.get("query_id") || randomUUID();
    try {
      if (url.pathname === "/ping" || url.pathname === "/replicas_status") return sendText(res, "Ok.\n");
      if (url.pathname !== "/") {
        res.writeHead(404, { "Content-Type": "text/plain; charset=UTF-8" });
        res.end(`There is no handle ${url.pathname}\n`);
        return;
      }
      if (req.method !== "GET" && req.method !== "POST" && req.method !== "HEAD") {
        throw new HttpFailure(`HTTP method ${req.method} is not supported`, 1, "UNSUPPORTED_METHOD");
      }
      authenticate(req, url);
      const body = await readBody(req, maxBodyBytes);
      const parsed = parseRequest(req, url, body);
      if (parsed.sql === undefined && parsed.insert === undefined) return sendText(res, "Ok.\n");
      if (req.method === "GET" && parsed.settings.readonly === undefined) parsed.settings.readonly = "2";
      await run(req, res, url, parsed, queryId);
    } catch (error) {
      sendError(res, toClickHouseStoreError(error), queryId);
    }
  }

  function authenticate(req: http.IncomingMessage, url: URL): void {
    if (options.auth === undefined) return;
    let user = header(req, "x-clickhouse-user") ?? url.searchParams.get("user") ?? undefined;
    let password = header(req, "x-clickhouse-key") ?? url.searchParams.get("password") ?? undefined;
    const authorization = header(req, "authorization");
    if (authorization?.startsWith("Basic ")) {
      const decoded = Buffer.from(authorization.slice(6), "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      user = colon === -1 ? decoded : decoded.slice(0, colon);
      password = colon === -1 ? "" : decoded.slice(colon + 1);
    }
    if (!sameText(user ?? "default", options.auth.user) || !sameText(password ?? "", options.auth.password)) {
      throw new HttpFailure(
        `${user ?? "default"}: Authentication failed: password is incorrect, or there is no user with such name`,
        516,
        "AUTHENTICATION_FAILED",
      );
    }
  }

  async function run(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    url: URL,
    parsed: ParsedRequest,
    queryId: string,
  ): Promise<void> {
    const sessionId = url.searchParams.get("session_id");
    let session: HttpSession | undefined;
    let transient: ChdbConnection | undefined;
    let connection = shared;
    if (sessionId) {
      session = await openSession(sessionId, url);
      connection = session.connection;
      await connection.applySettings(parsed.settings);
      if (parsed.database !== undefined)
        await connection.query(`USE ${quoteIdentifier(parsed.database)}`, "TabSeparated");
    } else if (Object.keys(parsed.settings).length > 0 || parsed.database !== undefined) {
      // Settings and the current database are per connection, so such a request gets its own (about 1 ms).
      transient = await engine.connect(parsed.settings);
      connection = transient;
      if (parsed.database !== undefined)
        await connection.query(`USE ${quoteIdentifier(parsed.database)}`, "TabSeparated");
    }
    try {
      const headers: Record<string, string> = {
        "X-ClickHouse-Query-Id": queryId,
        "X-ClickHouse-Timezone": timezone,
        "X-ClickHouse-Server-Display-Name": "reckon-chdb",
      };
      if (parsed.insert !== undefined) {
        const result = await connection.insertRaw(parsed.insert.prefix, parsed.insert.data);
        headers["X-ClickHouse-Summary"] = summary({
          written_rows: result.rowsWritten,
          written_bytes: result.bytesWritten,
          elapsed: result.elapsedSeconds,
        });
        res.writeHead(200, {
          ...headers,
          "Content-Type": "text/plain; charset=UTF-8",
          "Content-Length": "0",
        });
        res.end();
        return;
      }
      const sql = parsed.sql ?? "";
      const format = trailingFormat(sql) ?? parsed.defaultFormat;
      const result = await connection.query(sql, format, parsed.params);
      headers["X-ClickHouse-Format"] = format;
      headers["X-ClickHouse-Summary"] = summary({
        read_rows: result.rowsRead,
        read_bytes: result.bytesRead,
        result_rows: countResultRows(format, result.bytes) ?? 0,
        result_bytes: result.bytes.byteLength,
        elapsed: result.elapsedSeconds,
      });
      headers["Content-Type"] = contentTypeOf(format);
      let payload = Buffer.from(result.bytes.buffer, result.bytes.byteOffset, result.bytes.byteLength);
      const encoding =
        url.searchParams.get("enable_http_compression") === "1"
          ? pickEncoding(header(req, "accept-encoding"))
          : undefined;
      if (encoding !== undefined) {
        payload = await compressors[encoding](payload);
        headers["Content-Encoding"] = encoding;
      }
      headers["Content-Length"] = String(payload.byteLength);
      res.writeHead(200, headers);
      res.end(req.method === "HEAD" ? undefined : payload);
    } finally {
      if (transient !== undefined) await engine.release(transient);
      if (session !== undefined) releaseSession(sessionId ?? "", session);
    }
  }

  async function openSession(id: string, url: URL): Promise<HttpSession> {
    const timeoutSeconds = Number(url.searchParams.get("session_timeout") ?? "60");
    if (!Number.isFinite(timeoutSeconds) || timeoutSeconds < 0 || timeoutSeconds > 3600) {
      throw new HttpFailure(
        `Invalid session timeout: '${url.searchParams.get("session_timeout")}'`,
        36,
        "BAD_ARGUMENTS",
      );
    }
    let session = sessions.get(id);
    if (session === undefined) {
      if (url.searchParams.get("session_check") === "1") {
        throw new HttpFailure(`Session ${id} not found`, 372, "SESSION_NOT_FOUND");
      }
      session = {
        connection: await engine.connect(),
        busy: false,
        timer: undefined,
        timeoutMs: timeoutSeconds * 1000,
      };
      sessions.set(id, session);
    }
    if (session.busy)
      throw new HttpFailure(`Session ${id} is locked by a concurrent client`, 373, "SESSION_IS_LOCKED");
    session.busy = true;
    session.timeoutMs = timeoutSeconds * 1000;
    if (session.timer !== undefined) clearTimeout(session.timer);
    return session;
  }

  function releaseSession(id: string, session: HttpSession): void {
    session.busy = false;
    session.timer = setTimeout(() => {
      sessions.delete(id);
      void engine.release(session.connection);
    }, session.timeoutMs);
    session.timer.unref();
  }

  function sendError(res: http.ServerResponse, error: ClickHouseStoreError, queryId: string): void {
    if (error.type === "STD_EXCEPTION")
      logger.warn({ err: error }, "clickhouse http endpoint: query failed without a ClickHouse code");
    if (res.headersSent || res.destroyed) {
      res.destroy();
      return;
    }
    const body = clickHouseErrorBody(error, version);
    res.writeHead(httpStatusForError(error.type), {
      "Content-Type": "text/plain; charset=UTF-8",
      "X-ClickHouse-Exception-Code": String(error.code),
      "X-ClickHouse-Query-Id": queryId,
      "Content-Length": String(Buffer.byteLength(body)),
    });
    res.end(body);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8123, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = options.host ?? "127.0.0.1";
  logger.info({ host, port: address.port }, "clickhouse http endpoint listening");

  return {
    port: address.port,
    host,
    url: `http://${host.includes(":") ? `[${host}]` : host}:${address.port}`,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await closed;
      for (const [id, session] of sessions) {
        if (session.timer !== undefined) clearTimeout(session.timer);
        sessions.delete(id);
        await engine.release(session.connection);
      }
      await engine.release(shared);
      if (ownsStore) await store.close();
    },
  };
}

function parseRequest(req: http.IncomingMessage, url: URL, body: Buffer): ParsedRequest {
  if (url.searchParams.get("compress") === "1" || url.searchParams.get("decompress") === "1") {
    // Answering uncompressed to a client that expects ClickHouse's LZ4 framing would be misread silently.
    throw new HttpFailure(
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
  const contentType = header(req, "content-type") ?? "";
  let formQuery: string | undefined;
  if (contentType.startsWith("multipart/form-data")) {
    const parts = parseMultipart(body, contentType);
    for (const [name, value] of parts) {
      if (name === "query") formQuery = value;
      else if (name.startsWith("param_")) params[name.slice(6)] = value;
      else
        throw new HttpFailure(
          `Unsupported multipart part '${name}' (external tables are not supported)`,
          48,
          "NOT_IMPLEMENTED",
        );
    }
    bodyText = Buffer.alloc(0);
  }
  const urlQuery = url.searchParams.get("query") ?? undefined;
  const database = url.searchParams.get("database") ?? header(req, "x-clickhouse-database") ?? undefined;
  const defaultFormat =
    url.searchParams.get("default_format") ?? header(req, "x-clickhouse-format") ?? "TabSeparated";
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
    throw new HttpFailure("Empty query", 62, "SYNTAX_ERROR");
  }
  return parsed;
}

function parseMultipart(body: Buffer, contentType: string): Array<[string, string]> {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  const marker = boundary?.[1] ?? boundary?.[2];
  if (marker === undefined)
    throw new HttpFailure("multipart/form-data without a boundary", 36, "BAD_ARGUMENTS");
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

async function readBody(req: http.IncomingMessage, maxBytes: number): Promise<Buffer> {
  const encoding = header(req, "content-encoding");
  let source: NodeJS.ReadableStream = req;
  if (encoding !== undefined && encoding !== "identity") {
    const make = decompressorFor[encoding];
    if (make === undefined)
      throw new HttpFailure(
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
      throw new HttpFailure(`Request body is larger than ${maxBytes} bytes`, 202, "QUERY_IS_TOO_LARGE");
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

function pickEncoding(acceptEncoding: string | undefined): Encoding | undefined {
  if (acceptEncoding === undefined) return undefined;
  const offered = acceptEncoding.split(",").map((e) => e.trim().split(";")[0]?.toLowerCase());
  return (["gzip", "deflate", "br"] as const).find((e) => offered.includes(e));
}

function summary(values: {
  read_rows?: number;
  read_bytes?: number;
  written_rows?: number;
  written_bytes?: number;
  result_rows?: number;
  result_bytes?: number;
  elapsed: number;
}): string {
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

function sendText(res: http.ServerResponse, text: string): void {
  res.writeHead(200, {
    "Content-Type": "text/html; charset=UTF-8",
    "Content-Length": String(Buffer.byteLength(text)),
  });
  res.end(text);
}

function header(req: http.IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function quoteIdentifier(name: string): string {
  return `\`${name.replace(/\\/g, "\\\\").replace(/`/g, "\\`")}\``;
}
