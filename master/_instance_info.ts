/**
 * What an instance shows of itself: the {@linkcode InstanceInfo} snapshot of
 * `list()` and events, and the log record of a line about it. Plain
 * functions of what the instance knows, so it builds them only when asked.
 *
 * @module
 */

import type { Level } from "../protocol/worker.ts";
import type { InstanceInfo, InstanceState, StopReason } from "./events.ts";
import type { InstanceSpec } from "./plan.ts";
import type { LogRecord } from "./types.ts";

/** What an instance knows of its runs, for {@linkcode instanceInfo}. */
export interface RunFacts {
  /** Its state. */
  state: InstanceState;
  /** Pid of the current run, while it runs. */
  pid: number | undefined;
  /** When the current (or last) run started. */
  startedAt: number | undefined;
  /** When it last printed anything, or started. */
  lastSeen: number | undefined;
  /** Restarts after failed runs. */
  restarts: number;
  /** Runs started. */
  runs: number;
  /** Whether the current run is ready. */
  ready: boolean;
  /** When the current run became ready (only used while `ready`). */
  readyAt: number | undefined;
  /** Why its last run ended. */
  lastReason: StopReason | undefined;
}

/** The snapshot of an instance of `spec`, for `ps` and events. */
export function instanceInfo(spec: InstanceSpec, facts: RunFacts): InstanceInfo {
  const { pid, startedAt, lastSeen, ready, readyAt, lastReason } = facts;
  return {
    id: spec.id,
    groupId: spec.groupId,
    groupCount: spec.groupCount,
    group: spec.group,
    host: spec.host,
    label: spec.label,
    state: facts.state,
    ...(pid !== undefined ? { pid } : {}),
    ...(startedAt !== undefined ? { startedAt } : {}),
    ...(lastSeen !== undefined ? { lastSeen } : {}),
    restarts: facts.restarts,
    runs: facts.runs,
    ready,
    ...(readyAt !== undefined && ready ? { readyAt } : {}),
    ...(lastReason !== undefined ? { lastReason } : {}),
  };
}

/** A log record about the instance of `spec`, stamped now. */
export function instanceRecord(
  spec: InstanceSpec,
  level: Level,
  message: string,
  context?: Record<string, unknown>,
): LogRecord {
  const record: LogRecord = {
    level,
    message,
    time: Date.now(),
    group: spec.group,
    host: spec.host,
    instance: spec.label,
    id: spec.id,
    groupId: spec.groupId,
  };
  if (context !== undefined) record.context = context;
  return record;
}
