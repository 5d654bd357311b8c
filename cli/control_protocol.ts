/**
 * The control protocol between `distarch` commands and a running master:
 * one JSON request line per connection, answered by one or more JSON lines.
 *
 * @module
 */

import type { InstanceInfo } from "../master/events.ts";
import type { LogRecord } from "../master/types.ts";
import type { ApplyReport } from "../master/reload.ts";
import type { FileIssue } from "./config_file.ts";
import { MAX_INSTANCES } from "../master/config.ts";

/** A request to the master. */
export type ControlRequest =
  | { cmd: "ping" }
  | { cmd: "ps" }
  | { cmd: "suspend"; group?: string; force?: boolean }
  | { cmd: "resume"; group?: string }
  | { cmd: "scale"; group: string; instances: number }
  | { cmd: "restart"; group: string; aliveTimeout?: number }
  | { cmd: "stop" }
  /** End the master now, leaving every instance running for the next master to adopt. */
  | { cmd: "leave" }
  | { cmd: "logs"; group?: string; lines?: number; follow?: boolean }
  | {
    cmd: "reload";
    /** The config file's absolute path: names it in messages, anchors its relative paths. */
    file?: string;
    /** The file's content; without it, the master reads the file it was started with. */
    text?: string;
    /** Replace changed instances all at once instead of one by one. */
    allAtOnce?: boolean;
  };

/** How a master's run ended, as `stop` reports it. */
export interface StopReport {
  /** True when every instance ended cleanly or was stopped on request. */
  ok: boolean;
  /** Why the run ended. */
  reason: string;
  /** Instances per final state. */
  states: Record<string, number>;
}

/** What a master that left its instances running (`leave`) reports. */
export interface LeftReport {
  /** Instances that had a process when the master left (starting, running, restarting, stopping). */
  instances: number;
  /** Seconds each host's agent keeps them for a new master (the `adoptWindow` option). */
  adoptWindow: number;
}

/** A line of the master's answer. `ok: false` lines carry `error`. */
export type ControlResponse =
  | { ok: false; error: string; issues?: FileIssue[] }
  | { ok: true; report: ApplyReport }
  | { ok: true; message?: string; pid?: number; startedAt?: number; groups?: string[] }
  | { ok: true; pid: number; now: number; startedAt: number; instances: InstanceInfo[] }
  | { ok: true; stopped: StopReport }
  | { ok: true; left: LeftReport }
  | { record: LogRecord }
  | { ok: true; end: true };

/**
 * Checks that `value` (a parsed request line) is a well-formed request.
 * Returns the request or an error text.
 *
 * @example
 * ```ts
 * import { parseRequest } from "./control_protocol.ts";
 * parseRequest({ cmd: "scale", group: "g", instances: -1 });
 * // "scale: instances must be an integer from 0 to 10000 (got -1)"
 * ```
 */
export function parseRequest(value: unknown): ControlRequest | string {
  if (typeof value !== "object" || value === null) return "request must be a JSON object";
  const r = value as Record<string, unknown>;
  const group = r.group;
  if (group !== undefined && typeof group !== "string") return `${r.cmd}: group must be a string`;
  switch (r.cmd) {
    case "ping":
    case "ps":
    case "stop":
    case "leave":
      return { cmd: r.cmd };
    case "suspend":
      return { cmd: "suspend", ...(group ? { group } : {}), force: r.force === true };
    case "resume":
      return { cmd: "resume", ...(group ? { group } : {}) };
    case "scale":
      if (typeof group !== "string") return "scale: group is required";
      if (
        !Number.isInteger(r.instances) || (r.instances as number) < 0 ||
        (r.instances as number) > MAX_INSTANCES
      ) {
        return `scale: instances must be an integer from 0 to ${MAX_INSTANCES} (got ${
          JSON.stringify(r.instances)
        })`;
      }
      return { cmd: "scale", group, instances: r.instances as number };
    case "restart": {
      if (typeof group !== "string") return "restart: group is required";
      const t = r.aliveTimeout;
      if (t !== undefined && (typeof t !== "number" || !(t > 0))) {
        return "restart: aliveTimeout must be a number > 0";
      }
      return { cmd: "restart", group, ...(t !== undefined ? { aliveTimeout: t } : {}) };
    }
    case "reload": {
      const { file, text } = r;
      if (file !== undefined && (typeof file !== "string" || !file.startsWith("/"))) {
        return "reload: file must be an absolute path";
      }
      if (text !== undefined && typeof text !== "string") return "reload: text must be a string";
      if ((file === undefined) !== (text === undefined)) {
        return "reload: give both file and text, or neither (the master's own file)";
      }
      return {
        cmd: "reload",
        ...(file !== undefined ? { file, text: text as string } : {}),
        allAtOnce: r.allAtOnce === true,
      };
    }
    case "logs": {
      const lines = r.lines;
      if (lines !== undefined && (!Number.isInteger(lines) || (lines as number) < 0)) {
        return "logs: lines must be an integer ≥ 0";
      }
      return {
        cmd: "logs",
        ...(group ? { group } : {}),
        ...(lines !== undefined ? { lines: lines as number } : {}),
        follow: r.follow === true,
      };
    }
    default:
      return `unknown command ${JSON.stringify(r.cmd)}`;
  }
}
