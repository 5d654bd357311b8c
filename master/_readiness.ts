/**
 * Readiness as pure functions: when an instance counts as ready, when its
 * time to say so is up, and whether a group may start given the instances of
 * the groups it depends on (`dependsOn`).
 *
 * @module
 */

import type { InstanceState } from "./events.ts";

/** The readiness settings of a group, in milliseconds. */
export interface ReadinessSettings {
  /** Wait for `@distarch/1 ready`; otherwise an instance is ready once started. */
  waitReady: boolean;
  /** How long a `waitReady` instance has, from its start, to say it is ready. */
  readyTimeoutMs: number;
}

/** What is known of the current run. */
export interface RunTimes {
  /** When it started (ms since epoch), if it did. */
  startedAt?: number;
  /** When it said `@distarch/1 ready`, if it did. */
  saidReadyAt?: number;
}

/**
 * When the current run became ready, or `undefined` while it is not:
 * without `waitReady`, as soon as it started; with it, when it said so.
 *
 * @example
 * ```ts
 * import { readyAt } from "./_readiness.ts";
 * readyAt({ waitReady: false, readyTimeoutMs: 30_000 }, { startedAt: 5 }); // 5
 * readyAt({ waitReady: true, readyTimeoutMs: 30_000 }, { startedAt: 5 }); // undefined
 * ```
 */
export function readyAt(set: ReadinessSettings, run: RunTimes): number | undefined {
  if (run.startedAt === undefined) return undefined;
  return set.waitReady ? run.saidReadyAt : run.startedAt;
}

/**
 * Milliseconds left for the current run to say it is ready: `undefined`
 * when there is nothing to wait for (no `waitReady`, not started, or ready),
 * 0 or less when its time is up.
 *
 * @example
 * ```ts
 * import { readyTimeLeft } from "./_readiness.ts";
 * readyTimeLeft({ waitReady: true, readyTimeoutMs: 1000 }, { startedAt: 0 }, 400); // 600
 * ```
 */
export function readyTimeLeft(
  set: ReadinessSettings,
  run: RunTimes,
  now: number,
): number | undefined {
  if (!set.waitReady || run.startedAt === undefined || run.saidReadyAt !== undefined) {
    return undefined;
  }
  return run.startedAt + set.readyTimeoutMs - now;
}

/** What the gate needs of one instance of a dependency. */
export interface DependencyInstance {
  /** Its group. */
  group: string;
  /** Its state. */
  state: InstanceState;
  /** Whether its current run is ready. */
  ready: boolean;
}

/** Whether a group may start, given its dependencies' instances. */
export type Gate =
  | { kind: "go" }
  | { kind: "wait"; on: string[] }
  | { kind: "blocked"; dependency: string; failed: number; of: number };

/**
 * Whether a group that depends on `dependsOn` may start its instances: `go`
 * once every instance of every dependency, on every host, is running and
 * ready (or ended cleanly: a job that had to run first); `blocked` as soon
 * as an instance of a dependency was given up (`failed`), because then that
 * can never hold; else `wait`, naming the groups still waited for. A
 * dependency with no instance (scaled to 0) holds nothing up.
 *
 * @example
 * ```ts
 * import { startGate } from "./_readiness.ts";
 * startGate(["feeder"], [{ group: "feeder", state: "running", ready: false }]);
 * // { kind: "wait", on: ["feeder"] }
 * ```
 */
export function startGate(
  dependsOn: readonly string[],
  instances: readonly DependencyInstance[],
): Gate {
  const on: string[] = [];
  for (const dep of dependsOn) {
    const members = instances.filter((i) => i.group === dep);
    const failed = members.filter((i) => i.state === "failed").length;
    if (failed > 0) return { kind: "blocked", dependency: dep, failed, of: members.length };
    const satisfied = members.every((i) =>
      (i.state === "running" && i.ready) || i.state === "ended"
    );
    if (!satisfied) on.push(dep);
  }
  return on.length === 0 ? { kind: "go" } : { kind: "wait", on };
}
