/**
 * The local benchmark cases: launch, stop and log relay, each measured
 * through the launcher and through a plain `Deno.Command` script in the same
 * run.
 *
 * @module
 */

import { writerLogger } from "../master/log.ts";
import { launch, ReadyLogger, within } from "./_distarch.ts";
import {
  countLines,
  firstLine,
  fixture,
  killAll,
  type PlainChild,
  spawnPlain,
  stopAll,
} from "./_plain.ts";
import type { Row } from "./_table.ts";

const READY = fixture("ready.ts");
const LINES = fixture("lines.ts");
const LIMIT_MS = 120_000;

/** Launch and stop times of one run, in ms. */
export interface LaunchTimes {
  /** From start until every instance printed its ready line. */
  launch: number;
  /** From the stop request until every instance is gone. */
  stop: number;
}

/** Starts `n` ready workers through a launcher, then stops them. */
export async function distarchLaunch(n: number): Promise<LaunchTimes> {
  const logger = new ReadyLogger(n);
  const t0 = performance.now();
  const { launcher, done } = launch(READY, n, logger);
  try {
    const early = done.then((s) => {
      throw new Error(`run() returned before all were ready: ${JSON.stringify(s.instances[0])}`);
    });
    await within(Promise.race([logger.ready, early]), LIMIT_MS, `launching ${n} instances`);
    const launched = performance.now() - t0;
    const t1 = performance.now();
    await within(launcher.stop(), LIMIT_MS, `stopping ${n} instances`);
    return { launch: launched, stop: performance.now() - t1 };
  } finally {
    await launcher.stop();
    await done.catch(() => {});
  }
}

/** Starts `n` ready workers with plain `Deno.Command`, then SIGTERMs them. */
export async function plainLaunch(n: number): Promise<LaunchTimes> {
  const children: PlainChild[] = [];
  try {
    const t0 = performance.now();
    for (let i = 1; i <= n; i++) children.push(spawnPlain(READY, i, n));
    await within(Promise.all(children.map(firstLine)), LIMIT_MS, `plain launch of ${n}`);
    const launched = performance.now() - t0;
    const t1 = performance.now();
    await within(stopAll(children), LIMIT_MS, `plain stop of ${n}`);
    return { launch: launched, stop: performance.now() - t1 };
  } finally {
    await killAll(children);
  }
}

/** Runs one plain worker to completion, so the fixtures are compiled and cached. */
export async function warmUp(): Promise<void> {
  await plainLaunch(1);
  await plainRelay(1, 10);
}

function best(values: number[]): number {
  return Math.min(...values);
}

/** The launch and stop rows for each `n`, best of `reps` runs (distarch and plain alternate). */
export async function launchStopRows(
  sizes: readonly number[],
  reps: number,
): Promise<{ launch: Row[]; stop: Row[] }> {
  await warmUp();
  const launch: Row[] = [];
  const stop: Row[] = [];
  for (const n of sizes) {
    const d: LaunchTimes[] = [];
    const p: LaunchTimes[] = [];
    const runs = n > 50 ? 1 : reps; // 200 Deno startups take ~25 s a side on 2 cores
    for (let r = 0; r < runs; r++) {
      p.push(await plainLaunch(n));
      d.push(await distarchLaunch(n));
    }
    const note = runs > 1 ? `best of ${runs}` : "1 run";
    const dl = best(d.map((t) => t.launch));
    const pl = best(p.map((t) => t.launch));
    launch.push({
      name: `launch N=${n}`,
      distarch: dl,
      baseline: pl,
      unit: "ms",
      goal: "≤ 1.5× baseline",
      met: dl <= 1.5 * pl,
      note: `${note}; ${(pl / n).toFixed(1)} ms/instance plain`,
    });
    const ds = best(d.map((t) => t.stop));
    const ps = best(p.map((t) => t.stop));
    stop.push({
      name: `stop N=${n}`,
      distarch: ds,
      baseline: ps,
      unit: "ms",
      goal: "≤ 1.5× baseline",
      met: ds <= 1.5 * ps,
      note,
    });
  }
  return { launch, stop };
}

/** Resolves once `count` calls of `tick` were made. */
function countdown(count: number): { tick: () => void; done: Promise<void> } {
  let left = count;
  let resolve!: () => void;
  const done = new Promise<void>((r) => resolve = r);
  return {
    tick: () => {
      if (--left === 0) resolve();
    },
    done,
  };
}

function go(pids: readonly (number | undefined)[]): void {
  for (const pid of pids) if (pid !== undefined) Deno.kill(pid, "SIGUSR1");
}

/**
 * Runs `workers` line workers of `lines` lines each through a launcher whose
 * default text logger writes to a file; returns the seconds from the go
 * signal (all are ready) until `run()` returned, every line written.
 */
export async function distarchRelay(workers: number, lines: number): Promise<number> {
  const path = await Deno.makeTempFile({ prefix: "distarch-bench-", suffix: ".log" });
  try {
    using file = await Deno.open(path, { write: true, truncate: true });
    // the logger as it comes (a wrapper would lose its fast path); readiness is read from the file
    const logger = writerLogger(file);
    const { launcher, done } = launch(LINES, workers, logger, { lines });
    let t0 = 0;
    let summary;
    try {
      await within(readyInFile(path, workers), LIMIT_MS, `starting ${workers} line workers`);
      t0 = performance.now();
      go(launcher.list().map((i) => i.pid));
      summary = await within(done, LIMIT_MS, `relaying ${workers * lines} lines`);
    } finally {
      await launcher.stop();
    }
    const seconds = (performance.now() - t0) / 1000;
    if (!summary.ok) throw new Error(`relay run failed: ${JSON.stringify(summary.instances)}`);
    const relayed = await countRelayed(path);
    if (relayed !== workers * lines) {
      throw new Error(`relayed ${relayed} worker lines, expected ${workers * lines}`);
    }
    return seconds;
  } finally {
    await Deno.remove(path).catch(() => {});
  }
}

/** Resolves once the text log file holds `count` ready lines. */
async function readyInFile(path: string, count: number): Promise<void> {
  while ((await countIn(path, "] ready\n")) < count) {
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Counts the relayed worker lines (`… line 000123`) in a text log file. */
function countRelayed(path: string): Promise<number> {
  return countIn(path, "] line ");
}

/** Counts the occurrences of `text` (which starts with `]`) in a file. */
async function countIn(path: string, text: string): Promise<number> {
  const needle = new TextEncoder().encode(text);
  const bytes = await Deno.readFile(path);
  let count = 0;
  let at = 0;
  while ((at = bytes.indexOf(0x5d, at)) >= 0) { // ']'
    let i = 0;
    while (i < needle.length && bytes[at + i] === needle[i]) i++;
    if (i === needle.length) count++;
    at++;
  }
  return count;
}

/** The same as {@linkcode distarchRelay} with plain `Deno.Command` and a line counter. */
export async function plainRelay(workers: number, lines: number): Promise<number> {
  const children: PlainChild[] = [];
  try {
    const ready = countdown(workers);
    for (let i = 1; i <= workers; i++) children.push(spawnPlain(LINES, i, workers, { lines }));
    const counted = Promise.all(children.map(async (c) => {
      const [n] = await Promise.all([countLines(c.child.stdout, ready.tick), c.child.status]);
      await c.stdin.close().catch(() => {});
      return n;
    }));
    await within(ready.done, LIMIT_MS, `starting ${workers} plain line workers`);
    const t0 = performance.now();
    go(children.map((c) => c.child.pid));
    const got = await within(counted, LIMIT_MS, "plain relay");
    const seconds = (performance.now() - t0) / 1000;
    const sum = got.reduce((a, b) => a + b, 0);
    const expected = workers * (lines + 2); // + each one's "ready" and "ended"
    if (sum !== expected) throw new Error(`plain relay counted ${sum}, expected ${expected}`);
    return seconds;
  } finally {
    await killAll(children);
  }
}

/** The relay rows: 1 × `total` lines and `workers` × `total / workers` lines, in lines/s. */
export async function relayRows(total: number, workers: number, reps: number): Promise<Row[]> {
  await warmUp();
  const rows: Row[] = [];
  for (const w of [1, workers]) {
    const lines = Math.floor(total / w);
    const sum = w * lines;
    const d: number[] = [];
    const p: number[] = [];
    for (let r = 0; r < reps; r++) {
      p.push(await plainRelay(w, lines));
      d.push(await distarchRelay(w, lines));
    }
    const dr = sum / best(d);
    const pr = sum / best(p);
    const goal = w === workers ? "≥ 5,000,000 lines/s" : "(none)";
    rows.push({
      name: `relay ${w} × ${lines.toLocaleString("en-US")}`,
      distarch: dr,
      baseline: pr,
      unit: "lines/s",
      goal,
      met: w === workers ? dr >= 5_000_000 : true,
      note: `${
        reps > 1 ? `best of ${reps}` : "1 run"
      }; from the go signal (all ready) to the last line handled`,
    });
  }
  return rows;
}
