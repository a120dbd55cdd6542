import { pino } from "pino";

/** Structured JSON logs (pino: fast, the de-facto standard for Node services). */
export const logger = pino({
  level: process.env.LOG_LEVEL ?? (process.env.NODE_ENV === "test" ? "warn" : "info"),
  base: { service: "reckon" },
});

export type Logger = typeof logger;
