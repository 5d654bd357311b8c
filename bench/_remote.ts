/**
 * The remote benchmark case: fan-out to 16 loopback hosts and log relay
 * through SSH, against plain `ssh` commands measured in the same run, on one
 * sshd fixture (tests/_sshd.ts) started with an empty home and disposed at
 * the end. Needs root and /usr/sbin/sshd.
 *
 * @module
 */

import { Launcher } from "../master/launcher.ts";
import { isRawLogger, type RawLogger, writerLogger } from "../master/log.ts";
import type { GroupConfig, Logger, LogRecord } from "../master/types.ts";
import { runtimeArtifact } from "../master/transports/_upload.ts";
import { descendantsOf, type SshdFixture, startSshd } from "../tests/_sshd.ts";
import { within } from "./_distarch.ts";
import { fixture } from "./_plain.ts";
import {
  plainPerHost,
  plainPerInstance,
  plainRelay,
  plainUpload,
  type RemoteWorker,
  startMasters,
} from "./_remote_plain.ts";
import type { Row } from "./_table.ts";

const READY = fixture("ready.ts");
const LINES = fixture("r_lines.ts");
const HOSTS = 16;
const PER_HOST = 4;
const RELAY_HOSTS = 4;
const RELAY_PER_HOST = 2;
const LIMIT_MS = 120_000;

/** A logger that counts distinct instances that logged `ready`, and keeps the last problems. */
export class ReadyCount implements Logger {
  readonly #seen = new Set<number>();
  readonly #want: number;
  readonly #done = Promise.withResolvers<void>();
  readonly problems: string[] = [];

  constructor(want: number) {
    this.#want = want;
  }

  get ready(): Promise<void> {
    return this.#done.promise;
  }

  log(record: LogRecord): void {
    if (record.level === "warning" || record.level === "error") {
      this.problems.push(`${record.host ?? ""} ${record.message}`);
      if (this.problems.length > 10) this.problems.shift();
    }
    if (record.message !== "ready" || record.id === undefined) return;
    this.#seen.add(record.id);
    if (this.#seen.size === this.#want) this.#done.resolve();
  }
}

function launcher(logger: Logger): Launcher {
  return new Launcher({
    logger,
    handleSignals: false,
    timeout: 0,
    restart: "never",
    gracePeriod: 1,
  });
}

/** Runs `groups` until `logger` saw every ready line; returns the ms, then stops. */
async function timedRun(
  groups: GroupConfig[],
  logger: ReadyCount,
  what: string,
): Promise<number> {
  const l = launcher(logger);
  const t0 = performance.now();
  const done = l.run(groups);
  try {
    const early = done.then((s) => {
      throw new Error(`run() returned before all were ready: ${JSON.stringify(s.instances[0])}`);
    });
    await within(Promise.race([logger.ready, early]), LIMIT_MS, what).catch((error) => {
      throw new Error(`${error.message}; last problems: ${logger.problems.join(" | ")}`, {
        cause: error,
      });
    });
    return performance.now() - t0;
  } finally {
    await l.stop();
    await done.catch(() => {});
  }
}

function fanOutGroup(fx: SshdFixture, name = "fan", instances = PER_HOST): GroupConfig {
  return { name, command: READY, processes: [fx.remoteConfig({ instances })] };
}

/** distarch: 16 hosts × 4 instances until all are ready. */
function distarchFanOut(fx: SshdFixture): Promise<number> {
  const n = HOSTS * PER_HOST;
  return timedRun([fanOutGroup(fx)], new ReadyCount(n), `distarch start of ${n}`);
}

/**
 * distarch, warm: the same, by a second launcher while a first one (one idle
 * instance per host, same ssh config) holds every host's ControlMaster.
 */
async function distarchWarm(fx: SshdFixture, reps: number): Promise<number[]> {
  const holdLogger = new ReadyCount(HOSTS);
  const holder = launcher(holdLogger);
  const holding = holder.run([fanOutGroup(fx, "hold", 1)]);
  try {
    await within(holdLogger.ready, LIMIT_MS, "the holder's start");
    const times: number[] = [];
    for (let r = 0; r < reps; r++) {
      times.push(await distarchFanOut(fx));
      await settleOwnWorkers(fx, HOSTS);
    }
    return times;
  } finally {
    await holder.stop();
    await holding.catch(() => {});
  }
}

/** A raw text logger into a file that also counts `ready` and `line …` lines. */
function countingLogger(
  file: Deno.FsFile,
): RawLogger & { lines: () => number; readies: () => number } {
  const inner = writerLogger(file);
  if (!isRawLogger(inner)) throw new Error("the text writerLogger lost its raw fast path");
  let lines = 0;
  let readies = 0;
  return {
    log: (r) => {
      if (r.message === "ready") readies++;
      else if (r.message.startsWith("line ")) lines++;
      inner.log(r);
    },
    flush: () => inner.flush(),
    prefix: (r) => inner.prefix(r),
    raw(prefix, bytes, start, end) {
      // "line " = 6c 69 6e 65 20; "ready" = 72 65 61 64 79
      if (bytes[start] === 0x6c && bytes[start + 4] === 0x20) lines++;
      else if (end - start === 5 && bytes[start] === 0x72 && bytes[start + 4] === 0x79) readies++;
      inner.raw(prefix, bytes, start, end);
    },
    lines: () => lines,
    readies: () => readies,
  };
}

async function until(test: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error(`${what} took longer than ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function goPath(): string {
  return `/tmp/distarch-bench-go-${crypto.randomUUID()}`;
}

/**
 * distarch relay: 2 line workers on each of 4 hosts; seconds from the go
 * file's creation (all ready) until the logger got every line.
 */
async function distarchRelay(fx: SshdFixture, lines: number): Promise<number> {
  const go = goPath();
  const path = await Deno.makeTempFile({ prefix: "distarch-bench-", suffix: ".log" });
  const count = RELAY_HOSTS * RELAY_PER_HOST;
  try {
    using file = await Deno.open(path, { write: true, truncate: true });
    const logger = countingLogger(file);
    const l = launcher(logger);
    const done = l.run([{
      name: "relay",
      command: LINES,
      params: { lines, go },
      permissions: [`--allow-read=${go}`],
      processes: [
        fx.remoteConfig({ hosts: fx.hosts.slice(0, RELAY_HOSTS), instances: RELAY_PER_HOST }),
      ],
    }]);
    try {
      await until(() => logger.readies() >= count, LIMIT_MS, `starting ${count} line workers`);
      await Deno.writeTextFile(go, "");
      const t0 = performance.now();
      await until(() => logger.lines() >= count * lines, LIMIT_MS, "the remote relay");
      return (performance.now() - t0) / 1000;
    } finally {
      await l.stop();
      await done.catch(() => {});
      logger.flush();
    }
  } finally {
    await Deno.remove(path).catch(() => {});
    await Deno.remove(go).catch(() => {});
  }
}

/** The one file named `name` in the host cache (`~/.cache/distarch/<sha256>/<name>`). */
async function cached(fx: SshdFixture, name: string): Promise<string> {
  const cache = `${fx.home}/.cache/distarch`;
  const found: string[] = [];
  for await (const e of Deno.readDir(cache)) {
    const p = `${cache}/${e.name}/${name}`;
    if (await Deno.stat(p).then(() => true, () => false)) found.push(p);
  }
  if (found.length !== 1) {
    throw new Error(
      `Expected one ${name} in ${cache} after the install run, found ${found.length}`,
    );
  }
  return found[0]!;
}

/** Pids left under sshd (remote side) and under this process but outside sshd (local side). */
function leftovers(fx: SshdFixture): { remote: number[]; local: number[] } {
  const remote = descendantsOf(fx.pid);
  const skip = new Set([fx.pid, ...remote]);
  return { remote, local: descendantsOf(Deno.pid).filter((p) => !skip.has(p)) };
}

function describe(pids: number[]): string {
  return pids.map((p) => {
    try {
      return `${p} ${Deno.readTextFileSync(`/proc/${p}/cmdline`).replaceAll("\0", " ").trim()}`;
    } catch {
      return `${p} (gone)`;
    }
  }).join("; ");
}

/**
 * Waits until no process of a run is left: at most `keep` worker-bearing
 * remote sessions' processes (a holder's) may stay. Throws after 20 s.
 */
async function settleOwnWorkers(fx: SshdFixture, keepInstances = 0): Promise<void> {
  const end = Date.now() + 20_000;
  // a holder keeps, per host: sshd session procs, the agent and its instances
  const workers = () =>
    descendantsOf(fx.pid).filter((p) => {
      try {
        return Deno.readTextFileSync(`/proc/${p}/cmdline`).includes("ready.js");
      } catch {
        return false;
      }
    });
  while (true) {
    const left = keepInstances > 0 ? { remote: workers(), local: [] } : leftovers(fx);
    const n = left.remote.length + left.local.length;
    if (n <= keepInstances) return;
    if (Date.now() > end) {
      throw new Error(`processes left after a run: ${describe([...left.remote, ...left.local])}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

function best(values: number[]): number {
  return Math.min(...values);
}

/** Every remote row; `reps` runs of each fan-out and relay figure (best kept). */
export async function remoteRows(reps: number): Promise<Row[]> {
  const rows: Row[] = [];
  {
    await using fx = await startSshd({ hosts: HOSTS, seedCache: false });
    const n = HOSTS * PER_HOST;
    const runs = `best of ${reps}`;

    // install: the first run in this process on an empty home (hash, bundle, probe, upload, start)
    const install = await distarchFanOut(fx);
    await settleOwnWorkers(fx);
    const runtime = await cached(fx, "deno");
    const bundle = await cached(fx, "ready.js");
    const agent = await cached(fx, "agent.js");
    const rt = await runtimeArtifact();
    const upload = await plainUpload(fx, [rt.path, agent, bundle]);
    await Deno.remove(`${fx.home}/.bench-upload`, { recursive: true });
    rows.push({
      name: `install: ${n} on ${HOSTS} hosts, empty home`,
      distarch: install,
      baseline: upload,
      unit: "ms",
      goal: "(none: one-time)",
      met: true,
      note: `1 run; distarch = first run: hash + bundle + probe + upload of deno ` +
        `(${(rt.size / 1e6).toFixed(0)} MB), agent and worker to every host + start all 64; ` +
        `baseline = plain parallel \`ssh host 'cat > f' < f\` of the same 3 files ` +
        `(the ${HOSTS} hosts share one home here)`,
    });

    const w: RemoteWorker = { runtime, bundle };
    const perInstance: number[] = [];
    const perHost: number[] = [];
    const cold: number[] = [];
    const mux: number[] = [];
    for (let r = 0; r < reps; r++) {
      perInstance.push(await plainPerInstance(fx, w, PER_HOST));
      await settleOwnWorkers(fx);
      perHost.push(await plainPerHost(fx, w, PER_HOST));
      await settleOwnWorkers(fx);
      cold.push(await distarchFanOut(fx));
      await settleOwnWorkers(fx);
      {
        await using masters = await startMasters(fx);
        mux.push(await plainPerInstance(fx, w, PER_HOST, masters.sockets));
      }
      await settleOwnWorkers(fx);
    }
    const warm = await distarchWarm(fx, reps);
    await settleOwnWorkers(fx);
    // one host alone: the per-host latency, without 16 hosts' start-ups competing for 2 cores
    const one = { ...fx, hosts: fx.hosts.slice(0, 1) };
    const oneCold: number[] = [];
    const onePlain: number[] = [];
    for (let r = 0; r < Math.max(reps, 3); r++) {
      onePlain.push(await plainPerHost(one, w, PER_HOST));
      await settleOwnWorkers(fx);
      oneCold.push(
        await timedRun(
          [{
            name: "one",
            command: READY,
            processes: [fx.remoteConfig({ hosts: one.hosts, instances: PER_HOST })],
          }],
          new ReadyCount(PER_HOST),
          `distarch start of ${PER_HOST} on one host`,
        ),
      );
      await settleOwnWorkers(fx);
    }

    const coldNote = "cold = no ControlMaster yet (earlier launchers closed theirs), " +
      "runtime/agent/worker already in the host cache, hashes and bundles memoized in this process";
    rows.push({
      name: `cold ${n} on ${HOSTS} hosts vs one ssh per host`,
      distarch: best(cold),
      baseline: best(perHost),
      unit: "ms",
      goal: "≤ 1.0× baseline",
      met: best(cold) <= best(perHost),
      note: `${runs}; ${coldNote}; baseline (b) = ${HOSTS} parallel plain ssh, each a shell ` +
        `starting ${PER_HOST} workers`,
    });
    rows.push({
      name: `cold ${PER_HOST} on 1 host vs one ssh`,
      distarch: best(oneCold),
      baseline: best(onePlain),
      unit: "ms",
      goal: "(none)",
      met: true,
      note: `best of ${Math.max(reps, 3)}; the same as the row above on a single host: what one ` +
        "host costs when start-ups do not compete for the master's cores (the agent is one more " +
        "Deno start-up per session)",
    });
    rows.push({
      name: `cold ${n} on ${HOSTS} hosts vs one ssh per instance`,
      distarch: best(cold),
      baseline: best(perInstance),
      unit: "ms",
      goal: "(none)",
      met: true,
      note: `${runs}; baseline (a) = ${n} parallel plain ssh, one worker each`,
    });
    rows.push({
      name: `warm ${n} on ${HOSTS} hosts vs multiplexed ssh per instance`,
      distarch: best(warm),
      baseline: best(mux),
      unit: "ms",
      goal: "≤ 1.2× baseline",
      met: best(warm) <= 1.2 * best(mux),
      note: `${runs}; warm = a second launcher while a first (1 idle instance per host, ` +
        `same ssh config) holds every host's ControlMaster: distarch reuses the connection, ` +
        `not the agent session; baseline (c) = ${n} ssh sessions through ${HOSTS} warm ` +
        `ControlMasters, one worker each`,
    });

    // relay: 2 workers on each of 4 hosts; a small untimed run installs the worker first
    const lines = 250_000;
    const total = RELAY_HOSTS * RELAY_PER_HOST * lines;
    await distarchRelay(fx, 1000);
    await settleOwnWorkers(fx);
    const lw: RemoteWorker = { runtime, bundle: await cached(fx, "r_lines.js") };
    const relayTarget = { ...fx, hosts: fx.hosts.slice(0, RELAY_HOSTS) };
    const d: number[] = [];
    const p: number[] = [];
    for (let r = 0; r < reps; r++) {
      const go = goPath();
      p.push(
        await plainRelay(
          relayTarget,
          { ...lw, flags: [`--allow-read=${go}`] },
          RELAY_PER_HOST,
          lines,
          go,
        ),
      );
      await settleOwnWorkers(fx);
      d.push(await distarchRelay(fx, lines));
      await settleOwnWorkers(fx);
    }
    const dr = total / best(d);
    const pr = total / best(p);
    rows.push({
      name: `relay ${RELAY_HOSTS * RELAY_PER_HOST} × ${lines.toLocaleString("en-US")} through ssh`,
      distarch: dr,
      baseline: pr,
      unit: "lines/s",
      goal: "≥ 0.8× baseline",
      met: dr >= 0.8 * pr,
      note: `${runs}; ${RELAY_PER_HOST} workers on each of ${RELAY_HOSTS} hosts; from the go ` +
        `file (all ready) to the last line in the master's text log; baseline = one plain ` +
        `\`ssh host '<deno> run r_lines.js'\` per worker, lines counted in-process (\`| wc -l\`)`,
    });
  }
  // the fixture is gone: nothing of ours may be left
  const left = descendantsOf(Deno.pid);
  if (left.length > 0) throw new Error(`processes left after the remote bench: ${describe(left)}`);
  return rows;
}
