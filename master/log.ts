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

/** Options of {@linkcode writerLogger}. */
export interface WriterLoggerOptions {
  /** Line format. @default {"text"} */
  format?: "text" | "json";
  /** Bytes (roughly, in UTF-16 units) buffered before a write. @default {65536} */
  bufferSize?: number;
}

/**
 * A logger that writes one line a record to `writer`, buffered: whatever is
 * buffered is written when the buffer is full, on the next macrotask, or on
 * {@linkcode FlushingLogger.flush}.
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
  const { format = "text", bufferSize = 65536 } = options;
  const fmt = format === "json" ? formatJson : formatText;
  const encoder = new TextEncoder();
  let buf = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  function flush() {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (buf === "") return;
    const bytes = encoder.encode(buf);
    buf = "";
    let off = 0;
    try {
      while (off < bytes.length) off += writer.writeSync(bytes.subarray(off));
    } catch {
      // the output is gone (closed pipe): drop, never crash the master
    }
  }
  return {
    log(record: LogRecord) {
      buf += fmt(record) + "\n";
      if (buf.length >= bufferSize) flush();
      else if (timer === undefined) timer = setTimeout(flush, 0);
    },
    flush,
  };
}

/** The launcher's default: text lines on stdout. */
export function defaultLogger(): FlushingLogger {
  return writerLogger(Deno.stdout);
}
