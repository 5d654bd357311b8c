/**
 * The line protocol between a master and one worker instance, version 1.
 *
 * Master → worker: the worker's stdin. The first line is a JSON
 * {@linkcode WorkerContext}; stdin then stays open, and its end means the
 * master is gone (the worker should stop). Further lines are
 * {@linkcode MasterMessage}s (`{"v":1,"t":"groupCount","groupCount":4}` after
 * a scale). Stop requests are `SIGTERM`.
 *
 * Worker → master: the worker's stdout, one message a line.
 * - A plain line is an `info` log record.
 * - A line starting with {@linkcode PREFIX} is a protocol message:
 *   - `@distarch/1 ping`: a sign of life, nothing is logged.
 *   - `@distarch/1 ready`: the worker is ready to do its work (its group's
 *     `waitReady` waits for this line; groups that `dependsOn` it start only
 *     once every instance said it). Saying it more than once is harmless.
 *   - `@distarch/1 ended`: the worker ends cleanly (it will not be restarted).
 *   - `@distarch/1 <level> <message>`: a log record at that level.
 *   - `@distarch/1 {"t":"log","level":"warning","msg":"…","ctx":{…}}`: a log
 *     record with context; `{"t":"ping"}`, `{"t":"ready"}` and `{"t":"ended"}` also work.
 *
 * stderr lines are logged at {@linkcode STDERR_LEVEL}.
 *
 * @module
 */

/** Version of this protocol; also part of {@linkcode PREFIX}. */
export const PROTOCOL_VERSION = 1;

/** Every protocol message line starts with this. */
export const PREFIX = "@distarch/1 ";

/** Name of the environment variable that tells a worker it runs under a master. */
export const ENV_PROTOCOL = "DISTARCH_PROTOCOL";

/** Log levels, least severe first (the PSR-3 ones the PHP original uses, minus alert/emergency). */
export const LEVELS = ["debug", "info", "notice", "warning", "error", "critical"] as const;

/** A log level. */
export type Level = typeof LEVELS[number];

/** Level at which a worker's stderr lines are logged. */
export const STDERR_LEVEL: Level = "warning";

/** Group settings a worker sees, as sent in its {@linkcode WorkerContext}. */
export interface WorkerGroupConfig {
  /** The group's name. */
  name: string;
  /** The group's command, as configured. */
  command: string;
  /** The group's params (any JSON value). */
  params: Record<string, unknown>;
}

/** The first stdin line of every worker: who it is. */
export interface WorkerContext {
  /** Protocol version ({@linkcode PROTOCOL_VERSION}). */
  v: number;
  /** Unique id across all groups, 1…N in launch order. */
  id: number;
  /** Rank within the group, 1…groupCount. */
  groupId: number;
  /** Number of instances of the group, all hosts included. */
  groupCount: number;
  /** Host name the instance runs on, as configured (`localhost` for local). */
  host: string;
  /** The group's config. */
  group: WorkerGroupConfig;
}

/** A decoded worker message. */
export type WorkerMessage =
  | { t: "ping" }
  | { t: "ready" }
  | { t: "ended" }
  | { t: "log"; level: Level; msg: string; ctx?: Record<string, unknown> };

const levelSet: ReadonlySet<string> = new Set(LEVELS);

/** True when `value` names a {@linkcode Level}. */
export function isLevel(value: unknown): value is Level {
  return typeof value === "string" && levelSet.has(value);
}

/**
 * Decodes the part of a protocol line after {@linkcode PREFIX}.
 * Returns `undefined` when it is not a valid message (the caller then logs the
 * whole line as plain text, so nothing is lost).
 *
 * @example
 * ```ts
 * import { decodeMessage } from "./worker.ts";
 * decodeMessage("warning disk low"); // { t: "log", level: "warning", msg: "disk low" }
 * ```
 */
export function decodeMessage(body: string): WorkerMessage | undefined {
  if (body === "ping") return { t: "ping" };
  if (body === "ready") return { t: "ready" };
  if (body === "ended") return { t: "ended" };
  if (body.startsWith("{")) {
    let v: unknown;
    try {
      v = JSON.parse(body);
    } catch {
      return undefined;
    }
    if (typeof v !== "object" || v === null) return undefined;
    const o = v as Record<string, unknown>;
    if (o.t === "ping" || o.t === "ready" || o.t === "ended") return { t: o.t };
    if (o.t === "log" && isLevel(o.level) && typeof o.msg === "string") {
      const ctx = o.ctx;
      if (ctx !== undefined && (typeof ctx !== "object" || ctx === null || Array.isArray(ctx))) {
        return undefined;
      }
      return ctx === undefined
        ? { t: "log", level: o.level, msg: o.msg }
        : { t: "log", level: o.level, msg: o.msg, ctx: ctx as Record<string, unknown> };
    }
    return undefined;
  }
  const space = body.indexOf(" ");
  const word = space < 0 ? body : body.slice(0, space);
  if (!isLevel(word)) return undefined;
  return { t: "log", level: word, msg: space < 0 ? "" : body.slice(space + 1) };
}

/**
 * Encodes a message as one protocol line, newline included.
 *
 * @example
 * ```ts
 * import { encodeMessage } from "./worker.ts";
 * encodeMessage({ t: "ping" }); // "@distarch/1 ping\n"
 * ```
 */
export function encodeMessage(message: WorkerMessage): string {
  if (message.t !== "log") return PREFIX + message.t + "\n";
  if (message.ctx === undefined && !/[\r\n]/.test(message.msg)) {
    return PREFIX + message.level + " " + message.msg + "\n";
  }
  return PREFIX + JSON.stringify(message) + "\n";
}

/**
 * A further stdin line from the master, after the {@linkcode WorkerContext}:
 * one JSON object a line. `groupCount`: the group was scaled, it now has
 * that many instances (all hosts included).
 */
export type MasterMessage = { v: 1; t: "groupCount"; groupCount: number };

/**
 * Encodes a {@linkcode MasterMessage} as one stdin line, newline included.
 *
 * @example
 * ```ts
 * import { encodeMasterMessage } from "./worker.ts";
 * encodeMasterMessage({ v: 1, t: "groupCount", groupCount: 4 });
 * // '{"v":1,"t":"groupCount","groupCount":4}\n'
 * ```
 */
export function encodeMasterMessage(message: MasterMessage): string {
  return JSON.stringify(message) + "\n";
}

/**
 * Decodes a stdin line after the context; `undefined` when it is not a
 * {@linkcode MasterMessage} this version knows (a worker ignores it).
 */
export function decodeMasterMessage(line: string): MasterMessage | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (o.v !== PROTOCOL_VERSION || o.t !== "groupCount") return undefined;
  const n = o.groupCount;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1) return undefined;
  return { v: 1, t: "groupCount", groupCount: n };
}
