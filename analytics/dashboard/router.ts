// Serves the dashboard: static HTML, CSS and JS from ./public, no build step. The page holds no data
// itself; it calls the experiments API with a read key the user pastes (kept in localStorage).
import path from "node:path";
import { fileURLToPath } from "node:url";
import express, { Router } from "express";

export const DASHBOARD_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), "public");

export function dashboardRouter(): Router {
  const router = Router();
  router.get("/dashboard", (_req, res) => {
    res.set("Cache-Control", "no-cache").sendFile(path.join(DASHBOARD_DIR, "index.html"));
  });
  router.use(
    "/dashboard",
    express.static(DASHBOARD_DIR, { index: false, fallthrough: true, maxAge: 0, redirect: false }),
  );
  return router;
}
