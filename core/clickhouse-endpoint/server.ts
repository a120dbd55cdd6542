import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { logger } from "../logger.ts";
import { ChdbClickHouseStore } from "../clickhouse/chdb-adapter.ts";
import { toClickHouseStoreError } from "../clickhouse/errors.ts";
import { countResultRows, trailingFormat } from "../clickhouse/sql-text.ts";
import { authenticate, checkOrigin, type EndpointCredentials } from "./authentication.ts";
import { EndpointFailure } from "./endpoint-failure.ts";
import { QueryExecutor, type EndpointAccess, type SessionRequest } from "./execution.ts";
import { parseRequest, readBody, type ParsedRequest } from "./request.ts";
import {
  baseHeaders,
  sendError,
  sendInsertDone,
  sendResult,
  sendText,
  summaryHeader,
  type ServerIdentity,
} from "./responses.ts";
import { checkAnalystSettings, checkAnalystStatement } from "./statement-policy.ts";

/**
 * A ClickHouse-compatible HTTP interface over the in-process engine, so @clickhouse/client and
 * SQL tools that speak ClickHouse over HTTP (Grafana, Metabase, DBeaver) can query a single-node Reckon.
 * Every query needs the credentials; by default the door is an analyst's: reading statements only, on
 * connections the engine holds read-only. Results are computed whole, then sent (no mid-stream errors).
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
  /** Every query needs these (basic auth, X-ClickHouse-User/Key, or user/password params). */
  auth: EndpointCredentials;
  /**
   * "read-only" (default): SELECT-like statements through the statement policy, engine `readonly=1`.
   * "read-write" lets the endpoint stand in for a full ClickHouse server (tests of the HTTP adapter);
   * Reckon itself never serves it so.
   */
  access?: EndpointAccess;
  /** Web origins whose browser requests are served; default none (requests with an Origin are refused). */
  allowedOrigins?: readonly string[];
  /** Largest accepted request body after decompression; default 1 GiB. */
  maxBodyBytes?: number;
}

export interface ClickHouseHttpEndpoint {
  readonly port: number;
  readonly host: string;
  readonly url: string;
  close(): Promise<void>;
}

export async function startClickHouseHttpEndpoint(
  options: ClickHouseHttpEndpointOptions,
): Promise<ClickHouseHttpEndpoint> {
  if (options.auth.password === "")
    throw new Error("the ClickHouse HTTP endpoint needs a non-empty password");
  const ownsStore = options.store === undefined;
  const store =
    options.store ??
    (await ChdbClickHouseStore.open(options.dataDir === undefined ? {} : { dataDir: options.dataDir }));
  const executor = new QueryExecutor(store.engine, options.access ?? "read-only");
  const identity = await executor.open();
  const handler = requestHandler(options, executor, identity);
  const server = http.createServer((req, res) => {
    handler(req, res).catch((error: unknown) => {
      logger.error({ err: error }, "clickhouse http endpoint: unhandled failure");
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  // ClickHouse keeps idle connections 10 s; @clickhouse/client reads the Keep-Alive header Node sends from this.
  server.keepAliveTimeout = 10_000;
  const host = options.host ?? "127.0.0.1";
  await listen(server, options.port ?? 8123, host);
  const port = (server.address() as AddressInfo).port;
  logger.info({ host, port, access: executor.access }, "clickhouse http endpoint listening");
  return {
    port,
    host,
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await closed;
      await executor.close();
      if (ownsStore) await store.close();
    },
  };
}

function requestHandler(
  options: ClickHouseHttpEndpointOptions,
  executor: QueryExecutor,
  identity: ServerIdentity,
): (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void> {
  const maxBodyBytes = options.maxBodyBytes ?? 1024 ** 3;
  return async (req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const queryId = url.searchParams.get("query_id") || randomUUID();
    try {
      checkOrigin(req, options.allowedOrigins ?? []);
      if (url.pathname === "/ping" || url.pathname === "/replicas_status") return sendText(res, "Ok.\n");
      if (url.pathname !== "/") return sendText(res, `There is no handle ${url.pathname}\n`, 404);
      if (req.method !== "GET" && req.method !== "POST" && req.method !== "HEAD") {
        throw new EndpointFailure(`HTTP method ${req.method} is not supported`, 1, "UNSUPPORTED_METHOD");
      }
      authenticate(req, url, options.auth);
      const parsed = parseRequest(req, url, await readBody(req, maxBodyBytes));
      if (parsed.sql === undefined && parsed.insert === undefined) return sendText(res, "Ok.\n");
      if (executor.access === "read-only") enforceAnalystPolicy(parsed);
      else if (req.method === "GET" && parsed.settings.readonly === undefined) parsed.settings.readonly = "2";
      await execute(req, res, url, parsed, executor, baseHeaders(queryId, identity));
    } catch (error) {
      sendError(res, toClickHouseStoreError(error), queryId, identity);
    }
  };
}

function enforceAnalystPolicy(parsed: ParsedRequest): void {
  if (parsed.insert !== undefined) {
    throw new EndpointFailure("INSERT is not allowed: this endpoint is read-only", 164, "READONLY");
  }
  const settings = checkAnalystSettings(parsed.settings);
  if (!settings.allowed) throw new EndpointFailure(settings.reason, 164, "READONLY");
  const statement = checkAnalystStatement(parsed.sql ?? "");
  if (!statement.allowed) throw new EndpointFailure(statement.reason, 497, "ACCESS_DENIED");
}

async function execute(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  url: URL,
  parsed: ParsedRequest,
  executor: QueryExecutor,
  headers: Record<string, string>,
): Promise<void> {
  const sessionId = url.searchParams.get("session_id");
  const session: SessionRequest | undefined = sessionId
    ? {
        id: sessionId,
        timeout: url.searchParams.get("session_timeout"),
        mustExist: url.searchParams.get("session_check") === "1",
      }
    : undefined;
  await executor.withConnection(parsed, session, async (connection) => {
    if (parsed.insert !== undefined) {
      const result = await connection.insertRaw(parsed.insert.prefix, parsed.insert.data);
      headers["X-ClickHouse-Summary"] = summaryHeader({
        written_rows: result.rowsWritten,
        written_bytes: result.bytesWritten,
        elapsed: result.elapsedSeconds,
      });
      return sendInsertDone(res, headers);
    }
    const sql = parsed.sql ?? "";
    const format = trailingFormat(sql) ?? parsed.defaultFormat;
    const result = await connection.query(sql, format, parsed.params);
    headers["X-ClickHouse-Summary"] = summaryHeader({
      read_rows: result.rowsRead,
      read_bytes: result.bytesRead,
      result_rows: countResultRows(format, result.bytes) ?? 0,
      result_bytes: result.bytes.byteLength,
      elapsed: result.elapsedSeconds,
    });
    const compress = url.searchParams.get("enable_http_compression") === "1";
    await sendResult(req, res, { bytes: result.bytes, format, compress }, headers);
  });
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
}
