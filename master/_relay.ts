/**
 * Relays one run of an instance's output as log records: splits both streams
 * into lines (a long line into parts), decodes protocol lines (levels, pings,
 * `ready`, `ended`), tags every record with group, host and instance, and keeps the
 * last bytes for the message of a crash. Plain lines go to a
 * {@linkcode RawLogger} as bytes, with no string built per line. When the
 * logger is behind ({@linkcode Logger.backpressure}), the output handler returns a
 * promise, so the transport stops reading until the logger caught up.
 *
 * @module
 */

import { decodeMessage, type Level, PREFIX, STDERR_LEVEL } from "../protocol/worker.ts";
import { LineSplitter, MAX_LINE } from "./_lines.ts";
import { isRawLogger } from "./log.ts";
import type { InstanceSpec } from "./plan.ts";
import type { Logger, LogRecord } from "./types.ts";

const TAIL_LINES = 10;
const TAIL_BYTES = 4096;
const AT = 64; // "@"
const prefixBytes = new TextEncoder().encode(PREFIX);
const decoder = new TextDecoder();
const NO_TAIL = new Uint8Array(0); // never written to: #keepTail() replaces it

function isProtocolLine(buf: Uint8Array, start: number, end: number): boolean {
  if (end - start < prefixBytes.length) return false;
  for (let i = 0; i < prefixBytes.length; i++) if (buf[start + i] !== prefixBytes[i]) return false;
  return true;
}

/** The output of one run of one instance. */
export class OutputRelay {
  /** When it last printed anything (ms since epoch). */
  lastSeen: number | undefined;
  /** True once the worker said it ends cleanly (`@distarch/1 ended`). */
  ended = false;
  /** When the worker first said it is ready (`@distarch/1 ready`), ms since epoch. */
  readyAt: number | undefined;
  /** Called once, when the worker first says it is ready. */
  onReady: (() => void) | undefined;
  readonly #out: LineSplitter;
  readonly #err: LineSplitter;
  #now = 0;
  #tail: Uint8Array = NO_TAIL;
  #paused = 0;
  readonly #ready: (() => Promise<void> | undefined) | undefined;

  /**
   * @param spec The instance, for the tags.
   * @param logger Where records go.
   * @param onLine Called with every line (the `instanceSeen` event); slows the relay down.
   * @param maxLine Longest line relayed as one record; longer ones are split into parts.
   */
  constructor(
    spec: InstanceSpec,
    logger: Logger,
    onLine?: (line: string) => void,
    maxLine: number = MAX_LINE,
  ) {
    this.#ready = logger.backpressure?.bind(logger);
    const tags = {
      group: spec.group,
      host: spec.host,
      instance: spec.label,
      id: spec.id,
      groupId: spec.groupId,
    };
    const fast = onLine === undefined && isRawLogger(logger) ? logger : undefined;
    const slow = (level: Level, bytes: Uint8Array, part: number, last: boolean) => {
      const line = decoder.decode(bytes);
      let message = line;
      let context: Record<string, unknown> | undefined;
      if (level === "info" && part === 0 && line.startsWith(PREFIX)) {
        const msg = decodeMessage(line.slice(PREFIX.length));
        if (msg !== undefined) {
          if (msg.t === "ping") return;
          if (msg.t === "ready") {
            if (this.readyAt !== undefined) return;
            this.readyAt = this.#now;
            this.onReady?.();
            return;
          }
          if (msg.t === "ended") {
            this.ended = true;
            return;
          }
          level = msg.level;
          message = msg.msg;
          context = msg.ctx;
        }
      }
      onLine?.(line);
      const record: LogRecord = { level, message, time: this.#now, ...tags };
      if (context !== undefined) record.context = context;
      if (part > 0) {
        record.part = part;
        record.lastPart = last;
      }
      logger.log(record);
    };
    if (fast === undefined) {
      this.#out = new LineSplitter(
        (b, s, e, part, last) => slow("info", b.subarray(s, e), part, last),
        maxLine,
      );
      this.#err = new LineSplitter(
        (b, s, e, part, last) => slow(STDERR_LEVEL, b.subarray(s, e), part, last),
        maxLine,
      );
      return;
    }
    const outPrefix = fast.prefix({ level: "info", ...tags });
    const errPrefix = fast.prefix({ level: STDERR_LEVEL, ...tags });
    const partOf = (level: Level, buf: Uint8Array, s: number, e: number, p: number, l: boolean) =>
      fast.raw(fast.prefix({ level, ...tags, part: p, lastPart: l }), buf, s, e);
    this.#out = new LineSplitter((buf, start, end, part, last) => {
      if (part > 0) partOf("info", buf, start, end, part, last);
      else if (buf[start] === AT && isProtocolLine(buf, start, end)) {
        slow("info", buf.subarray(start, end), 0, false);
      } else fast.raw(outPrefix, buf, start, end);
    }, maxLine);
    this.#err = new LineSplitter((buf, start, end, part, last) => {
      if (part > 0) partOf(STDERR_LEVEL, buf, start, end, part, last);
      else fast.raw(errPrefix, buf, start, end);
    }, maxLine);
  }

  /** True while reading is paused because the logger is behind (not a sign of a hang). */
  get paused(): boolean {
    return this.#paused > 0;
  }

  /**
   * The transport's output handler; returns a promise when the logger is
   * behind, which settles once it caught up (backpressure).
   */
  readonly onOutput = (stream: "stdout" | "stderr", chunk: Uint8Array): Promise<void> | void => {
    this.#now = Date.now();
    this.lastSeen = this.#now;
    this.#keepTail(chunk);
    (stream === "stdout" ? this.#out : this.#err).push(chunk);
    const wait = this.#ready?.();
    if (wait === undefined) return;
    this.#paused++;
    return wait.then(() => {
      this.#paused--;
      this.lastSeen = Date.now(); // it could not be heard while paused
    });
  };

  /** Hands over last lines that had no newline. Call once the run has ended. */
  flush(): void {
    this.#now = Date.now();
    this.#out.flush();
    this.#err.flush();
  }

  /**
   * The last lines printed (both streams), for a crash message: protocol
   * messages decoded (`critical: Error: boom…`), pings and `ended` left out.
   */
  tailLines(): string[] {
    const lines = decoder.decode(this.#tail).split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    if (this.#tail.length >= TAIL_BYTES) lines.shift(); // the first one is likely partial
    const out: string[] = [];
    for (let line of lines) {
      if (line.endsWith("\r")) line = line.slice(0, -1);
      const msg = line.startsWith(PREFIX) ? decodeMessage(line.slice(PREFIX.length)) : undefined;
      if (msg === undefined) out.push(line);
      else if (msg.t === "log") out.push(`${msg.level}: ${msg.msg}`);
    }
    return out.slice(-TAIL_LINES);
  }

  #keepTail(chunk: Uint8Array): void {
    if (chunk.length >= TAIL_BYTES) {
      this.#tail = chunk.slice(chunk.length - TAIL_BYTES);
      return;
    }
    const next = new Uint8Array(Math.min(TAIL_BYTES, this.#tail.length + chunk.length));
    const fromOld = next.length - chunk.length;
    next.set(this.#tail.subarray(this.#tail.length - fromOld));
    next.set(chunk, fromOld);
    this.#tail = next;
  }
}
