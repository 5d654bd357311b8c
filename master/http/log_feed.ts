/**
 * The log side of the dashboard: a {@linkcode LogFeed} counts every record
 * (for `/metrics`) and keeps a bounded ring of recent ones for the live
 * streams, which read it through cursors. Publishing costs the same however
 * many clients stream and whether they read or not.
 *
 * @module
 */

import { isRawLogger, type RawLogger } from "../log.ts";
import type { Logger, LogRecord } from "../types.ts";

/** Options of a {@linkcode LogFeed}. */
export interface LogFeedOptions {
  /** Recent records kept for the streams. @default {1000} */
  capacity?: number;
  /** Records a second the streams carry at most; the rest are counted as skipped. @default {5000} */
  rate?: number;
  /** Characters of a message kept for the streams (the log itself is not cut). @default {4096} */
  maxMessage?: number;
}

/**
 * One entry of the feed: a record (with its JSON once a stream serialised
 * it, shared by every stream), or a count of records skipped over the rate.
 */
export type FeedEntry = { record: LogRecord; json?: string } | { skipped: number };

/** Where a reader is in the feed; {@linkcode LogFeed.read} moves it. */
export interface FeedCursor {
  /** The next entry to read. */
  seq: number;
  /** Records (skipped ones included) represented by the entries before it. */
  records: number;
}

/** What {@linkcode LogFeed.read} returns. */
export interface FeedRead {
  /** Records this reader will never see: their entries were overwritten before it read them. */
  missed: number;
  /** Entries, oldest first. */
  entries: FeedEntry[];
}

type Tags = Omit<LogRecord, "message" | "time">;
interface Counter {
  group: string;
  level: string;
  n: number;
}

const decoder = new TextDecoder();

/**
 * A {@linkcode Logger} for the dashboard. Give the launcher
 * `feed.wrap(yourLogger)`: it writes to your logger and feeds the dashboard,
 * keeping the text logger's fast path.
 *
 * @example
 * ```ts ignore
 * import { defaultLogger, Launcher, LogFeed, serveDashboard } from "@distarch/distarch/master";
 * const feed = new LogFeed();
 * const launcher = new Launcher({ logger: feed.wrap(defaultLogger()) });
 * await using dashboard = serveDashboard(launcher, { feed, listen: "127.0.0.1:7700" });
 * ```
 */
export class LogFeed implements Logger {
  readonly #capacity: number;
  readonly #rate: number;
  readonly #maxMessage: number;
  readonly #ring: FeedEntry[] = [];
  readonly #upTo: number[] = []; // per ring entry: records represented up to it, included
  #seq = 0; // entries ever pushed; the ring holds [#seq - ring.length, #seq)
  #total = 0; // records represented by every entry ever pushed
  #readers = 0;
  #budget = 0;
  #skipped = 0;
  #refill: ReturnType<typeof setInterval> | undefined;
  readonly #waiters = new Set<() => void>();
  #wakeQueued = false;
  readonly #counters = new Map<string, Counter>();
  readonly #prefixes = new WeakMap<Uint8Array, { tags: Tags; counter: Counter }>();

  /** Creates an empty feed. */
  constructor(options: LogFeedOptions = {}) {
    const { capacity = 1000, rate = 5000, maxMessage = 4096 } = options;
    for (const [name, v] of [["capacity", capacity], ["rate", rate], ["maxMessage", maxMessage]]) {
      if (!Number.isInteger(v) || (v as number) < 1) {
        throw new RangeError(`LogFeed ${name} must be an integer ≥ 1: got ${v}`);
      }
    }
    this.#capacity = capacity;
    this.#rate = rate;
    this.#maxMessage = maxMessage;
  }

  /** Counts `record` and, while someone streams, keeps it (within the rate). */
  log(record: LogRecord): void {
    this.#count(record.group ?? "", record.level).n++;
    if (this.#readers > 0) this.#offer(record);
  }

  /** Records counted so far, by group (`""` for the master's own) and level. */
  counts(): { group: string; level: string; n: number }[] {
    return [...this.#counters.values()].map((c) => ({ ...c }));
  }

  /** `logger` that also feeds this feed; keeps the fast path of a text {@linkcode RawLogger}. */
  wrap<L extends Logger & { flush?: () => void }>(logger: L): Logger & { flush(): void } {
    const flush = () => logger.flush?.();
    if (!isRawLogger(logger)) {
      return {
        log: (r) => {
          logger.log(r);
          this.log(r);
        },
        flush,
      };
    }
    let last: Uint8Array | undefined;
    let lastInfo: { tags: Tags; counter: Counter } | undefined;
    const raw: RawLogger = {
      log: (r) => {
        logger.log(r);
        this.log(r);
      },
      flush,
      prefix: (tags) => {
        const bytes = logger.prefix(tags);
        this.#prefixes.set(bytes, { tags, counter: this.#count(tags.group ?? "", tags.level) });
        return bytes;
      },
      raw: (prefix, bytes, start, end) => {
        logger.raw(prefix, bytes, start, end);
        if (prefix !== last) {
          last = prefix;
          lastInfo = this.#prefixes.get(prefix);
        }
        if (lastInfo === undefined) return;
        lastInfo.counter.n++;
        if (this.#readers === 0) return;
        if (this.#budget <= 0) {
          this.#skipped++;
          return;
        }
        const message = decoder.decode(bytes.subarray(start, end));
        this.#offer({ ...lastInfo.tags, message, time: Date.now() });
      },
    };
    return raw;
  }

  /** Starts a reader: returns its cursor (only records from now on). */
  open(): FeedCursor {
    if (this.#readers++ === 0) {
      this.#budget = this.#rate / 10;
      this.#refill = setInterval(() => {
        this.#budget = this.#rate / 10;
        if (this.#skipped > 0) this.#push({ skipped: this.#skipped });
        this.#skipped = 0;
      }, 100);
      Deno.unrefTimer(this.#refill as unknown as number);
    }
    return { seq: this.#seq, records: this.#total };
  }

  /** Ends a reader. */
  close(): void {
    if (--this.#readers > 0) return;
    this.#readers = 0;
    clearInterval(this.#refill);
    this.#refill = undefined;
    this.#skipped = 0;
  }

  /**
   * Up to `max` entries from `cursor` on (moving it past them), and how many
   * records were overwritten before this reader got them.
   */
  read(cursor: FeedCursor, max: number): FeedRead {
    const oldest = this.#seq - this.#ring.length;
    const from = Math.max(cursor.seq, oldest);
    const n = Math.min(max, this.#seq - from);
    const start = this.#ring.length - (this.#seq - from);
    const first = this.#ring[start];
    const before = first === undefined ? this.#total : this.#upTo[start]! - weight(first);
    const missed = before - cursor.records;
    cursor.seq = from + n;
    cursor.records = n > 0 ? this.#upTo[start + n - 1]! : before;
    return { missed, entries: this.#ring.slice(start, start + n) };
  }

  /** Resolves on the next entry (batched: at most every 50 ms), or after `ms`. */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#waiters.add(done);
    });
  }

  /** Wakes every waiting reader now (e.g. when the instances changed). */
  wake(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) w();
  }

  #offer(record: LogRecord): void {
    if (this.#budget <= 0) {
      this.#skipped++;
      return;
    }
    this.#budget--;
    let r = record;
    if (r.message.length > this.#maxMessage) {
      const cut = r.message.length - this.#maxMessage;
      r = { ...r, message: r.message.slice(0, this.#maxMessage) + ` [${cut} characters cut]` };
    }
    if (r.context !== undefined && jsonLength(r.context) > this.#maxMessage) {
      r = { ...r, context: { cut: "context too large for the dashboard" } };
    }
    this.#push({ record: r });
  }

  #push(entry: FeedEntry): void {
    this.#total += weight(entry);
    this.#ring.push(entry);
    this.#upTo.push(this.#total);
    if (this.#ring.length > this.#capacity) {
      this.#ring.shift();
      this.#upTo.shift();
    }
    this.#seq++;
    if (this.#waiters.size > 0 && !this.#wakeQueued) {
      this.#wakeQueued = true;
      setTimeout(() => {
        this.#wakeQueued = false;
        this.wake();
      }, 50);
    }
  }

  #count(group: string, level: string): Counter {
    const key = group + "\0" + level;
    let c = this.#counters.get(key);
    if (c === undefined) this.#counters.set(key, c = { group, level, n: 0 });
    return c;
  }
}

/** Records an entry stands for. */
function weight(e: FeedEntry): number {
  return "skipped" in e ? e.skipped : 1;
}

function jsonLength(v: unknown): number {
  try {
    return JSON.stringify(v)?.length ?? 0;
  } catch {
    return Infinity;
  }
}
