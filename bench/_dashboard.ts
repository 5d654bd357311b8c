/**
 * The dashboard benchmark cases: log relay with 0, 1 and 5 streaming clients
 * and with one that never reads (clients in a process of their own, as
 * browsers would be); `/metrics` latency with 500 instances; the cost of
 * sampling CPU and memory of 500 instances.
 *
 * @module
 */

import { cpuUsage } from "node:process";
import { serveDashboard } from "../master/http/dashboard.ts";
import { LogFeed } from "../master/http/log_feed.ts";
import { Launcher } from "../master/launcher.ts";
import { writerLogger } from "../master/log.ts";
import { ResourceSampler } from "../master/resources.ts";
import type { Logger } from "../master/types.ts";
import { launch, within } from "./_distarch.ts";
import { fixture } from "./_plain.ts";
import type { Row } from "./_table.ts";

const LIMIT_MS = 180_000;
const CLIENTS = new URL("./fixtures/sse_clients.ts", import.meta.url).pathname;

type Clients = "none" | "0" | "1" | "5" | "stalled";

/** One relay run: seconds from the go signal to the end, and what the clients saw. */
interface RelayRun {
  seconds: number;
  clients?: { logs: number; missed: number; skipped: number; bytes: number };
  rssAfter: number;
}

async function relayOnce(workers: number, lines: number, clients: Clients): Promise<RelayRun> {
  const path = await Deno.makeTempFile({ prefix: "distarch-bench-", suffix: ".log" });
  let child: Deno.ChildProcess | undefined;
  try {
    using file = await Deno.open(path, { write: true, truncate: true });
    const sink = writerLogger(file);
    const feed = new LogFeed();
    // the logger as it comes, or wrapped by the feed: both keep the raw fast path
    const logger: Logger = clients === "none" ? sink : feed.wrap(sink);
    const { launcher, done } = launch(fixture("lines.ts"), workers, logger, { lines });
    await using dashboard = serveDashboard(launcher, { feed, listen: "127.0.0.1:0" });
    const n = clients === "stalled" ? 1 : Number(clients);
    if (clients !== "none" && n > 0) {
      const mode = clients === "stalled" ? "stall" : "read";
      child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", CLIENTS, dashboard.url, dashboard.token, String(n), mode],
        stdin: "piped",
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
    }
    const out = child?.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    if (out !== undefined) {
      while (!text.includes("connected\n")) {
        const { value, done } = await within(out.read(), LIMIT_MS, "stream clients");
        if (done) throw new Error(`stream clients ended: ${text}`);
        text += value;
      }
    }
    let t0 = 0;
    try {
      await within(readyIn(path, workers), LIMIT_MS, `starting ${workers} line workers`);
      t0 = performance.now();
      for (const i of launcher.list()) if (i.pid !== undefined) Deno.kill(i.pid, "SIGUSR1");
      await within(done, LIMIT_MS, `relaying ${workers * lines} lines`);
    } finally {
      await launcher.stop();
    }
    const seconds = (performance.now() - t0) / 1000;
    const rssAfter = Deno.memoryUsage().rss;
    let stats: RelayRun["clients"];
    if (child !== undefined && out !== undefined) {
      await new Promise((r) => setTimeout(r, 500)); // readers drain what is left
      await child.stdin.close();
      while (true) {
        const { value, done } = await within(out.read(), LIMIT_MS, "client stats");
        if (done) break;
        text += value;
      }
      await child.status;
      stats = JSON.parse(text.trim().split("\n").pop()!);
    }
    return { seconds, rssAfter, ...(stats ? { clients: stats } : {}) };
  } finally {
    try {
      child?.kill("SIGKILL");
      await child?.status;
    } catch { /* ended */ }
    await Deno.remove(path).catch(() => {});
  }
}

/** Resolves once the text log file holds `count` ready lines. */
async function readyIn(path: string, count: number): Promise<void> {
  while (true) {
    const text = await Deno.readTextFile(path);
    if (text.split("] ready\n").length - 1 >= count) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Relay rows: `workers` × `lines` with no dashboard (baseline), then 0, 1, 5 and 1 stalled clients. */
export async function dashboardRelayRows(
  workers: number,
  lines: number,
  reps: number,
): Promise<Row[]> {
  const total = workers * lines;
  const cases: Clients[] = ["none", "0", "1", "5", "stalled"];
  const runs = new Map<Clients, RelayRun[]>(cases.map((c) => [c, []]));
  await relayOnce(2, 1000, "1"); // warm up: compile the fixtures
  for (let r = 0; r < reps; r++) {
    // rotate the order, so no case always runs last (the master's heap grows over the runs)
    const order = [...cases.slice(r % cases.length), ...cases.slice(0, r % cases.length)];
    for (const c of order) runs.get(c)!.push(await relayOnce(workers, lines, c));
  }
  const best = (c: Clients) => runs.get(c)!.reduce((a, b) => (a.seconds <= b.seconds ? a : b));
  const base = total / best("none").seconds;
  return cases.slice(1).map((c) => {
    const b = best(c);
    const rate = total / b.seconds;
    const s = b.clients;
    const seen = s === undefined
      ? ""
      : `; clients got ${s.logs.toLocaleString("en-US")} records, ` +
        `${s.skipped.toLocaleString("en-US")} skipped over the rate, ${s.missed} missed, ` +
        `${(s.bytes / 1024).toFixed(0)} KiB`;
    return {
      name: c === "stalled"
        ? "relay, 1 stalled stream client"
        : `relay, ${c} stream client${c === "1" ? "" : "s"}`,
      distarch: rate,
      baseline: base,
      unit: "lines/s",
      goal: "≥ 0.9× baseline",
      met: rate >= 0.9 * base,
      note: `baseline: no dashboard; master RSS after ${
        (b.rssAfter / 2 ** 20).toFixed(0)
      } MiB${seen}`,
    };
  });
}

/**
 * What a stream client that never reads costs: records of 1 KiB are logged
 * into a feed with no rate limit for `seconds`, with one stalled client
 * (in a process of its own) and, as the baseline, with one that reads.
 * Reports the master's RSS growth.
 */
export async function stalledRows(seconds: number): Promise<Row[]> {
  const grow = async (mode: "read" | "stall") => {
    const feed = new LogFeed({ rate: 1_000_000_000 });
    const launcher = { list: () => [], groupNames: () => [] } as unknown as Launcher;
    await using dashboard = serveDashboard(launcher, { feed, listen: "127.0.0.1:0" });
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLIENTS, dashboard.url, dashboard.token, "1", mode],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const out = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    try {
      while (!text.includes("connected\n")) text += (await out.read()).value ?? "";
      const message = "x".repeat(1024);
      const before = Deno.memoryUsage().rss;
      let peak = before;
      let logged = 0;
      const end = performance.now() + seconds * 1000;
      while (performance.now() < end) {
        for (let i = 0; i < 2000; i++) {
          feed.log({ level: "info", message, time: 0, group: "g", instance: "w/1/1" });
        }
        logged += 2000;
        await new Promise((r) => setTimeout(r, 1)); // let the server write
        peak = Math.max(peak, Deno.memoryUsage().rss);
      }
      await child.stdin.close();
      while (true) {
        const { value, done } = await out.read();
        if (done) break;
        text += value;
      }
      const stats = JSON.parse(text.trim().split("\n").pop()!);
      return { growth: peak - before, logged, bytes: stats.bytes as number };
    } finally {
      try {
        child.kill("SIGKILL");
      } catch { /* ended */ }
      await child.status;
    }
  };
  const reading = await grow("read");
  const stalled = await grow("stall");
  const mib = (n: number) => n / 2 ** 20;
  return [{
    name: `master RSS growth, 1 stalled stream client, ${seconds} s of 1 KiB records`,
    distarch: mib(stalled.growth),
    baseline: mib(reading.growth),
    unit: "MiB",
    goal: "bounded (≤ 64 MiB)",
    met: mib(stalled.growth) <= 64,
    note: `${stalled.logged.toLocaleString("en-US")} records logged, the stalled client took ` +
      `${(stalled.bytes / 2 ** 20).toFixed(1)} MiB before stalling for good; baseline: one ` +
      `client reading (${(reading.bytes / 2 ** 20).toFixed(0)} MiB read)`,
  }];
}

/** Starts `n` idle instances (one sleeping process each) and resolves once all run. */
async function idleLauncher(n: number) {
  const launcher = new Launcher({
    logger: { log() {} },
    handleSignals: false,
    timeout: 0,
    restart: "never",
    gracePeriod: 2,
  });
  const done = launcher.run([{
    name: "idle",
    command: fixture("idle.sh"),
    processes: [{ type: "local", instances: n }],
  }]);
  const end = Date.now() + LIMIT_MS;
  while (launcher.list().filter((i) => i.state === "running").length < n) {
    if (Date.now() > end) throw new Error(`${n} idle instances did not start`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { launcher, done };
}

/** `/metrics` latency with 500 instances (median of 50), against a 204 round trip. */
export async function metricsRows(n: number): Promise<Row[]> {
  const { launcher, done } = await idleLauncher(n);
  try {
    await using dashboard = serveDashboard(launcher, { listen: "127.0.0.1:0" });
    const headers = { authorization: `Bearer ${dashboard.token}` };
    const time = async (path: string) => {
      const ms: number[] = [];
      for (let i = 0; i < 50; i++) {
        const t0 = performance.now();
        const res = await fetch(new URL(path, dashboard.url), { headers });
        await res.arrayBuffer();
        ms.push(performance.now() - t0);
      }
      return ms.sort((a, b) => a - b)[25]!;
    };
    await new Promise((r) => setTimeout(r, 2500)); // a sample with CPU % for everyone
    const text = await (await fetch(new URL("/metrics", dashboard.url), { headers })).text();
    const series = text.split("\n")
      .filter((l) => l.startsWith("distarch_instance_resident_memory_bytes{")).length;
    const metrics = await time("/metrics");
    const instances = await time("/api/instances");
    const trivial = await time("/favicon.ico");
    return [{
      name: `GET /metrics, ${n} instances`,
      distarch: metrics,
      baseline: trivial,
      unit: "ms",
      goal: "≤ 100 ms",
      met: metrics <= 100,
      note: `median of 50; baseline: a 204 round trip; ${(text.length / 1024).toFixed(0)} KiB, ` +
        `${series} memory series; GET /api/instances ${instances.toFixed(1)} ms`,
    }];
  } finally {
    await launcher.stop();
    await done.catch(() => {});
  }
}

/** CPU time of one sample of `n` instances, against the 1 % budget (20 ms per 2 s). */
export async function samplingRows(n: number): Promise<Row[]> {
  const { launcher, done } = await idleLauncher(n);
  try {
    const sampler = new ResourceSampler(() => launcher.list());
    sampler.sample();
    const reps = 50;
    const before = cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) sampler.sample();
    const wall = (performance.now() - t0) / reps;
    const used = cpuUsage(before);
    const cpuMs = (used.user + used.system) / 1000 / reps;
    const measured = launcher.list().filter((i) => sampler.get(i.id) !== undefined).length;
    return [{
      name: `sample CPU and memory of ${n} instances`,
      distarch: cpuMs,
      baseline: 20,
      unit: "ms CPU",
      goal: "≤ 1 % of a core at 2 s",
      met: cpuMs <= 20,
      note: `per sample, mean of ${reps}; ${(cpuMs / 2000 * 100).toFixed(2)} % of a core ` +
        `at the default 2 s; wall ${
          wall.toFixed(1)
        } ms; ${measured} measured; baseline: the budget`,
    }];
  } finally {
    await launcher.stop();
    await done.catch(() => {});
  }
}
