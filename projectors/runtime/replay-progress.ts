import cliProgress from "cli-progress";

/**
 * The progress bar every `reckon replay` draws on stderr: events done of the log's count, with the rate
 * (`{rate}` payload). Undefined when progress is off, so callers write `bar?.update(...)`.
 */
export function replayProgressBar(
  label: string,
  enabled: boolean | undefined,
): cliProgress.SingleBar | undefined {
  if (!enabled) return undefined;
  return new cliProgress.SingleBar(
    {
      format: `replay ${label} {bar} {percentage}% | {value}/{total} events | {rate} events/s`,
      stream: process.stderr,
    },
    cliProgress.Presets.shades_classic,
  );
}
