import { pino } from "pino";
import { logLevel } from "./config/log-level.ts";

/** Structured JSON logs (pino: fast, the de-facto standard for Node services). */
export const logger = pino({
  level: logLevel(),
  base: { service: "reckon" },
});

export type Logger = typeof logger;
