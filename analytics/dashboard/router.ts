// Serves the dashboard: static HTML, CSS and JS from ./public, no build step. The page holds no data
// itself; it calls the experiments API with a read key the user pastes (kept in localStorage).
import path from "node:path";
import { fileURLToPath } from "node:url";
import express, { Router } from "express";

export const DASHBOARD_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "public");

/**
 * The page loads only its own script, styles and API: an injected script or a foreign resource does not
 * run, and no other site may frame it. Inline style attributes stay allowed (the tables set a few).
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "style-src-attr 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

export function dashboardRouter(): Router {
  const router = Router();
  router.use("/dashboard", (_req, res, next) => {
    res.set({
      "Content-Security-Policy": DASHBOARD_CSP,
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
    });
    next();
  });
  router.get("/dashboard", (_req, res) => {
    res.set("Cache-Control", "no-cache").sendFile(path.join(DASHBOARD_DIR, "index.html"));
  });
  // Online evaluation of recommenders: CTR@k, conversion and revenue per model, source and variant.
  router.get("/dashboard/recommenders", (_req, res) => {
    res.set("Cache-Control", "no-cache").sendFile(path.join(DASHBOARD_DIR, "recommenders.html"));
  });
  router.use(
    "/dashboard",
    express.static(DASHBOARD_DIR, { index: false, fallthrough: true, maxAge: 0, redirect: false }),
  );
  return router;
}
