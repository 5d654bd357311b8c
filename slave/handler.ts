/**
 * The worker side: reads the {@linkcode WorkerContext} a master wrote to stdin,
 * gives the worker its ids, params, a logger, `ping()` and stop requests, and
 * ends the process with the right protocol line and exit code.
 *
 * It needs no permission at all: it only reads stdin, writes stdout/stderr and
 * listens to signals, so a worker can run with exactly the permissions it needs.
 *
 * @module
 */

import type { Level, WorkerGroupConfig } from "../protocol/worker.ts";
import { parseContext, readMessages, StdinLines } from "./_stdin.ts";
import { Context, writeAllSync } from "./_context.ts";

/** Options of a {@linkcode Handler}. */
export interface HandlerOptions {
  /**
   * Minimum gap in seconds between two ping lines: calling
   * {@linkcode HandlerContext.ping} more often writes nothing.
   *
   * @default {1}
   */
  pingInterval?: number;
}

/**
 * Writes log records to the master, one protocol line each. The master
 * receives them with their level and context.
 *
 * @example
 * ```ts
 * import type { Logger } from "./handler.ts";
 * function report(logger: Logger, done: number) {
 *   logger.notice("batch done", { done });
 * }
 * ```
 */
export type Logger = {
  readonly [L in Level]: (message: string, context?: Record<string, unknown>) => void;
};

/**
 * What a worker's callback receives from {@linkcode Handler.run}.
 *
 * A stop request (`SIGTERM`, `SIGINT`, or the master's end of stdin closing)
 * sets {@linkcode HandlerContext.stopping}, aborts
 * {@linkcode HandlerContext.signal} and cuts short any
 * {@linkcode HandlerContext.sleep}. The worker is never exited by the handler
 * on a stop request: the callback decides when to return.
 *
 * Stop requests arrive through the event loop, so a loop that checks
 * {@linkcode HandlerContext.mustStop} must also `await` something (for
 * example `h.sleep(0)`) now and then.
 *
 * @example
 * ```ts
 * import type { HandlerContext } from "./handler.ts";
 * async function work(h: HandlerContext) {
 *   h.logger.info(`instance ${h.groupId}/${h.groupCount} of ${h.groupConfig.name}`);
 *   while (!h.mustStop()) {
 *     h.ping();
 *     await h.sleep(0.5);
 *   }
 * }
 * ```
 */
export interface HandlerContext {
  /** Unique id across all groups, 1…N. */
  readonly id: number;
  /** Rank within the group, 1…groupCount. */
  readonly groupId: number;
  /**
   * Number of instances of the group, all hosts included. It changes when
   * the group is scaled while this instance runs: see
   * {@linkcode HandlerContext.onGroupCountChange}.
   */
  readonly groupCount: number;
  /** Host the instance runs on, as configured (`localhost` for local). */
  readonly host: string;
  /** The group's name, command and params. */
  readonly groupConfig: WorkerGroupConfig;
  /** The group's params (same as `groupConfig.params`). */
  readonly params: Record<string, unknown>;
  /** Logs to the master at a given level. */
  readonly logger: Logger;
  /** Aborted when a stop is requested. */
  readonly signal: AbortSignal;
  /** True once a stop is requested. */
  readonly stopping: boolean;
  /** True once a stop is requested (same as {@linkcode HandlerContext.stopping}). */
  mustStop(): boolean;
  /** Tells the master this instance is alive; writes at most one line per ping interval. */
  ping(): void;
  /**
   * Tells the master this instance is ready to do its work
   * (`@distarch/1 ready`): a group with `waitReady` counts as started only
   * then, and groups that depend on it start only once all its instances
   * said it. Writes the line once; later calls write nothing.
   */
  ready(): void;
  /**
   * Waits `seconds`. Resolves `true` when it slept fully, `false` as soon as a
   * stop is requested (at once if one already was).
   */
  sleep(seconds: number): Promise<boolean>;
  /**
   * Calls `listener` each time the master says the group was scaled, with
   * the new {@linkcode HandlerContext.groupCount} (already set) and the one
   * before. Returns a function that removes the listener. A throwing listener
   * is logged at `error` and does not stop the worker.
   *
   * @example
   * ```ts
   * import type { HandlerContext } from "./handler.ts";
   * function shard(h: HandlerContext) {
   *   let mine = (key: number) => key % h.groupCount === h.groupId - 1;
   *   h.onGroupCountChange((count, previous) => {
   *     h.logger.notice(`now ${count} instances (was ${previous})`);
   *     mine = (key) => key % count === h.groupId - 1;
   *   });
   *   return (key: number) => mine(key);
   * }
   * ```
   */
  onGroupCountChange(listener: (groupCount: number, previous: number) => void): () => void;
}

/** Printed to stderr when the process was not started by a master. */
const NOT_BY_HAND = "distarch: this is a distarch worker; start it with a distarch master " +
  "(Launcher or 'distarch run'), not by hand";

/**
 * Runs a worker's code under a distarch master. Construct it, then call
 * {@linkcode Handler.run} once with the worker's code.
 *
 * @example
 * ```ts
 * import { Handler } from "./handler.ts";
 *
 * if (import.meta.main) {
 *   await new Handler().run(async (h) => {
 *     console.log(`My ID: ${h.id}`); // a plain line is an info log
 *     while (await h.sleep(1)) h.ping();
 *   });
 * }
 * ```
 */
export class Handler {
  readonly #pingInterval: number;
  #started = false;

  /**
   * Creates a handler.
   *
   * @example
   * ```ts
   * import { Handler } from "./handler.ts";
   * const handler = new Handler({ pingInterval: 5 });
   * ```
   */
  constructor(options: HandlerOptions = {}) {
    const { pingInterval = 1 } = options;
    if (!(Number.isFinite(pingInterval) && pingInterval >= 0)) {
      throw new RangeError(
        `Cannot create Handler as 'pingInterval' must be a non-negative number of seconds: ` +
          `current value is ${pingInterval}`,
      );
    }
    this.#pingInterval = pingInterval;
  }

  /**
   * Reads the context from stdin, runs `callback`, then ends the process:
   * writes `@distarch/1 ended` and exits 0 when it returns; logs the error at
   * `critical` and exits 1 when it throws. Exits 2, with one line on stderr,
   * when the process was not started by a master. Never returns.
   *
   * @example
   * ```ts
   * import { Handler } from "./handler.ts";
   *
   * if (import.meta.main) {
   *   await new Handler().run((h) => {
   *     h.logger.warning("disk almost full", { freeMb: 120 });
   *   });
   * }
   * ```
   */
  async run(callback: (h: HandlerContext) => void | Promise<void>): Promise<never> {
    if (this.#started) throw new Error("Cannot run Handler: run() was already called");
    this.#started = true;
    const fail = (why: string): never => {
      writeAllSync(Deno.stderr, `${NOT_BY_HAND} (${why})\n`);
      return Deno.exit(2);
    };
    if (Deno.stdin.isTerminal()) return fail("stdin is a terminal");
    const buffer = new Uint8Array(64 * 1024);
    const stdin = new StdinLines(buffer);
    const line = await stdin.next();
    if (line === undefined) return fail("stdin ended before the context line");
    const parsed = parseContext(line);
    if (typeof parsed === "string") return fail(parsed);

    const h = new Context(parsed, this.#pingInterval);
    const listeners: [Deno.Signal, () => void][] = [];
    for (const sig of ["SIGTERM", "SIGINT"] as const) {
      const listener = () => h.requestStop(sig);
      try {
        Deno.addSignalListener(sig, listener);
        listeners.push([sig, listener]);
      } catch {
        // this signal is not supported on this platform
      }
    }
    readMessages(stdin, (m) => h.setGroupCount(m.groupCount))
      .then(() => h.requestStop("stdin closed, the master is gone"));

    let code = 0;
    try {
      await callback(h);
      h.write({ t: "ended" });
    } catch (error) {
      code = 1;
      const ctx = error instanceof Error
        ? { name: error.name, error: error.message, stack: error.stack ?? "" }
        : { error: String(error) };
      h.log("critical", `worker failed: ${ctx.error}`, ctx);
    } finally {
      for (const [sig, listener] of listeners) Deno.removeSignalListener(sig, listener);
    }
    return Deno.exit(code);
  }
}
