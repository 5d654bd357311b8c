/**
 * A bounded ring of recent log records, with followers that get each new
 * record as it arrives: what `distarch logs [-f]` reads from a running master.
 *
 * @module
 */

import type { Logger, LogRecord } from "../master/types.ts";

/** Options of {@linkcode LogRing}. */
export interface LogRingOptions {
  /** Records kept. @default {1000} */
  capacity?: number;
}

/**
 * A {@linkcode Logger} that keeps the last `capacity` records and streams new
 * ones to followers.
 *
 * @example
 * ```ts
 * import { LogRing } from "./log_ring.ts";
 * const ring = new LogRing({ capacity: 2 });
 * for (const m of ["a", "b", "c"]) ring.log({ level: "info", message: m, time: 0 });
 * console.log(ring.recent().map((r) => r.message)); // ["b", "c"]
 * ```
 */
export class LogRing implements Logger {
  readonly #capacity: number;
  readonly #buf: (LogRecord | undefined)[];
  #next = 0;
  #size = 0;
  readonly #followers = new Set<(r: LogRecord) => void>();

  /** Creates an empty ring. */
  constructor(options: LogRingOptions = {}) {
    const { capacity = 1000 } = options;
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`LogRing capacity must be an integer ≥ 1: got ${capacity}`);
    }
    this.#capacity = capacity;
    this.#buf = new Array(capacity);
  }

  /** Keeps `record` (dropping the oldest when full) and passes it to every follower. */
  log(record: LogRecord): void {
    this.#buf[this.#next] = record;
    this.#next = (this.#next + 1) % this.#capacity;
    if (this.#size < this.#capacity) this.#size++;
    for (const f of this.#followers) {
      try {
        f(record);
      } catch {
        // a follower must not break logging
      }
    }
  }

  /** The kept records, oldest first; the last `limit` only when given. */
  recent(limit = Infinity): LogRecord[] {
    const out: LogRecord[] = [];
    const start = (this.#next - this.#size + this.#capacity) % this.#capacity;
    for (let i = 0; i < this.#size; i++) out.push(this.#buf[(start + i) % this.#capacity]!);
    return limit >= out.length ? out : out.slice(out.length - limit);
  }

  /** Calls `fn` for every record from now on; returns the function that stops it. */
  follow(fn: (r: LogRecord) => void): () => void {
    this.#followers.add(fn);
    return () => this.#followers.delete(fn);
  }
}

/**
 * A logger sending each record to every one of `loggers`; `flush` flushes
 * those that can.
 */
export function teeLogger(...loggers: (Logger & { flush?: () => void })[]): Logger & {
  flush(): void;
} {
  return {
    log(record) {
      for (const l of loggers) l.log(record);
    },
    flush() {
      for (const l of loggers) l.flush?.();
    },
  };
}
