/**
 * Log record formatting and the two stock loggers: text lines (the default)
 * and JSON lines. Both buffer and write in large synchronous chunks, so that
 * relaying millions of lines stays cheap and the order is kept.
 *
 * @module
 */

import type { Logger, LogRecord } from "./types.ts";

/**
 * Formats a record as one text line, without the newline:
 * `info - [First Group] [localhost] [script1.ts/1/1] My ID : 1`.
 *
 * @example
 * ```ts
 * import { formatText } from "./log.ts";
 * formatText({ level: "info", message: "hi", time: 0, group: "g", host: "localhost", instance: "w.ts/1/1" });
 * // "info - [g] [localhost] [w.ts/1/1] hi"
 * ```
 */
export function formatText(record: LogRecord): string {
  let line = record.level + " - ";
  if (record.group !== undefined) line += "[" + record.group + "] ";
  if (record.host !== undefined) line += "[" + record.host + "] ";
  if (record.instance !== undefined) line += "[" + record.instance + "] ";
  line += record.message;
  if (record.context !== undefined) line += " " + safeJson(record.context);
  return line;
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

/** Something lines can be written to synchronously, like `Deno.stdout` or a `Deno.FsFile`. */
export interface SyncWriter {
  /** Writes some bytes; returns how many were written. */
  writeSync(p: Uint8Array): number;
}

/** A {@linkcode Logger} that also flushes. */
export interface FlushingLogger extends Logger {
  /** Writes out what is buffered. */
  flush(): void;
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
  /** Writes `prefix`, `bytes[start..end)` and a newline, in order with {@linkcode Logger.log}. */
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
  /** Bytes buffered before a write. @default {262144} */
  bufferSize?: number;
}

/**
 * A logger that writes one line a record to `writer`, buffered: what is
 * buffered is written when the buffer is full, on the next macrotask, or on
 * {@linkcode FlushingLogger.flush}. The text format has the
 * {@linkcode RawLogger} fast path.
 *
 * @example
 * ```ts
 * import { writerLogger } from "./log.ts";
 * const logger = writerLogger(Deno.stdout, { format: "json" });
 * logger.log({ level: "notice", message: "hello", time: Date.now() });
 * logger.flush();
 * ```
 */
export function writerLogger(
  writer: SyncWriter,
  options: WriterLoggerOptions = {},
): FlushingLogger {
  const { format = "text", bufferSize = 262144 } = options;
  const fmt = format === "json" ? formatJson : formatText;
  const encoder = new TextEncoder();
  let buf = new Uint8Array(bufferSize);
  let pos = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  function flush() {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    let off = 0;
    try {
      while (off < pos) off += writer.writeSync(buf.subarray(off, pos));
    } catch {
      // the output is gone (closed pipe): drop, never crash the master
    }
    pos = 0;
  }
  function room(n: number) {
    if (pos + n > buf.length) {
      flush();
      if (n > buf.length) buf = new Uint8Array(n);
    }
    if (timer === undefined) timer = setTimeout(flush, 0);
  }
  const logger: FlushingLogger = {
    log(record: LogRecord) {
      const text = fmt(record) + "\n";
      room(text.length * 3);
      pos += encoder.encodeInto(text, buf.subarray(pos)).written;
    },
    flush,
  };
  if (format === "json") return logger;
  const raw: RawLogger = {
    ...logger,
    prefix(record) {
      return encoder.encode(formatText({ ...record, message: "", time: 0 }));
    },
    raw(prefix, bytes, start, end) {
      const n = end - start;
      room(prefix.length + n + 1);
      buf.set(prefix, pos);
      pos += prefix.length;
      if (n < 64) {
        for (let i = start; i < end; i++) buf[pos++] = bytes[i]!;
      } else {
        buf.set(bytes.subarray(start, end), pos);
        pos += n;
      }
      buf[pos++] = 10;
    },
  };
  return raw;
}

/** The launcher's default: text lines on stdout. */
export function defaultLogger(): FlushingLogger {
  return writerLogger(Deno.stdout);
}
