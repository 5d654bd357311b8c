/**
 * Log record formatting and the two stock loggers: text lines (the default)
 * and JSON lines. Both buffer and write in large chunks, in the background
 * (see _sink.ts), so that relaying millions of lines stays cheap, the order
 * is kept and a stalled output never blocks the master.
 *
 * @module
 */

import { escapeBytes, escapeText } from "./_escape.ts";
import { ByteSink, type ByteWriter, type SinkStats } from "./_sink.ts";
import type { Logger, LogRecord } from "./types.ts";

export { escapeText } from "./_escape.ts";
export type { SinkStats } from "./_sink.ts";

/**
 * Formats a record as text, without the final newline:
 * `info - [First Group] [localhost] [script1.ts/1/1] My ID : 1`. Every line
 * starts with the level and tags: a message with newlines becomes several
 * lines, each tagged; control characters are escaped ({@linkcode escapeText}).
 * A part of a split line is marked `[part N]`, its last part `[part N, last]`.
 *
 * @example
 * ```ts
 * import { formatText } from "./log.ts";
 * formatText({ level: "info", message: "hi", time: 0, group: "g", host: "localhost", instance: "w.ts/1/1" });
 * // "info - [g] [localhost] [w.ts/1/1] hi"
 * ```
 */
export function formatText(record: LogRecord): string {
  let head = record.level + " - ";
  if (record.group !== undefined) head += "[" + escapeText(record.group) + "] ";
  if (record.host !== undefined) head += "[" + escapeText(record.host) + "] ";
  if (record.instance !== undefined) head += "[" + escapeText(record.instance) + "] ";
  if (record.part !== undefined) {
    head += record.lastPart ? `[part ${record.part}, last] ` : `[part ${record.part}] `;
  }
  const context = record.context === undefined ? "" : " " + escapeText(safeJson(record.context));
  const message = record.message;
  if (!message.includes("\n")) return head + escapeText(message) + context;
  const lines = message.split("\n");
  if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
  return lines.map((l) => head + escapeText(l.endsWith("\r") ? l.slice(0, -1) : l)).join("\n") +
    context;
}

/** Formats a record as one JSON object line, without the newline. */
export function formatJson(record: LogRecord): string {
  return safeJson({
    level: record.level,
    time: new Date(record.time).toISOString(),
    ...(record.group !== undefined ? { group: record.group } : {}),
    ...(record.host !== undefined ? { host: record.host } : {}),
    ...(record.id !== undefined ? { id: record.id, groupId: record.groupId } : {}),
    ...(record.instance !== undefined ? { instance: record.instance } : {}),
    message: record.message,
    ...(record.part !== undefined ? { part: record.part, lastPart: record.lastPart ?? false } : {}),
    ...(record.context !== undefined ? { context: record.context } : {}),
  });
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? "null";
  } catch {
    return '"[unserialisable]"';
  }
}

/** Something lines can be written to synchronously (a test double, a terminal helper). */
export interface SyncWriter {
  /** Writes some bytes; returns how many were written. */
  writeSync(p: Uint8Array): number;
}

/**
 * Where a {@linkcode writerLogger} writes: `Deno.stdout`, a `Deno.FsFile`, or
 * anything with `write` (used when present, in the background: a stalled
 * pipe never blocks the event loop) or `writeSync`. A `Deno.FsFile` that is
 * a regular file is written with `writeSync`: a file does not stall like a
 * pipe whose reader stopped, and synchronous writes are faster.
 */
export type LogWriter = ByteWriter;

/** A {@linkcode Logger} that also flushes. */
export interface FlushingLogger extends Logger {
  /** Writes out what is buffered (resolving once it is written, when it returns a promise). */
  flush(): void | Promise<void>;
}

/** What {@linkcode writerLogger} returns: it flushes, applies backpressure and counts losses. */
export interface WriterLogger extends FlushingLogger {
  /** Writes out what is buffered; resolves once it is written (or lost). */
  flush(): Promise<void>;
  /** Undefined while it has room; else a promise that settles once it caught up. */
  backpressure(): Promise<void> | undefined;
  /** Lines lost to write errors and records dropped while the output was blocked. */
  stats(): SinkStats;
}

/**
 * A logger with a fast path for plain relayed lines: the launcher asks once
 * for the bytes that start a line with given tags ({@linkcode RawLogger.prefix}),
 * then hands over each line's bytes as they came ({@linkcode RawLogger.raw}),
 * with no string built per line.
 */
export interface RawLogger extends FlushingLogger {
  /** The bytes that start the line of a record with these tags (its message follows). */
  prefix(record: Omit<LogRecord, "message" | "time">): Uint8Array;
  /**
   * Writes `prefix`, `bytes[start..end)` (control bytes escaped as by
   * {@linkcode escapeText}) and a newline, in order with {@linkcode Logger.log}.
   */
  raw(prefix: Uint8Array, bytes: Uint8Array, start: number, end: number): void;
}

/** True when `logger` has the {@linkcode RawLogger} fast path. */
export function isRawLogger(logger: Logger): logger is RawLogger {
  const l = logger as Partial<RawLogger>;
  return typeof l.raw === "function" && typeof l.prefix === "function";
}

/** Options of {@linkcode writerLogger}. */
export interface WriterLoggerOptions {
  /** Line format. @default {"text"} */
  format?: "text" | "json";
  /** Bytes buffered before a write (one write per buffer). @default {1048576} */
  bufferSize?: number;
  /**
   * Bytes waiting to be written above which relayed output waits
   * (backpressure: local instances are not read until the backlog halved).
   * @default {4194304}
   */
  highWater?: number;
  /**
   * Bytes waiting above which records are dropped and counted; a record in
   * the log says how many once there is room again. @default {16777216}
   */
  maxBuffered?: number;
  /** The output's name in messages. @default {"the log output"} */
  name?: string;
  /**
   * Told at once when a write fails (and when the output is writable again).
   * @default {a `distarch: …` line on stderr}
   */
  onError?: (message: string) => void;
}

const encoder = new TextEncoder();

function toStderr(message: string): void {
  try {
    Deno.stderr.writeSync(encoder.encode(`distarch: ${message}\n`));
  } catch {
    // nowhere left to say it
  }
}

/**
 * A logger that writes one line a record to `writer`, buffered: what is
 * buffered is written when the buffer is full, on the next macrotask, or on
 * {@linkcode FlushingLogger.flush}, in the background when the writer has
 * `write`, so a stalled output never blocks supervision. The backlog is
 * bounded (see {@linkcode WriterLoggerOptions}); write errors are reported and
 * counted ({@linkcode FlushingLogger.stats}). The text format has the
 * {@linkcode RawLogger} fast path.
 *
 * @example
 * ```ts
 * import { writerLogger } from "./log.ts";
 * const logger = writerLogger(Deno.stdout, { format: "json" });
 * logger.log({ level: "notice", message: "hello", time: Date.now() });
 * await logger.flush();
 * ```
 */
export function writerLogger(writer: LogWriter, options: WriterLoggerOptions = {}): WriterLogger {
  const {
    format = "text",
    bufferSize = 1 << 20,
    highWater = 4 << 20,
    maxBuffered = 16 << 20,
    name = "the log output",
    onError = toStderr,
  } = options;
  const fmt = format === "json" ? formatJson : formatText;
  const sink = new ByteSink(isRegularFile(writer) ? syncOnly(writer) : writer, {
    bufferSize,
    highWater,
    maxBuffered,
    name,
    onError,
    notice: (message) =>
      encoder.encode(fmt({ level: "warning", message, time: Date.now() }) + "\n"),
  });
  const logger: WriterLogger = {
    log(record: LogRecord) {
      const text = fmt(record) + "\n";
      if (!sink.take(text.length * 3)) return;
      sink.pos += encoder.encodeInto(text, sink.buf.subarray(sink.pos)).written;
    },
    flush: () => sink.flush(),
    backpressure: () => sink.ready(),
    stats: () => sink.stats(),
  };
  if (format === "json") return logger;
  const raw: RawLogger & WriterLogger = {
    ...logger,
    prefix(record) {
      return encoder.encode(formatText({ ...record, message: "", time: 0 }));
    },
    raw(prefix, bytes, start, end) {
      const need = prefix.length + end - start + 1;
      let buf = sink.buf;
      let pos = sink.pos;
      if (!sink.fast || pos + need > buf.length) {
        if (!sink.take(need)) return;
        buf = sink.buf;
        pos = sink.pos;
      }
      buf.set(prefix, pos);
      pos += prefix.length;
      let i = start;
      if (end - start < 64) {
        for (; i < end; i++) {
          const b = bytes[i]!;
          if (b < 32 || b === 127 || b === 0xc2) break;
          buf[pos++] = b;
        }
      } else {
        for (; i < end; i++) {
          const b = bytes[i]!;
          if (b < 32 || b === 127 || b === 0xc2) break;
        }
        buf.set(bytes.subarray(start, i), pos);
        pos += i - start;
      }
      if (i < end) {
        sink.pos = pos;
        sink.reserve((end - i) * 6 + 1);
        buf = sink.buf;
        pos = escapeBytes(bytes, i, end, buf, sink.pos);
      }
      buf[pos++] = 10;
      sink.pos = pos;
    },
  };
  return raw;
}

function isRegularFile(w: LogWriter): w is LogWriter & Deno.FsFile {
  try {
    return w instanceof Deno.FsFile && w.statSync().isFile;
  } catch {
    return false;
  }
}

function syncOnly(file: Deno.FsFile): ByteWriter {
  return { writeSync: (p) => file.writeSync(p) };
}

/** The launcher's default: text lines on stdout. */
export function defaultLogger(): WriterLogger {
  return writerLogger(Deno.stdout, { name: "stdout" });
}
