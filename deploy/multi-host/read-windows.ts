/** One read against a host: when it was sent and answered, and whether it succeeded. */
export interface ReadSample {
  startedAt: number;
  endedAt: number;
  ok: boolean;
}

/** A stretch of consecutive failed reads: from the first failure's start to the next success's start. */
export interface FailingWindow {
  from: number;
  to: number;
  failures: number;
}

/**
 * The stretches during which a host's reads failed, in time order. A window ends when a later read succeeds;
 * one still open after the last sample ends at that sample's answer.
 */
export function failingWindows(samples: readonly ReadSample[]): FailingWindow[] {
  const ordered = [...samples].sort((a, b) => a.startedAt - b.startedAt);
  const windows: FailingWindow[] = [];
  let open: FailingWindow | undefined;
  for (const s of ordered) {
    if (!s.ok) {
      if (open) {
        open.failures++;
        open.to = s.endedAt;
      } else open = { from: s.startedAt, to: s.endedAt, failures: 1 };
    } else if (open) {
      open.to = s.startedAt;
      windows.push(open);
      open = undefined;
    }
  }
  if (open) windows.push(open);
  return windows;
}

/** The longest window's length in milliseconds (0 when no read failed). */
export function longestFailingMs(samples: readonly ReadSample[]): number {
  return Math.max(0, ...failingWindows(samples).map((w) => w.to - w.from));
}

/**
 * The reads sent and answered while a host was meant to be serving: none overlaps a span in `down`, where
 * each span runs from just before the host was killed to when it answered ready again.
 */
export function readsWhileUp(
  samples: readonly ReadSample[],
  down: readonly { from: number; to: number }[],
): ReadSample[] {
  return samples.filter((s) => down.every((d) => s.endedAt < d.from || s.startedAt > d.to));
}
