/**
 * The live view of `distarch run` in a terminal: a few summary lines pinned
 * at the top of the screen (per group: running / ready / starting /
 * restarting / stopping / failed / suspended / done), log lines scrolling below them in a
 * scroll region. Redrawn at most 4 times a second, only when changed.
 *
 * @module
 */

import { escapeText } from "../master/log.ts";
import type { InstanceInfo, InstanceState } from "../master/events.ts";
import type { SyncWriter } from "../master/log.ts";
import { bytes, duration, percent } from "./_format.ts";

/** The columns of the summary, in order. */
export const COLUMNS = [
  "running",
  "ready",
  "starting",
  "restarting",
  "stopping",
  "failed",
  "suspended",
  "done",
] as const;

/** A summary column. */
export type Column = typeof COLUMNS[number];

/** The column of each state; `ready` counts the running instances that are ready. */
const COLUMN_OF: Record<InstanceState, Exclude<Column, "ready">> = {
  pending: "starting",
  starting: "starting",
  running: "running",
  restarting: "restarting",
  stopping: "stopping",
  failed: "failed",
  suspended: "suspended",
  ended: "done",
  stopped: "done",
};

/** Instances per column for each group, groups in first-seen order. */
export function countByGroup(
  instances: readonly InstanceInfo[],
): Map<string, Record<Column, number>> {
  const out = new Map<string, Record<Column, number>>();
  for (const i of instances) {
    let row = out.get(i.group);
    if (row === undefined) {
      row = Object.fromEntries(COLUMNS.map((c) => [c, 0])) as Record<Column, number>;
      out.set(i.group, row);
    }
    row[COLUMN_OF[i.state]]++;
    if (i.state === "running" && i.ready) row.ready++;
  }
  return out;
}

/**
 * The CPU (percent of one core) and resident memory of each group's
 * instances, summed; `undefined` where no instance of the group was measured.
 * Groups in first-seen order, as {@linkcode countByGroup}.
 */
export function resourcesByGroup(
  instances: readonly InstanceInfo[],
): { group: string; cpu: number | undefined; rss: number | undefined }[] {
  const out = new Map<
    string,
    { group: string; cpu: number | undefined; rss: number | undefined }
  >();
  for (const i of instances) {
    let row = out.get(i.group);
    if (row === undefined) {
      out.set(i.group, row = { group: i.group, cpu: undefined, rss: undefined });
    }
    if (i.cpu !== undefined) row.cpu = (row.cpu ?? 0) + i.cpu;
    if (i.rss !== undefined) row.rss = (row.rss ?? 0) + i.rss;
  }
  return [...out.values()];
}

/** What {@linkcode renderSummary} shows besides the instances. */
export interface SummaryContext {
  /** Now, ms since epoch. */
  now: number;
  /** When the master started. */
  startedAt: number;
  /** Terminal width; lines are cut to it. @default {120} */
  width?: number;
  /** Extra text for the header, e.g. the socket path. @default {""} */
  note?: string;
  /** Colour the counts with ANSI escapes. @default {false} */
  color?: boolean;
}

/**
 * The summary lines (no newlines): a header, a column title line and one
 * line per group.
 *
 * @example
 * ```ts
 * import { renderSummary } from "./live.ts";
 * const lines = renderSummary([], { now: 5000, startedAt: 0 });
 * console.log(lines[0]); // "distarch · up 5s · 0 instances"
 * ```
 */
export function renderSummary(instances: readonly InstanceInfo[], ctx: SummaryContext): string[] {
  const { now, startedAt, width = 120, note = "", color = false } = ctx;
  const groups = new Map([...countByGroup(instances)].map(([g, c]) => [escapeText(g), c]));
  const nameWidth = Math.min(30, Math.max(5, ...[...groups.keys()].map((g) => g.length)));
  const header = `distarch · up ${duration(now - startedAt)} · ${instances.length} instances` +
    (note ? ` · ${note}` : "");
  const title = "GROUP".padEnd(nameWidth) + COLUMNS.map((c) => " " + c.toUpperCase()).join("") +
    "      CPU        MEM";
  const totals = resourcesByGroup(instances);
  const paint = (c: Column, n: number, text: string) => {
    if (!color || n === 0) return text;
    const code = c === "running" || c === "ready"
      ? 32
      : c === "failed"
      ? 31
      : c === "done"
      ? 2
      : 33;
    return `\x1b[${code}m${text}\x1b[0m`;
  };
  const rows = [...groups].map(([name, counts], n) => {
    const label = name.length > nameWidth ? name.slice(0, nameWidth - 1) + "…" : name;
    const total = totals[n]!;
    return label.padEnd(nameWidth) +
      COLUMNS.map((c) => " " + paint(c, counts[c], String(counts[c]).padStart(c.length))).join(
        "",
      ) + " " + percent(total.cpu).padStart(8) + " " + bytes(total.rss).padStart(10);
  });
  return [header, title, ...rows].map((l) => cut(l, width));
}

/** Cuts `line` to `width` visible characters (ANSI colour codes do not count). */
function cut(line: string, width: number): string {
  let visible = 0;
  let out = "";
  for (let i = 0; i < line.length; i++) {
    if (line[i] === "\x1b") {
      const end = line.indexOf("m", i);
      out += line.slice(i, end + 1);
      i = end;
      continue;
    }
    if (visible >= width) continue;
    out += line[i];
    visible++;
  }
  return out;
}

/** Options of {@linkcode LiveView}. */
export interface LiveViewOptions {
  /** Where the view is drawn. @default {Deno.stdout} */
  writer?: SyncWriter;
  /** Terminal size. @default {Deno.consoleSize} */
  size?: () => { columns: number; rows: number };
  /** Header note. @default {""} */
  note?: string;
  /** Milliseconds between redraws. @default {250} */
  interval?: number;
  /** Colour the counts. @default {true unless $NO_COLOR is set} */
  color?: boolean;
  /** Groups to make room for from the start (more are made room for when they appear). @default {1} */
  groups?: number;
}

/** The summary drawn in a scroll region at the top of a terminal. */
export class LiveView implements Disposable {
  readonly #list: () => readonly InstanceInfo[];
  readonly #writer: SyncWriter;
  readonly #size: () => { columns: number; rows: number };
  readonly #ctx: Omit<SummaryContext, "now">;
  readonly #encoder = new TextEncoder();
  #height = 0;
  #rows = 0;
  #minLines: number;
  #last = "";
  #timer: ReturnType<typeof setInterval> | undefined;
  #onResize = () => this.#layout();

  /** Draws the summary of `list()` from now on; see {@linkcode LiveView.close}. */
  constructor(
    list: () => readonly InstanceInfo[],
    startedAt: number,
    options: LiveViewOptions = {},
  ) {
    const {
      writer = Deno.stdout,
      size = () => Deno.consoleSize(),
      note = "",
      interval = 250,
      color = Deno.env.get("NO_COLOR") === undefined,
      groups = 1,
    } = options;
    this.#minLines = groups + 2;
    this.#list = list;
    this.#writer = writer;
    this.#size = size;
    this.#ctx = { startedAt, note, color };
    this.#write("\x1b[2J");
    this.#layout();
    this.#timer = setInterval(() => this.draw(), interval);
    try {
      Deno.addSignalListener("SIGWINCH", this.#onResize);
    } catch {
      // no SIGWINCH here
    }
  }

  #layout(): void {
    const { rows } = this.#size();
    const lines = renderSummary(this.#list(), { ...this.#ctx, now: Date.now() });
    this.#rows = rows;
    this.#height = Math.min(Math.max(lines.length, this.#minLines) + 1, Math.max(1, rows - 2));
    // scroll region below the summary, cursor at its bottom
    this.#write(`\x1b[${this.#height + 1};${rows}r\x1b[${rows};1H`);
    this.#last = "";
    this.draw();
  }

  /** Redraws the summary if it changed (saves and restores the cursor). */
  draw(): void {
    const { columns } = this.#size();
    const lines = renderSummary(this.#list(), {
      ...this.#ctx,
      now: Date.now(),
      width: Math.max(10, columns - 1),
    });
    if (lines.length + 1 > this.#height && lines.length + 1 <= this.#rows - 2) {
      this.#minLines = lines.length;
      return this.#layout(); // a group appeared: make room
    }
    while (lines.length < this.#height - 1) lines.push("");
    const shown = lines.slice(0, this.#height - 1);
    shown.push("─".repeat(Math.max(10, Math.min(columns - 1, 80))));
    const text = shown.join("\n");
    if (text === this.#last) return;
    this.#last = text;
    let out = "\x1b7";
    shown.forEach((l, i) => out += `\x1b[${i + 1};1H\x1b[2K${l}`);
    this.#write(out + "\x1b8");
  }

  /** Draws the final summary, gives the whole screen back to scrolling and stops redrawing. */
  close(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    try {
      Deno.removeSignalListener("SIGWINCH", this.#onResize);
    } catch {
      // never added
    }
    this.draw();
    this.#write(`\x1b[r\x1b[${this.#rows};1H\n`);
  }

  /** Same as {@linkcode LiveView.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  #write(s: string): void {
    const bytes = this.#encoder.encode(s);
    let off = 0;
    try {
      while (off < bytes.length) off += this.#writer.writeSync(bytes.subarray(off));
    } catch {
      // the terminal is gone
    }
  }
}
