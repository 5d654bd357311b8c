/**
 * A bounded byte sink for the log: loggers fill its buffer synchronously,
 * it writes full buffers in the background, never blocking the event loop on
 * an async writer (a stalled stdout pipe, a slow disk). Past `highWater`
 * bytes waiting it asks producers to wait ({@linkcode ByteSink.ready});
 * past `maxBuffered` it drops whole records and counts them. A write error
 * is reported at once; the lines it cost are counted, and once the output
 * takes bytes again a notice line says how many were lost, starting on a
 * line of its own even after a torn write.
 *
 * @module
 */

import { errorMessage } from "../_shared/errors.ts";
import {
  type AsyncWriter,
  type SyncWriter,
  tryWriteAll,
  tryWriteAllSync,
  writeAll,
  writeAllSync,
} from "../_shared/write_all.ts";

/** Something bytes can be written to: `write` (preferred, async) or `writeSync`. */
export type ByteWriter =
  | { write(p: Uint8Array): Promise<number> }
  | { writeSync(p: Uint8Array): number };

/** Options of a {@linkcode ByteSink}. */
export interface ByteSinkOptions {
  /** Bytes per buffer, written in one go. */
  bufferSize: number;
  /** Bytes waiting above which {@linkcode ByteSink.ready} returns a promise. */
  highWater: number;
  /** Bytes waiting above which new records are dropped (and counted). */
  maxBuffered: number;
  /** Where the bytes go, for messages (e.g. `stdout`, `--log-file /var/log/x.log`). */
  name: string;
  /** Told once per failure streak; its message names the output and the error. */
  onError: (message: string) => void;
  /** The bytes of a one-line notice for the log itself (with its newline). */
  notice: (message: string) => Uint8Array<ArrayBuffer>;
}

/** What a sink lost so far. */
export interface SinkStats {
  /** Lines lost to write errors. */
  lost: number;
  /** Records dropped because too much was waiting (the output was blocked). */
  dropped: number;
  /** The first write error, as text. */
  error?: string;
}

const NL: Uint8Array = new Uint8Array([10]);

function countLines(bytes: Uint8Array): number {
  let n = 0;
  for (let at = bytes.indexOf(10); at >= 0; at = bytes.indexOf(10, at + 1)) n++;
  return n + (bytes.length > 0 && bytes[bytes.length - 1] !== 10 ? 1 : 0);
}

/** See the module doc. `buf`/`pos` are public for the loggers' hot path. */
export class ByteSink {
  /** The buffer being filled; bytes go at `pos`. */
  buf: Uint8Array;
  /** Fill position in `buf`. */
  pos = 0;
  /**
   * True when a record that fits in `buf` (after `pos`, which is not 0) can
   * be written there without asking {@linkcode ByteSink.take}: the hot path.
   */
  fast = false;
  readonly #w: ByteWriter;
  readonly #o: ByteSinkOptions;
  #queue: Uint8Array[] = [];
  #spare: Uint8Array[] = []; // written buffers, reused
  #queued = 0;
  #busy = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #idle: PromiseWithResolvers<void> | undefined;
  #room: PromiseWithResolvers<void> | undefined;
  #stats: SinkStats = { lost: 0, dropped: 0 };
  #unreported = 0; // lost to write errors, not yet said in the log
  #undropped = 0; // dropped, not yet said in the log
  #failing: string | undefined; // the error of the current failure streak
  #torn = false; // a failed write left the output in the middle of a line
  #midLine = false; // the last byte written was not a newline

  /** Creates the sink. */
  constructor(writer: ByteWriter, options: ByteSinkOptions) {
    this.#w = writer;
    this.#o = options;
    this.buf = new Uint8Array(options.bufferSize);
  }

  /** Bytes waiting to be written. */
  get waiting(): number {
    return this.#queued + this.pos;
  }

  /** A copy of what was lost so far. */
  stats(): SinkStats {
    return { ...this.#stats };
  }

  /**
   * Call before each record of `n` bytes: makes room for them at `pos`, or
   * returns false when the record must be dropped (too much is waiting).
   */
  take(n: number): boolean {
    if (!this.admit()) return false;
    this.reserve(n);
    return true;
  }

  /** Call before each record: false when it must be dropped (too much is waiting). */
  admit(): boolean {
    if (this.#queued + this.pos > this.#o.maxBuffered) {
      this.#stats.dropped++;
      this.#undropped++;
      return false;
    }
    if (this.#undropped > 0) this.#noteDrops(); // the gap is here: say so, in its place
    return true;
  }

  #noteDrops(): void {
    if (this.#undropped > 0) {
      const n = this.#undropped;
      this.#undropped = 0;
      const line = this.#o.notice(
        `${n} log record${n === 1 ? "" : "s"} dropped: ${this.#o.name} was blocked ` +
          `(more than ${this.#o.maxBuffered} bytes waiting)`,
      );
      this.reserve(line.length);
      this.buf.set(line, this.pos);
      this.pos += line.length;
    }
  }

  /** Makes room for `n` more bytes at `pos` (never drops: call {@linkcode admit} first). */
  reserve(n: number): void {
    if (this.pos + n > this.buf.length) {
      this.#seal();
      if (n > this.buf.length) this.buf = new Uint8Array(n);
    }
    this.#timer ??= setTimeout(() => this.#seal(), 0);
    // the timer is armed and the buffer is being filled: the next records may skip take()
    this.fast = this.#undropped === 0 && this.#queued + this.buf.length <= this.#o.maxBuffered;
  }

  /** Undefined while there is room; else a promise that settles once the backlog halved. */
  ready(): Promise<void> | undefined {
    if (this.#queued + this.pos <= this.#o.highWater) return undefined;
    this.#seal();
    return (this.#room ??= Promise.withResolvers()).promise;
  }

  /** Writes out everything buffered; resolves once it is written (or lost). */
  flush(): Promise<void> {
    this.#noteDrops();
    this.#seal();
    if (!this.#busy && this.#queue.length === 0) return Promise.resolve();
    return (this.#idle ??= Promise.withResolvers()).promise;
  }

  #seal(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.fast = false;
    if (this.pos > 0) {
      this.#queue.push(this.buf.subarray(0, this.pos));
      this.#queued += this.pos;
      this.buf = this.#spare.pop() ?? new Uint8Array(this.#o.bufferSize);
      this.pos = 0;
    }
    this.#pump();
  }

  #pump(): void {
    if (this.#busy) return;
    while (this.#queue.length > 0) {
      const pending = this.#writeHead();
      if (pending !== undefined) {
        this.#busy = true;
        pending.then(() => {
          this.#busy = false;
          this.#pump();
        });
        return;
      }
    }
    this.#settle(this.#idle);
    this.#idle = undefined;
  }

  /** Writes the queue's head; a promise when the writer is async. */
  #writeHead(): Promise<void> | undefined {
    const chunk = this.#queue[0]!;
    const w = this.#w;
    if (!("write" in w)) {
      try {
        if (this.#unreported > 0 || this.#torn) this.#recover(w);
      } catch (e) {
        this.#done(chunk, 0, e);
        return;
      }
      const { written, error } = tryWriteAllSync(w, chunk);
      this.#done(chunk, written, error);
      return undefined;
    }
    return (async () => {
      try {
        if (this.#unreported > 0 || this.#torn) await this.#recoverAsync(w);
      } catch (e) {
        this.#done(chunk, 0, e);
        return;
      }
      const { written, error } = await tryWriteAll(w, chunk);
      this.#done(chunk, written, error);
    })();
  }

  /** Before the next chunk: end a torn line and say what was lost (sync writer). */
  #recover(w: SyncWriter): void {
    for (const part of this.#recoveryBytes()) {
      writeAllSync(w, part);
      if (part === NL) this.#torn = false;
    }
    this.#recovered();
  }

  async #recoverAsync(w: AsyncWriter): Promise<void> {
    for (const part of this.#recoveryBytes()) {
      await writeAll(w, part);
      if (part === NL) this.#torn = false;
    }
    this.#recovered();
  }

  #recoveryBytes(): Uint8Array[] {
    const parts = this.#torn ? [NL] : [];
    const n = this.#unreported;
    const why = `cannot write to ${this.#o.name}: ${this.#failing ?? this.#stats.error}`;
    if (n > 0) parts.push(this.#o.notice(`${n} log line${n === 1 ? "" : "s"} lost: ${why}`));
    return parts;
  }

  #recovered(): void {
    if (this.#failing !== undefined) {
      this.#o.onError(`${this.#o.name} is writable again`);
      this.#failing = undefined;
    }
    this.#unreported = 0;
  }

  /** Accounts for the head chunk: written up to `off`, then failed with `error` if given. */
  #done(chunk: Uint8Array, off: number, error?: unknown): void {
    this.#queue.shift();
    this.#queued -= chunk.length;
    if (chunk.buffer.byteLength === this.#o.bufferSize && this.#spare.length < 2) {
      this.#spare.push(new Uint8Array(chunk.buffer as ArrayBuffer));
    }
    if (error !== undefined) {
      const rest = chunk.subarray(off);
      const lines = countLines(rest);
      this.#stats.lost += lines;
      this.#unreported += lines;
      if (off > 0 ? chunk[off - 1] !== 10 : this.#midLine) this.#torn = true;
      const text = errorMessage(error);
      this.#stats.error ??= text;
      if (this.#failing === undefined) {
        this.#failing = text;
        this.#o.onError(`cannot write to ${this.#o.name}: ${text}; log lines are being lost`);
      }
    } else this.#midLine = chunk[chunk.length - 1] !== 10;
    if (this.#room !== undefined && this.#queued + this.pos <= this.#o.highWater / 2) {
      this.#settle(this.#room);
      this.#room = undefined;
    }
  }

  #settle(p: PromiseWithResolvers<void> | undefined): void {
    p?.resolve();
  }
}
