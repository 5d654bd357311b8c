/**
 * What follows a run of an instance, as a pure function: the run's outcome,
 * the instance's counters and the supervision settings in; why it ended,
 * the restart delay (or the state it rests in), the log records to write
 * and the new counters out. {@linkcode Instance} holds the state and calls
 * {@linkcode decide}; it decides nothing itself.
 *
 * @module
 */

import { backoffDelay } from "../_shared/backoff.ts";
import { errorMessage } from "../_shared/errors.ts";
import { plural } from "../_shared/plural.ts";
import type { Level } from "../protocol/worker.ts";
import type { StopReason } from "./events.ts";
import { type ExitStatus, StartError } from "./transports/types.ts";
import type { RestartPolicy } from "./types.ts";

/** The settings the decision depends on, in milliseconds where they are times. */
export interface RestartSettings {
  /** Restart policy. */
  restart: RestartPolicy;
  /** Restarts after failed runs in a row before giving up (given up after `maxRestarts + 1` failed runs). */
  maxRestarts: number;
  /** Consecutive hangs before giving up. */
  maxProcessTimeouts: number;
  /** First backoff delay. */
  backoffInitialMs: number;
  /** Largest backoff delay. */
  backoffMaxMs: number;
  /** Uptime after which the failure count resets; a shorter run counts toward backoff. */
  backoffResetMs: number;
}

/** An instance's counts across runs. */
export interface RestartCounters {
  /** Restarts after a failed run (shown by `ps`). */
  readonly restarts: number;
  /** Failed runs in a row, since the last run that lasted `backoffResetMs`. */
  readonly failures: number;
  /** Runs in a row shorter than `backoffResetMs`, whatever their end: the backoff step. */
  readonly short: number;
  /** Hangs in a row (counted by the liveness check, reset by a long run). */
  readonly timeouts: number;
}

/** The counters of an instance that never ran. */
export const NO_RUNS: RestartCounters = { restarts: 0, failures: 0, short: 0, timeouts: 0 };

/** How a run (or an attempt to start one) went. */
export interface RunOutcome {
  /** How it exited; `undefined` when it never started. */
  status: ExitStatus | undefined;
  /** What the transport threw when it could not start it. */
  startError?: unknown;
  /** True when the start was aborted (stopped while starting). */
  aborted: boolean;
  /** Why the supervisor ended the run itself (stop, suspend, hang), if it did. */
  requested: StopReason | undefined;
  /** True when the worker said it ends cleanly (`@distarch/1 ended`). */
  endedCleanly: boolean;
  /**
   * When the instance last started (ms), this run or, when it could not be
   * started, an earlier one; `undefined` when it never started.
   */
  startedAt: number | undefined;
  /** The last lines it printed; asked only when it crashed. */
  lastLines(): readonly string[];
}

/** One log record to write about the instance. */
export interface PolicyLog {
  /** Its level. */
  level: Level;
  /** Its message. */
  message: string;
  /** Extra fields (the last lines of a crash). */
  context?: Record<string, unknown>;
}

/** Where an instance rests when it is not restarted. */
export type FinalState = "ended" | "stopped" | "failed" | "suspended";

/** What follows a run. */
export interface Decision {
  /** Why the run ended. */
  reason: StopReason;
  /** Milliseconds before it is started again; `undefined`: it is not. */
  delay: number | undefined;
  /** Its state when it is not restarted (meaningless when `delay` is set). */
  final: FinalState;
  /** The exit code, `null` when it never started. */
  code: number | null;
  /** The signal that killed it, if any. */
  signal: string | null;
  /** Log records to write, in order. */
  logs: PolicyLog[];
  /** The counters after this run. */
  counters: RestartCounters;
}

/** Options of {@linkcode decide}. */
export interface DecideOptions {
  /** The supervision settings. */
  settings: RestartSettings;
  /** The time now, in ms (the run's uptime is `now - startedAt`). */
  now: number;
  /** The jitter source, in [0, 1). @default {Math.random} */
  random?: () => number;
}

/**
 * Decides what follows a run: why it ended, whether and when it starts again
 * or gives up, what to log, and the new counters.
 *
 * @example
 * ```ts
 * import { decide, NO_RUNS } from "./_restart_policy.ts";
 * const settings = {
 *   restart: "on-failure" as const,
 *   maxRestarts: 5,
 *   maxProcessTimeouts: 3,
 *   backoffInitialMs: 1000,
 *   backoffMaxMs: 60_000,
 *   backoffResetMs: 30_000,
 * };
 * const crash = {
 *   status: { code: 1, signal: null },
 *   aborted: false,
 *   requested: undefined,
 *   endedCleanly: false,
 *   startedAt: 0,
 *   lastLines: () => [],
 * };
 * const d = decide(crash, NO_RUNS, { settings, now: 500, random: () => 1 });
 * console.log(d.reason, d.delay, d.counters.restarts); // crashed 1000 1
 * ```
 */
export function decide(
  outcome: RunOutcome,
  counters: RestartCounters,
  options: DecideOptions,
): Decision {
  const { settings: set, now, random = Math.random } = options;
  const { status, startError } = outcome;
  let { restarts, failures, short, timeouts } = counters;
  const logs: PolicyLog[] = [];
  const log = (level: Level, message: string, context?: Record<string, unknown>) => {
    logs.push(context === undefined ? { level, message } : { level, message, context });
  };
  const backoff = (n: number) => backoffDelay(n, set.backoffInitialMs, set.backoffMaxMs, random());

  const reason = reasonOf(outcome, log);
  // a start that failed had no run: an earlier run's start time says nothing about this one
  const uptime = status === undefined || outcome.startedAt === undefined
    ? 0
    : now - outcome.startedAt;
  if (uptime >= set.backoffResetMs) {
    failures = 0;
    short = 0;
  }
  if (reason !== "timeout" && status !== undefined && uptime >= set.backoffResetMs) timeouts = 0;
  const code = status?.code ?? null;
  const signal = status?.signal ?? null;
  const exitText = status === undefined
    ? ""
    : signal !== null
    ? `killed by ${signal}`
    : `exit code ${code}`;

  let delay: number | undefined;
  let final: FinalState = "stopped";
  switch (reason) {
    case "stopped":
    case "suspended":
      final = reason;
      if (status !== undefined) log("info", `${reason} (${exitText})`);
      break;
    case "ended":
      final = "ended";
      log("info", `ended (${exitText})`);
      // a run shorter than backoffReset counts toward backoff, clean or not
      if (set.restart === "always") delay = backoff(++short);
      break;
    case "lost":
      if (status !== undefined) {
        log("warning", `lost: ${status.lost}; will start it again when the host is back`);
      }
      delay = 0; // the transport paces its reconnection attempts
      break;
    case "timeout":
      if (timeouts >= set.maxProcessTimeouts) {
        final = "failed";
        log("error", `given up: hung ${timeouts} times in a row (${exitText})`);
      } else {
        delay = 0;
        restarts++;
      }
      break;
    case "crashed":
    case "start-failed":
    case "not-ready": {
      failures++;
      short++;
      const fatal = startError instanceof StartError && startError.fatal;
      if (reason === "crashed") {
        const tail = outcome.lastLines();
        log("error", `crashed (${exitText})`, tail.length > 0 ? { lastLines: tail } : undefined);
      }
      if (set.restart === "never" || fatal) {
        final = "failed";
        if (fatal) log("error", "given up: this cannot work by retrying");
      } else if (failures > set.maxRestarts) {
        final = "failed";
        log(
          "error",
          `given up after ${plural(failures - 1, "restart")} (${
            plural(failures, "failed run")
          } in a row; last: ${lastText(reason, exitText)})`,
        );
      } else {
        restarts++;
        delay = backoff(short);
        log("notice", `restarting in ${(delay / 1000).toFixed(1)} s (failure ${failures})`);
      }
      break;
    }
  }
  return {
    reason,
    delay,
    final,
    code,
    signal,
    logs,
    counters: { restarts, failures, short, timeouts },
  };
}

/** How a failed run ended, for the `given up` record. */
function lastText(reason: StopReason, exitText: string): string {
  if (reason === "crashed") return exitText;
  return reason === "not-ready" ? "not ready in time" : "could not be started";
}

/** Why the run ended; logs why it could not be started, when it could not. */
function reasonOf(outcome: RunOutcome, log: (level: Level, message: string) => void): StopReason {
  const { status, startError, requested } = outcome;
  if (status === undefined) {
    if (outcome.aborted || requested !== undefined) return requested ?? "stopped";
    if (startError instanceof StartError && startError.outage) {
      log("warning", `could not be started: ${startError.message}; retrying until it is back`);
      return "lost";
    }
    log("error", `could not be started: ${errorMessage(startError)}`);
    return "start-failed";
  }
  // a hung instance whose link died before our kill reached it was lost, not hung
  if (status.lost !== undefined && requested === "timeout") return "lost";
  if (requested !== undefined) return requested;
  if (status.lost !== undefined) return "lost";
  if (outcome.endedCleanly || status.code === 0) return "ended";
  return "crashed";
}
