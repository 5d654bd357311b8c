/**
 * `GET /api/events`: a Server-Sent Events stream of instance snapshots and
 * log records. It is pulled: the server reads the next batch only when the
 * client has taken the last one, so a stalled client holds one batch and its
 * cursor, and is told how many entries it missed when it reads again.
 *
 * @module
 */

import type { LogRecord } from "../types.ts";
import type { LogFeed } from "./log_feed.ts";

/** What a stream reads from. */
export interface StreamSource {
  /** The log feed. */
  feed: LogFeed;
  /** The current instances as JSON, and a version that changes when they change. */
  instances(): { version: number; json: string };
}

/** Options of {@linkcode eventStream}. */
export interface EventStreamOptions {
  /** Entries sent in one batch at most. @default {200} */
  batch?: number;
  /** Milliseconds of quiet after which a comment line is sent (to notice gone clients). @default {15000} */
  keepalive?: number;
  /** Ends the stream (the server is closing); wake the feed after aborting. */
  signal?: AbortSignal;
}

const encoder = new TextEncoder();

/** A record as JSON; a record of a library user's that cannot be serialised keeps its text only. */
function recordJson(record: LogRecord): string {
  try {
    return JSON.stringify(record);
  } catch {
    const { context: _, ...rest } = record;
    return JSON.stringify({ ...rest, context: { error: "context not serialisable" } });
  }
}

/**
 * An SSE body: `event: instances` (the `InstanceInfo` array, on connect and
 * on change), `event: log` (one record), `event: missed` (`{"missed":n}`
 * entries lost while the client lagged, or `{"skipped":n}` records over the
 * feed's rate). Ends with `onClose` when the client goes away.
 */
export function eventStream(
  source: StreamSource,
  onClose: () => void,
  options: EventStreamOptions = {},
): ReadableStream<Uint8Array> {
  const { batch = 200, keepalive = 15_000, signal } = options;
  const { feed } = source;
  const cursor = feed.open();
  let sent = -1;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    feed.close();
    onClose();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (let round = 0; !closed; round++) {
        if (signal?.aborted) {
          close();
          controller.close();
          return;
        }
        let out = sent === -1 ? "retry: 2000\n\n" : "";
        const snap = source.instances();
        if (snap.version !== sent) {
          out += `event: instances\ndata: ${snap.json}\n\n`;
          sent = snap.version;
        }
        const r = feed.read(cursor, batch);
        if (r.missed > 0) out += `event: missed\ndata: {"missed":${r.missed}}\n\n`;
        for (const e of r.entries) {
          out += "record" in e
            ? `event: log\ndata: ${e.json ??= recordJson(e.record)}\n\n`
            : `event: missed\ndata: {"skipped":${e.skipped}}\n\n`;
        }
        if (out === "" && round > 0) out = ": keepalive\n\n";
        if (out !== "") {
          try {
            controller.enqueue(encoder.encode(out));
          } catch {
            close();
          }
          return;
        }
        await feed.wait(keepalive);
      }
    },
    cancel: close,
  }, { highWaterMark: 0 });
}
