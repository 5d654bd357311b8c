/**
 * The launcher's events, the seed's hooks as a `kind`-tagged union, and the
 * handler map a launcher takes.
 *
 * @module
 */

import type { InstanceSpec } from "./plan.ts";
import type { InstanceResources } from "./transports/types.ts";

/** Where an instance is in its life. */
export type InstanceState =
  | "pending"
  | "starting"
  | "running"
  | "stopping"
  | "restarting"
  | "suspended"
  | "ended"
  | "stopped"
  | "failed";

/** A snapshot of one instance, as `ps` shows it: who it is (from its spec), then how it runs. */
export interface InstanceInfo
  extends Pick<InstanceSpec, "id" | "groupId" | "groupCount" | "group" | "host" | "label"> {
  /** Current state. */
  state: InstanceState;
  /** Pid on its host while it runs. */
  pid?: number;
  /** When the current run started (ms since epoch). */
  startedAt?: number;
  /** When it last printed anything (ms since epoch). */
  lastSeen?: number;
  /**
   * True while its current run is ready: it said `@distarch/1 ready` (a
   * group with `waitReady`), or simply started (a group without).
   */
  ready: boolean;
  /** When the current run became ready (ms since epoch). */
  readyAt?: number;
  /**
   * How many times it was started again after a failed run (a crash, a hang,
   * a failed start); suspend/resume, rolling restarts, `restart: "always"`
   * after a clean end and reconnections after a lost link do not count.
   */
  restarts: number;
  /** How many times it was started (every run, whatever started it). */
  runs: number;
  /** Why its last run ended. */
  lastReason?: StopReason;
  /** CPU use over the last sample, in percent of one core, when measured (see resources.ts). */
  cpu?: number;
  /** CPU seconds of its process group in the current run, when measured. */
  cpuSeconds?: number;
  /** Resident memory of its process group in bytes, when measured. */
  rss?: number;
}

/** Why a run of an instance ended. */
export type StopReason =
  | "ended" // it ended cleanly (exit 0 or the handler's `ended`)
  | "crashed" // non-zero exit or killed by a signal it was not sent
  | "timeout" // silent for too long, killed
  | "stopped" // the launcher stopped it
  | "suspended" // its group was suspended
  | "lost" // the link to its host was lost
  | "start-failed" // it could not be started
  | "not-ready" // waitReady: it did not say ready within readyTimeout, killed (a failed start)
  | "dependency"; // never started: a group it depends on gave up

/** An event of the launcher. */
export type LauncherEvent =
  | { kind: "launcherStarting"; instances: number }
  | { kind: "launcherStarted" }
  | { kind: "check"; time: number }
  | { kind: "launcherStopped" }
  | { kind: "instanceCreated"; instance: InstanceInfo }
  | { kind: "instanceStarted"; instance: InstanceInfo; pid: number }
  | { kind: "instanceReady"; instance: InstanceInfo; after: number }
  | { kind: "instanceTimedOut"; instance: InstanceInfo; silentFor: number }
  | {
    kind: "instanceStopped";
    instance: InstanceInfo;
    reason: StopReason;
    code: number | null;
    signal: string | null;
    willRestart: boolean;
  }
  | { kind: "instanceSeen"; instance: InstanceInfo; line: string }
  /** A remote instance's CPU and memory, measured on its host (see `ResourceSampler.report`). */
  | ({ kind: "instanceResources" } & InstanceResources);

/** The event of a given kind. */
export type EventOf<K extends LauncherEvent["kind"]> = Extract<LauncherEvent, { kind: K }>;

/**
 * Hooks, one per event kind, all optional. `instanceSeen` is called for every
 * line an instance prints: keep it cheap.
 */
export type EventHandlers = {
  [K in LauncherEvent["kind"]]?: (event: EventOf<K>) => void;
};

/** Calls the handler of `event.kind`, if any; a throwing handler never breaks the launcher. */
export function emit<E extends LauncherEvent>(handlers: EventHandlers, event: E): void {
  const h = handlers[event.kind] as ((e: E) => void) | undefined;
  if (h === undefined) return;
  try {
    h(event);
  } catch {
    // a user hook must not break supervision
  }
}
