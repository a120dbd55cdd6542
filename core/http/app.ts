import express, { type ErrorRequestHandler, type Router } from "express";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { httpLatency, httpRequests, registry } from "../metrics.ts";
import { JsonBodyError, jsonBodyParser } from "./json-body.ts";
import { isOutage } from "./outage.ts";
import { requestIdMiddleware, requestLogger } from "./request-id.ts";

/**
 * A handler tried before express for a hot route: it answers the request and returns true, or returns false
 * (without touching `res`) so express handles it. Express costs ≈ 0.3 ms of CPU per request on our VMs, which a
 * route served a thousand times a second cannot afford; everything else stays on express.
 */
export type FastPath = (req: IncomingMessage, res: ServerResponse) => boolean;

const routerFastPaths = new WeakMap<Router, FastPath>();
const appFastPaths = new WeakMap<express.Express, FastPath[]>();

/** Attaches a fast path to a router: an app mounting the router tries it first (see `listen`). */
export function withFastPath(router: Router, fastPath: FastPath): Router {
  routerFastPaths.set(router, fastPath);
  return router;
}

export interface ReadinessCheck {
  name: string;
  check: () => Promise<void>;
}

export interface HttpAppOptions {
  routers: Router[];
  readiness: ReadinessCheck[];
  /** Largest accepted JSON body. */
  bodyLimit?: string;
  /** Served at GET /openapi.json. */
  openApiDocument?: unknown;
}

/**
 * The one express app every role mounts its routers on: JSON parsing with clear errors, metrics, health
 * and readiness, and an error handler that answers instead of crashing.
 */
export function createHttpApp(options: HttpAppOptions): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use(requestIdMiddleware);

  app.use((req, res, next) => {
    const end = httpLatency.startTimer();
    res.on("finish", () => {
      // The matched route pattern, never the raw path, keeps label cardinality bounded: every request no
      // route matched (a 404, or refused before routing, e.g. a body that is not JSON) shares one label.
      const pattern = req.route?.path as string | undefined;
      const route = pattern === undefined ? "unmatched" : `${req.baseUrl}${pattern}`;
      const labels = { route, method: req.method };
      end(labels);
      httpRequests.inc({ ...labels, status: String(res.statusCode) });
    });
    next();
  });

  app.get("/healthz", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/readyz", async (req, res) => {
    const results = await Promise.all(
      options.readiness.map(async ({ name, check }) => {
        try {
          await withTimeout(check(), 2000);
          return { name, ok: true };
        } catch (err) {
          // The dependency by name; its address and the driver's words stay in the log.
          requestLogger(req).warn({ err, dependency: name }, "readiness check failed");
          const timedOut = err instanceof ReadinessTimeout;
          return {
            name,
            ok: false,
            error: timedOut ? `${name} did not answer in time` : `${name} is unavailable`,
          };
        }
      }),
    );
    const ready = results.every((r) => r.ok);
    res.status(ready ? 200 : 503).json({ status: ready ? "ready" : "not ready", checks: results });
  });
  app.get("/openapi.json", (_req, res) => {
    res.json(options.openApiDocument ?? {});
  });
  app.get("/metrics", async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });

  app.use(jsonBodyParser(options.bodyLimit ?? "1mb"));
  for (const router of options.routers) app.use(router);
  const fastPaths = options.routers.flatMap((r) => routerFastPaths.get(r) ?? []);
  if (fastPaths.length > 0) appFastPaths.set(app, fastPaths);

  app.use((req, res) => {
    const allowed = allowedMethods(app.router as unknown as RouterLike, req.path);
    if (allowed.length > 0) {
      res
        .status(405)
        .set("Allow", allowed.join(", "))
        .json({
          error: "method_not_allowed",
          message: `${req.method} is not allowed on ${req.path}; allowed: ${allowed.join(", ")}`,
        });
      return;
    }
    res.status(404).json({ error: "not_found", message: `no route for ${req.method} ${req.path}` });
  });
  app.use(errorHandler);
  return app;
}

/** The parts of express's router (the `router` package) that say which methods a path has routes for. */
interface RouterLike {
  stack: {
    route?: { _methods(): string[] };
    handle: unknown;
    match(path: string): unknown;
  }[];
}

/**
 * The methods some route answers at `path` (routers mounted at "/" included): a path that exists answers an
 * unsupported method 405 with Allow, not 404. Runs only for requests no route took.
 */
function allowedMethods(router: RouterLike, path: string, found = new Set<string>()): string[] {
  for (const layer of router.stack) {
    if (!layer.match(path)) continue;
    if (layer.route) for (const method of layer.route._methods()) found.add(method);
    else {
      const nested = layer.handle as Partial<RouterLike> | undefined;
      if (Array.isArray(nested?.stack)) allowedMethods(nested as RouterLike, path, found);
    }
  }
  return [...found].sort();
}

const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  const e = err as { type?: string; status?: number; message?: string; limit?: number };
  if (err instanceof JsonBodyError) {
    res.status(400).json({
      error: err.type === "body.invalid_utf8" ? "invalid_encoding" : "invalid_json",
      message: err.message,
      errors: [{ field: "(body)", rule: err.rule, received: err.received }],
    });
    return;
  }
  if (e.type === "entity.parse.failed") {
    res.status(400).json({
      error: "invalid_json",
      message: "the request body is not valid JSON",
      errors: [{ field: "(body)", rule: "must be valid JSON", received: e.message }],
    });
    return;
  }
  if (e.type === "entity.too.large") {
    res.status(413).json({
      error: "payload_too_large",
      message: `the request body must be at most ${e.limit} bytes; split the batch`,
    });
    return;
  }
  if (typeof e.status === "number" && e.status >= 400 && e.status < 500) {
    res.status(e.status).json({ error: "bad_request", message: e.message });
    return;
  }
  if (isOutage(err)) {
    requestLogger(req).error(
      { err, path: req.path, method: req.method },
      "request failed: a store is unavailable",
    );
    if (!res.headersSent)
      res
        .status(503)
        .set("Retry-After", "5")
        .json({ error: "unavailable", message: "a store this request needs is unavailable; retry later" });
    return;
  }
  requestLogger(req).error({ err, path: req.path, method: req.method }, "request failed");
  if (!res.headersSent)
    res.status(500).json({ error: "internal", message: "internal error; it has been logged" });
};

class ReadinessTimeout extends Error {}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new ReadinessTimeout(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e) => (clearTimeout(t), reject(e)),
    );
  });
}

/** Starts listening; `close()` stops accepting and waits for in-flight requests to finish (graceful shutdown). */
export async function listen(
  app: express.Express,
  port: number,
  host = "0.0.0.0",
): Promise<{ server: Server; port: number; close: () => Promise<void> }> {
  const fastPaths = appFastPaths.get(app);
  const handler = fastPaths
    ? (req: IncomingMessage, res: ServerResponse) => {
        for (const fast of fastPaths) if (fast(req, res)) return;
        app(req, res);
      }
    : app;
  const server = await new Promise<Server>((resolve, reject) => {
    const s = createServer(handler);
    s.once("error", reject);
    s.listen(port, host, () => {
      s.off("error", reject);
      resolve(s);
    });
  });
  server.keepAliveTimeout = 65_000;
  const address = server.address();
  const actualPort = typeof address === "object" && address ? address.port : port;
  return {
    server,
    port: actualPort,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Idle keep-alive sockets would hold close() open; in-flight requests still finish.
        server.closeIdleConnections();
      }),
  };
}
