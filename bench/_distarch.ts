/**
 * The distarch side of the local benchmarks: a launcher running one group of
 * a fixture worker, and a logger that waits for every instance's ready line.
 *
 * @module
 */

import { Launcher, type RunSummary } from "../master/launcher.ts";
import type { Logger, LogRecord } from "../master/types.ts";

/** A logger that resolves `ready` once `count` distinct instances have printed `ready`. */
export class ReadyLogger implements Logger {
  /** Resolves when every instance is ready. */
  readonly ready: Promise<void>;
  readonly #seen = new Set<number>();
  readonly #count: number;
  #resolve!: () => void;

  /** Waits for `count` instances. */
  constructor(count: number) {
    this.#count = count;
    this.ready = new Promise((resolve) => this.#resolve = resolve);
  }

  /** Counts `ready` lines; drops everything else. */
  log(record: LogRecord): void {
    if (record.message !== "ready" || record.id === undefined) return;
    this.#seen.add(record.id);
    if (this.#seen.size === this.#count) this.#resolve();
  }
}

/** A running launcher and what its `run()` resolves to. */
export interface Running {
  /** The launcher. */
  launcher: Launcher;
  /** What `run()` returns. */
  done: Promise<RunSummary>;
}

/**
 * Starts `instances` instances of `script` under a launcher that never
 * times them out and does not listen to signals.
 */
export function launch(
  script: string,
  instances: number,
  logger: Logger,
  params: Record<string, unknown> = {},
): Running {
  // DISTARCH_BENCH_HANDOVER=1: the same run with handover on (local instances under a local agent)
  const handover = Deno.env.get("DISTARCH_BENCH_HANDOVER") === "1"
    ? { adoptWindow: 30, stateDir: Deno.makeTempDirSync({ prefix: "distarch-bench-state-" }) }
    : {};
  const launcher = new Launcher({
    logger,
    handleSignals: false,
    timeout: 0,
    restart: "never",
    ...handover,
  });
  const run = launcher.run([{
    name: "bench",
    command: script,
    params,
    processes: [{ type: "local", instances }],
  }]);
  const dir = "stateDir" in handover ? handover.stateDir : undefined;
  const done = dir === undefined
    ? run
    : run.finally(() => Deno.remove(dir, { recursive: true }).catch(() => {}));
  return { launcher, done };
}

/** Rejects after `ms` with a message naming `what`; the timer never holds the process. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
    Deno.unrefTimer(timer as unknown as number);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
