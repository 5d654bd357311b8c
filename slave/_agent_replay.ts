// Long on purpose: the per-instance queues, the drop counts and the renumbering on re-attach share one numbering.
/**
 * The agent's replay buffer: the frames sent to the master that it has not
 * acknowledged yet, numbered 1, 2, … in the order they were sent. The master
 * acknowledges in its heartbeats (`hb.ack`); a link that re-attaches names the
 * last frame it received (`attach.ack`), or leaves it to the highest number
 * the previous links acknowledged, and gets every kept frame after it.
 *
 * Bounded per instance: an instance keeps its newest output frames while
 * they are needed to hold {@linkcode ReplayLimits.bytes} (4 MiB) or
 * {@linkcode ReplayLimits.lines} (10,000 lines), whichever is more; an older
 * output frame of it is dropped once the newer ones hold both. Over all
 * instances, output is bounded by `ceiling()` (the agent gives 4 MiB per
 * running instance, at least 8 MiB): past it, the oldest frame of the
 * instance holding the most is dropped, so a flood of very long lines may
 * keep fewer than 10,000 of them. Events (`started`, `exit`, …) are never
 * dropped; `res` events are not kept at all (they describe a past moment).
 *
 * The output dropped is counted by instance (frames, bytes, lines), so the
 * re-attached master can say what it will never see. A dropped frame that
 * was sent on a link (`detach()` says until which number) may have been
 * received there: it counts only when the re-attaching link says it did not
 * (`ack` below it). Frames dropped from the middle take no number: on a
 * re-attach the kept frames are numbered again so the last keeps its number
 * and the replay is contiguous (`seq`, the number before it, says where).
 *
 * @module
 */

import { FRAME, FRAME_HEADER } from "../protocol/agent.ts";

/** The bounds of a {@linkcode ReplayBuffer}. */
export interface ReplayLimits {
  /** Output bytes (payloads) an instance may always keep. @default {4 MiB} */
  bytes?: number;
  /** Lines (`\n`) of output an instance may always keep. @default {10000} */
  lines?: number;
  /** The most output bytes kept over all instances (asked on every add). */
  ceiling: () => number;
}

/** What a re-attaching link gets from {@linkcode ReplayBuffer.since}. */
export interface Replay {
  /** The number of the frame before the replayed ones. */
  seq: number;
  /** The acknowledged number the replay was computed from. */
  acked: number;
  /** The kept frames after `acked`, numbered `seq + 1`, … */
  frames: Uint8Array[];
  /** Frames after `acked` the bounds dropped (output only). */
  dropped: number;
  /** The output among them, by instance key. */
  lost: { key: number; chunks: number; bytes: number; lines: number }[];
}

/** One kept frame; `frame` is undefined once it is dropped. */
interface Entry {
  seq: number;
  frame: Uint8Array | undefined;
  key: number;
  /** Newlines in an output payload (-1: an event; {@linkcode UNCOUNTED}: not counted yet). */
  nl: number;
}

/** The kept output frames of one instance, oldest first. */
interface Queue {
  entries: Entry[];
  head: number;
  bytes: number;
  /** Newlines of its counted entries: those before `counted`. */
  lines: number;
  counted: number;
}

/** Output dropped for one instance; `partial`: its newest dropped chunk ends inside a line. */
interface Lost {
  chunks: number;
  bytes: number;
  newlines: number;
  newest: number;
  partial: boolean;
}

/** Frames kept until the master acknowledges them. */
export class ReplayBuffer {
  /** Kept frames in order, dropped ones among them until the next compaction. */
  #entries: Entry[] = [];
  #head = 0;
  #live = 0;
  #dead = 0;
  #last = 0;
  #bytes = 0;
  #outBytes = 0;
  #queues = new Map<number, Queue>();
  /** The highest number acknowledged, by any link. */
  #acked = 0;
  /** Output the bounds dropped (never sent, or past the memory of sent drops), by key. */
  #lost = new Map<number, Lost>();
  /** Frames counted in `#lost` since the last {@linkcode since}. */
  #dropped = 0;
  /** Output the bounds dropped after it was sent (maybe received): seq, key, bytes, newlines, partial. */
  #sentDrops: number[] = [];
  /** Frames up to this number were sent on a link (Infinity while one is up). */
  #sent = Infinity;
  readonly #perBytes: number;
  readonly #perLines: number;
  readonly #ceiling: () => number;

  /** A buffer within `limits`. */
  constructor(limits: ReplayLimits) {
    const { bytes = 4 * 1024 * 1024, lines = 10_000, ceiling } = limits;
    this.#perBytes = bytes;
    this.#perLines = lines;
    this.#ceiling = ceiling;
  }

  /** Sequence number of the last frame added (0 before the first). */
  get last(): number {
    return this.#last;
  }

  /** Frames kept. */
  get size(): number {
    return this.#live;
  }

  /** Bytes kept (frames with their headers). */
  get bytes(): number {
    return this.#bytes;
  }

  /** The highest number a link acknowledged. */
  get acked(): number {
    return this.#acked;
  }

  /** Keeps `frame` (not copied: the caller gives it away) as number `last + 1`. */
  add(frame: Uint8Array): void {
    const seq = ++this.#last;
    const kind = frame[0];
    const key = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(1);
    const output = kind === FRAME.stdout || kind === FRAME.stderr;
    if (!output && isResources(frame)) return; // never replayed: takes no number on a re-attach
    // lines are counted only when an instance holds more than its bytes' due (see #countAll)
    const entry: Entry = { seq, frame, key, nl: output ? UNCOUNTED : -1 };
    this.#entries.push(entry);
    this.#live++;
    this.#bytes += frame.length;
    if (!output) return;
    const payload = frame.length - FRAME_HEADER;
    this.#outBytes += payload;
    let q = this.#queues.get(key);
    if (q === undefined) {
      this.#queues.set(key, q = { entries: [], head: 0, bytes: 0, lines: 0, counted: 0 });
    }
    q.entries.push(entry);
    q.bytes += payload;
    // the newer frames hold the instance's due without its oldest one: drop that
    while (q.entries.length - q.head > 1) {
      const oldest = q.entries[q.head]!;
      const size = oldest.frame!.length - FRAME_HEADER;
      if (q.bytes - size < this.#perBytes) break;
      this.#countAll(q);
      if (q.lines - oldest.nl < this.#perLines) break;
      this.#drop(q);
    }
    const ceiling = this.#ceiling();
    while (this.#outBytes > ceiling) this.#drop(this.#largest()!);
    this.#compact();
  }

  /** The queue of the instance holding the most output bytes. */
  #largest(): Queue | undefined {
    let best: Queue | undefined;
    for (const q of this.#queues.values()) if (best === undefined || q.bytes > best.bytes) best = q;
    return best;
  }

  /** Counts the newlines of `q`'s entries not counted yet (into `q.lines`). */
  #countAll(q: Queue): void {
    for (let i = Math.max(q.head, q.counted); i < q.entries.length; i++) {
      const entry = q.entries[i]!;
      if (entry.nl !== UNCOUNTED) continue;
      entry.nl = newlines(entry.frame!);
      q.lines += entry.nl;
    }
    q.counted = q.entries.length;
  }

  /** Drops the oldest output frame of `q`, counting it. */
  #drop(q: Queue): void {
    this.#countAll(q);
    const entry = this.#unqueue(q);
    const bytes = entry.frame!.length - FRAME_HEADER;
    const partial = entry.frame![entry.frame!.length - 1] !== NEWLINE && bytes > 0 ? 1 : 0;
    if (entry.seq <= this.#sent && this.#sentDrops.length < MAX_SENT_DROPS) {
      this.#sentDrops.push(entry.seq, entry.key, bytes, entry.nl, partial);
    } else {
      this.#count(entry.seq, entry.key, bytes, entry.nl, partial === 1);
    }
    this.#bytes -= entry.frame!.length;
    entry.frame = undefined;
    this.#live--;
    this.#dead++;
  }

  /** Takes the oldest entry out of `q` (forgetting `q` once empty). */
  #unqueue(q: Queue): Entry {
    const entry = q.entries[q.head]!;
    q.entries[q.head++] = PLACEHOLDER;
    const bytes = entry.frame!.length - FRAME_HEADER;
    q.bytes -= bytes;
    if (entry.nl > 0) q.lines -= entry.nl;
    this.#outBytes -= bytes;
    if (q.head === q.entries.length) {
      this.#queues.delete(entry.key);
    } else if (q.head >= 1024 && q.head * 2 >= q.entries.length) {
      q.entries = q.entries.slice(q.head);
      q.counted = Math.max(0, q.counted - q.head);
      q.head = 0;
    }
    return entry;
  }

  #count(seq: number, key: number, bytes: number, nl: number, partial: boolean): void {
    let lost = this.#lost.get(key);
    if (lost === undefined) {
      this.#lost.set(key, lost = { chunks: 0, bytes: 0, newlines: 0, newest: 0, partial });
    }
    lost.chunks++;
    lost.bytes += bytes;
    lost.newlines += nl;
    if (seq > lost.newest) [lost.newest, lost.partial] = [seq, partial];
    this.#dropped++;
  }

  /** The link is gone: frames added from now on were never sent. */
  detach(): void {
    this.#sent = this.#last;
  }

  /** The master received every frame up to `seq`: forget them. */
  ack(seq: number): void {
    if (seq > this.#acked) this.#acked = seq;
    let i = 0;
    while (i < this.#sentDrops.length && this.#sentDrops[i]! <= seq) i += 5;
    if (i > 0) this.#sentDrops.splice(0, i);
    while (this.#head < this.#entries.length && this.#entries[this.#head]!.seq <= seq) {
      const entry = this.#entries[this.#head]!;
      this.#entries[this.#head++] = PLACEHOLDER;
      if (entry.frame === undefined) {
        this.#dead--;
        continue;
      }
      if (entry.nl !== -1) this.#unqueue(this.#queues.get(entry.key)!);
      this.#bytes -= entry.frame.length;
      this.#live--;
    }
    this.#compact();
  }

  /**
   * What a link that received every frame up to `ack` is missing (`ack`
   * omitted: up to the highest number a link acknowledged): the frames
   * after it still kept, numbered again after `seq`, how many between `ack`
   * and them were dropped, and the output among them, by instance key
   * (counted from the previous call).
   */
  since(ack?: number): Replay {
    this.ack(ack ?? this.#acked);
    const s = this.#sentDrops;
    for (let i = 0; i < s.length; i += 5) {
      this.#count(s[i]!, s[i + 1]!, s[i + 2]!, s[i + 3]!, s[i + 4] === 1);
    }
    this.#sentDrops = [];
    this.#sent = Infinity; // a link takes over
    const lost = [...this.#lost].map(([key, l]) => ({
      key,
      chunks: l.chunks,
      bytes: l.bytes,
      lines: l.newlines + (l.partial ? 1 : 0),
    }));
    const dropped = this.#dropped;
    this.#lost.clear();
    this.#dropped = 0;
    // the frames dropped from the middle take no number: the kept ones close up before the last
    const kept = this.#entries.slice(this.#head).filter((e) => e.frame !== undefined);
    const seq = this.#last - kept.length;
    kept.forEach((e, i) => e.seq = seq + 1 + i);
    [this.#entries, this.#head, this.#dead] = [kept, 0, 0];
    return { seq, acked: this.#acked, frames: kept.map((e) => e.frame!), dropped, lost };
  }

  /** Forgets the entries before the head, and the dropped ones once they are most. */
  #compact(): void {
    if (this.#dead >= 1024 && this.#dead > this.#live) {
      this.#entries = this.#entries.slice(this.#head).filter((e) => e.frame !== undefined);
      [this.#head, this.#dead] = [0, 0];
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }
}

const NEWLINE = 10;
const PLACEHOLDER: Entry = { seq: 0, frame: undefined, key: 0, nl: 0 };
/** Drops of sent frames remembered one by one (5 numbers each); past it, counted as lost. */
const MAX_SENT_DROPS = 5 * 100_000;
/** The start of a `res` event's JSON payload. */
const RES = new TextEncoder().encode('{"t":"res"');

/** An output entry whose newlines are not counted yet. */
const UNCOUNTED = -2;

function newlines(frame: Uint8Array): number {
  let n = 0;
  for (let i = frame.indexOf(NEWLINE, FRAME_HEADER); i >= 0; i = frame.indexOf(NEWLINE, i + 1)) n++;
  return n;
}

function isResources(frame: Uint8Array): boolean {
  if (frame[0] !== FRAME.event || frame.length < FRAME_HEADER + RES.length) return false;
  return RES.every((b, i) => frame[FRAME_HEADER + i] === b);
}
