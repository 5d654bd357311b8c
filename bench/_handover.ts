/**
 * The handover benchmark case: masters in subprocesses (fixtures/h_master.ts)
 * with a state directory and an adopt window, local instances through the
 * local agent and remote ones on loopback hosts of one sshd fixture
 * (tests/_sshd.ts; needs root and /usr/sbin/sshd).
 *
 * 1. Adoption vs cold start: master A starts the fleet (cold: from A's spawn
 *    until every instance logged `started (pid …)`), is SIGKILLed, and master
 *    B adopts it (from B's spawn until every instance logged `adopted (pid …)`).
 * 2. Lines after a gap: instances print numbered lines at 1,000 lines/s; A is
 *    SIGKILLed, B starts 5 s later, runs 2 s after adopting, is stopped by
 *    SIGTERM; every number must be in A's or B's log exactly once.
 *
 * Sizes: `DISTARCH_BENCH_HANDOVER_FLEET` (default `100+16x4`: 100 local
 * instances, 16 hosts × 4) and `DISTARCH_BENCH_HANDOVER_LINES` (default
 * `4+4x1`). `DISTARCH_BENCH_HANDOVER_TRACE=1` prints every master's records but
 * the numbered lines on stderr, with ms since that master's spawn.
 *
 * Cleanup: instances carry a marker in their environment and are killed by
 * it; the processes a SIGKILLed master left (its local agent) are killed by
 * pid; its ControlMaster socket directories, the state directory and the
 * sshd fixture are removed.
 *
 * @module
 */

import type { GroupConfig } from "../master/types.ts";
import { controlDirsOf, killMarked, marker, pidsWithMarker, removeAll } from "../tests/_helpers.ts";
import { descendantsOf, type SshdFixture, startSshd } from "../tests/_sshd.ts";
import { fixture } from "./_plain.ts";
import type { Row } from "./_table.ts";

const MASTER = fixture("h_master.ts");
const LIMIT_MS = 180_000;
const GAP_MS = 5000;
const AFTER_MS = 2000;
const RATE = 1000;
const TRACE = Deno.env.get("DISTARCH_BENCH_HANDOVER_TRACE") === "1";

/** A fleet: `local` instances here, `perHost` on each of `hosts` loopback hosts. */
export interface Fleet {
  local: number;
  hosts: number;
  perHost: number;
}

/** Parses `L+HxP` (e.g. `100+16x4`); `fallback` when `text` is undefined. */
export function parseFleet(text: string | undefined, fallback: Fleet, what: string): Fleet {
  if (text === undefined || text === "") return fallback;
  const m = /^(\d+)\+(\d+)x(\d+)$/.exec(text.trim());
  if (m === null) {
    throw new TypeError(
      `Cannot run the handover bench as ${what} must look like <local>+<hosts>x<perHost> ` +
        `(e.g. 100+16x4): got ${JSON.stringify(text)}`,
    );
  }
  return { local: Number(m[1]), hosts: Number(m[2]), perHost: Number(m[3]) };
}

function total(f: Fleet): number {
  return f.local + f.hosts * f.perHost;
}

function describeFleet(f: Fleet): string {
  return `${f.local} local + ${f.hosts} hosts × ${f.perHost} remote`;
}

/** Masters running and leftovers not yet cleaned up: what an interrupt must end. */
const live = {
  masters: new Set<Master>(),
  leftovers: new Set<Leftovers>(),
  dirs: [] as string[],
};

/** One master subprocess, its JSON log read as it comes. */
class Master implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly t0 = performance.now();
  /** Instance label → pid, from `started (pid N…)` / `adopted (pid N…)`. */
  readonly started = new Map<string, number>();
  readonly adopted = new Map<string, number>();
  /** Instance label → the numbers of its `n <i>` lines. */
  readonly numbers = new Map<string, number[]>();
  readonly problems: string[] = [];
  /** What agents said in the instances' output (`[distarch: … lines lost …]`). */
  readonly agentNotes: string[] = [];
  /** Log records the master dropped because its stdout was blocked (its own count). */
  dropped = 0;
  readonly done: Promise<Deno.CommandStatus>;
  #ended = false;

  constructor(groups: GroupConfig[], options: object) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-check", MASTER],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const w = this.child.stdin.getWriter();
    w.write(new TextEncoder().encode(JSON.stringify({ groups, options })))
      .then(() => w.close()).catch(() => {});
    const reading = this.#read();
    this.done = Promise.all([this.child.status, reading]).then(([s]) => s);
    live.masters.add(this);
    this.done.finally(() => {
      this.#ended = true;
      live.masters.delete(this);
    }).catch(() => {});
  }

  async #read(): Promise<void> {
    let rest = "";
    for await (const chunk of this.child.stdout.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop() ?? "";
      for (const line of parts) this.#line(line);
    }
    if (rest !== "") this.#line(rest);
  }

  #line(line: string): void {
    if (!line.startsWith("{")) return;
    const r = JSON.parse(line) as { level: string; message: string; instance?: string };
    const label = r.instance;
    if (TRACE && !r.message.startsWith("n ")) {
      console.error(`${(performance.now() - this.t0).toFixed(0)} ms ${label ?? "-"} ${r.message}`);
    }
    if (label !== undefined && r.message.startsWith("n ")) {
      let list = this.numbers.get(label);
      if (list === undefined) this.numbers.set(label, list = []);
      list.push(Number(r.message.slice(2)));
      return;
    }
    if (r.message.startsWith("[distarch: ")) this.agentNotes.push(`${label}: ${r.message}`);
    const dropped = /^(\d+) log records? dropped/.exec(r.message);
    if (dropped !== null) this.dropped += Number(dropped[1]);
    if (r.level === "warning" || r.level === "error") {
      this.problems.push(`${r.level} [${label ?? "-"}] ${r.message}`);
      if (this.problems.length > 10) this.problems.shift();
    }
    if (label === undefined) return;
    const m = /^(started|adopted) \(pid (\d+)/.exec(r.message);
    if (m !== null) (m[1] === "started" ? this.started : this.adopted).set(label, Number(m[2]));
  }

  /** ms from spawn until `test` holds (polled every 5 ms); throws after LIMIT_MS or at exit. */
  async until(test: () => boolean, what: string): Promise<number> {
    const end = Date.now() + LIMIT_MS;
    while (!test()) {
      if (this.#ended) throw new Error(`the master ended before ${what}: ${this.#why()}`);
      if (Date.now() > end) throw new Error(`${what} took over ${LIMIT_MS} ms: ${this.#why()}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return performance.now() - this.t0;
  }

  #why(): string {
    return `${this.started.size} started, ${this.adopted.size} adopted; last problems: ` +
      (this.problems.join(" | ") || "none");
  }

  /**
   * SIGKILLs it; returns what it left: its descendants (the local agent, ssh)
   * and ControlMaster directories, to remove once the run is over.
   */
  async kill(): Promise<{ pids: Map<number, string>; dirs: string[] }> {
    const pids = new Map(descendantsOf(this.child.pid).map((p) => [p, cmdline(p)]));
    const dirs = controlDirsOf(this.child.pid);
    this.child.kill("SIGKILL");
    await this.done;
    return { pids, dirs };
  }

  /** SIGTERM, then waits for its end (SIGKILL after LIMIT_MS). */
  async stop(): Promise<void> {
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.#kill(), LIMIT_MS);
    await this.done;
    clearTimeout(timer);
  }

  #kill(): void {
    try {
      this.child.kill("SIGKILL");
    } catch { /* gone */ }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#ended) this.#kill();
    await this.done.catch(() => {});
  }
}

function cmdline(pid: number): string {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`);
  } catch {
    return "";
  }
}

/** What one handover left behind, removed by {@linkcode cleanup}. */
interface Leftovers {
  mark: string;
  stateDir: string;
  pids: Map<number, string>;
  dirs: string[];
}

/** Kills the marked instances and the processes a killed master left; removes its dirs. */
async function cleanup(left: Leftovers, waitMs = 15_000): Promise<void> {
  const end = Date.now() + waitMs;
  while (pidsWithMarker(left.mark).length > 0 && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 25));
  }
  killMarked(left.mark);
  // the left master's agent ends with its last instance; kill it if not (same pid, same argv)
  for (const [pid, argv] of left.pids) {
    if (argv !== "" && cmdline(pid) === argv) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* gone */ }
    }
  }
  await removeAll([left.stateDir, ...left.dirs]);
  live.leftovers.delete(left);
}

/** A fresh marker and state directory for one handover, cleaned up by {@linkcode cleanup}. */
async function leftovers(): Promise<Leftovers> {
  const left: Leftovers = {
    mark: marker(),
    stateDir: await Deno.makeTempDir({ prefix: "distarch-bench-state-" }),
    pids: new Map(),
    dirs: [],
  };
  live.leftovers.add(left);
  return left;
}

/**
 * Waits up to `waitMs` for the hosts' agents (processes run from the
 * fixture's home) to end, then SIGKILLs them. An agent whose master was
 * SIGKILLed outlives its session (the adopt window): the fixture, which ends
 * what is under its sshd, no longer sees it. Returns what was killed (pid, argv).
 */
async function endAgents(fx: SshdFixture, waitMs: number): Promise<string[]> {
  const ours = () =>
    [...Deno.readDirSync("/proc")].map((e) => Number(e.name))
      .filter((pid) => Number.isInteger(pid) && pid !== Deno.pid && cmdline(pid).includes(fx.home));
  const end = Date.now() + waitMs;
  while (ours().length > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
  const left = ours();
  const said = left.map((pid) => {
    const argv = cmdline(pid).replaceAll(fx.home, "~").replaceAll("\0", " ").trim();
    return `pid ${pid} (${argv.slice(0, 200)})`;
  });
  for (const pid of left) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  }
  return said;
}

/**
 * On SIGINT or SIGTERM during the case: SIGKILLs every master with what it
 * started (its local agent, ssh), the marked instances, then stops `fx` and
 * exits with 128 + the signal's number.
 */
function onInterrupt(fx: SshdFixture & AsyncDisposable): () => void {
  const signals = ["SIGINT", "SIGTERM"] as const;
  const handlers = signals.map((signal) => {
    const handler = async () => {
      console.error(`handover bench: ${signal}, cleaning up`);
      for (const m of live.masters) {
        live.dirs.push(...controlDirsOf(m.child.pid));
        for (const pid of [m.child.pid, ...descendantsOf(m.child.pid)]) {
          try {
            Deno.kill(pid, "SIGKILL");
          } catch { /* gone */ }
        }
      }
      for (const left of [...live.leftovers]) await cleanup(left, 0);
      await removeAll(live.dirs);
      await endAgents(fx, 0);
      try {
        await fx[Symbol.asyncDispose]();
      } catch { /* exiting anyway */ }
      Deno.exit(signal === "SIGINT" ? 130 : 143);
    };
    Deno.addSignalListener(signal, handler);
    return handler;
  });
  return () => signals.forEach((signal, i) => Deno.removeSignalListener(signal, handlers[i]!));
}

function groupsFor(
  fx: SshdFixture,
  f: Fleet,
  command: string,
  mark: string,
  params: Record<string, unknown> = {},
): GroupConfig[] {
  const env = { DISTARCH_TEST_MARK: mark };
  const groups: GroupConfig[] = [];
  if (f.local > 0) {
    groups.push({
      name: "L",
      command,
      params,
      env,
      timeout: 0,
      processes: [{ type: "local", instances: f.local }],
    });
  }
  if (f.hosts * f.perHost > 0) {
    groups.push({
      name: "R",
      command,
      params,
      env,
      timeout: 0,
      processes: [fx.remoteConfig({ hosts: fx.hosts.slice(0, f.hosts), instances: f.perHost })],
    });
  }
  return groups;
}

function options(stateDir: string, adoptWindow: number): object {
  return { gracePeriod: 1, sshLease: 5, adoptWindow, stateDir, restart: "never" };
}

/** One cold start by A, SIGKILL, adoption by B; ms of each. */
async function adoptionOnce(
  fx: SshdFixture,
  f: Fleet,
): Promise<{ cold: number; adopt: number; samePids: number }> {
  const n = total(f);
  const left = await leftovers();
  try {
    const groups = groupsFor(fx, f, fixture("idle.sh"), left.mark);
    const opts = options(left.stateDir, 60);
    let started: Map<string, number>;
    let cold: number;
    {
      await using a = new Master(groups, opts);
      cold = await a.until(() => a.started.size === n, `A's start of ${n}`);
      started = a.started;
      await new Promise((r) => setTimeout(r, 500)); // the state file has the last pid
      Object.assign(left, await a.kill());
    }
    await using b = new Master(groups, opts);
    const adopt = await b.until(
      () => b.adopted.size + b.started.size >= n,
      `B's adoption of ${n}`,
    );
    const samePids = [...b.adopted].filter(([label, pid]) => started.get(label) === pid).length;
    await b.stop();
    return { cold, adopt, samePids };
  } finally {
    await cleanup(left);
  }
}

/** Per instance: lines lost (missing numbers up to the highest seen) and duplicated. */
function gaps(a: Master, b: Master) {
  const labels = new Set([...a.numbers.keys(), ...b.numbers.keys()]);
  const lost: number[] = [];
  const dup: number[] = [];
  let lines = 0;
  let across = 0;
  const where: string[] = [];
  for (const label of labels) {
    const fromA = a.numbers.get(label) ?? [];
    const fromB = b.numbers.get(label) ?? [];
    const all = [...fromA, ...fromB];
    const distinct = new Set(all);
    const top = Math.max(...all);
    lines += all.length;
    lost.push(top + 1 - distinct.size);
    dup.push(all.length - distinct.size);
    const inA = new Set(fromA);
    const both = fromB.filter((x) => inA.has(x));
    across += both.length;
    if (both.length > 0) {
      where.push(
        `${label}: ${both.length} (${Math.min(...both)}…${Math.max(...both)}, A's last ${
          fromA.at(-1)
        })`,
      );
    }
  }
  return { lost, dup, lines, across, where };
}

/** Lines after a gap: A SIGKILLed, 5 s without master, B adopts, runs 2 s, SIGTERM. */
async function linesOnce(fx: SshdFixture, f: Fleet) {
  const n = total(f);
  const left = await leftovers();
  try {
    const groups = groupsFor(fx, f, fixture("h_numbered.ts"), left.mark, { rate: RATE });
    const opts = options(left.stateDir, 30);
    await using a = new Master(groups, opts);
    await a.until(
      () => a.numbers.size === n && [...a.numbers.values()].every((l) => l.length >= RATE),
      `${n} instances printing for 1 s`,
    );
    Object.assign(left, await a.kill());
    const killed = performance.now();
    await new Promise((r) => setTimeout(r, GAP_MS));
    await using b = new Master(groups, opts);
    const adoptMs = await b.until(
      () => b.adopted.size + b.started.size >= n,
      `B's adoption of ${n}`,
    );
    const gapMs = performance.now() - killed;
    await new Promise((r) => setTimeout(r, AFTER_MS));
    await b.stop();
    return {
      ...gaps(a, b),
      gapMs,
      adoptMs,
      adopted: b.adopted.size,
      n,
      problems: b.problems,
      agentNotes: b.agentNotes,
      dropped: a.dropped + b.dropped,
    };
  } finally {
    await cleanup(left);
  }
}

function best(values: number[]): number {
  return Math.min(...values);
}

function ms(values: number[]): string {
  return values.map((v) => v.toFixed(0)).join(", ");
}

/** Every handover row; `reps` runs of each part. */
export async function handoverRows(reps: number): Promise<Row[]> {
  const fleet = parseFleet(
    Deno.env.get("DISTARCH_BENCH_HANDOVER_FLEET"),
    { local: 100, hosts: 16, perHost: 4 },
    "DISTARCH_BENCH_HANDOVER_FLEET",
  );
  const small = parseFleet(
    Deno.env.get("DISTARCH_BENCH_HANDOVER_LINES"),
    { local: 4, hosts: 4, perHost: 1 },
    "DISTARCH_BENCH_HANDOVER_LINES",
  );
  const rows: Row[] = [];
  {
    await using fx = await startSshd({ hosts: Math.max(fleet.hosts, small.hosts, 1) });
    using _signals = { [Symbol.dispose]: onInterrupt(fx) };
    const n = total(fleet);
    const cold: number[] = [];
    const adopt: number[] = [];
    let samePids = n;
    for (let r = 0; r < reps; r++) {
      const one = await adoptionOnce(fx, fleet);
      cold.push(one.cold);
      adopt.push(one.adopt);
      samePids = Math.min(samePids, one.samePids);
    }
    rows.push({
      name: `adopt ${n} (${describeFleet(fleet)}) vs cold start`,
      distarch: best(adopt),
      baseline: best(cold),
      unit: "ms",
      goal: "< 1.0× baseline",
      met: best(adopt) < best(cold) && samePids === n,
      note: `best of ${reps} (adopt: ${ms(adopt)}; cold: ${ms(cold)}); sh workers (exec sleep); ` +
        `cold = from master A's spawn until every instance logged \`started (pid\`; adopt = ` +
        `from master B's spawn, after A's SIGKILL, until every instance logged \`adopted (pid\`; ` +
        `the same pids in every run: ${samePids === n ? "yes" : `no, ${samePids} of ${n}`}; ` +
        `both include a Deno start of the master; the first cold run also uploads agent.js ` +
        `to each host (the runtime is seeded); B re-attaches to the local agent and to one ` +
        `agent per host over a new ControlMaster (DISTARCH_BENCH_HANDOVER_TRACE=1 shows each)`,
    });

    const m = total(small);
    const runs = [];
    for (let r = 0; r < reps; r++) runs.push(await linesOnce(fx, small));
    const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
    const lost = runs.map((x) => sum(x.lost));
    const dup = runs.map((x) => sum(x.dup));
    const maxLost = Math.max(...runs.flatMap((x) => x.lost));
    const maxDup = Math.max(...runs.flatMap((x) => x.dup));
    // lines at risk: printed while no master read them (SIGKILL of A to adoption by B)
    const atRisk = Math.round(Math.max(...runs.map((x) => x.gapMs)) * RATE / 1000);
    const adopted = Math.min(...runs.map((x) => x.adopted));
    const where = `${describeFleet(small)} at ${RATE.toLocaleString("en-US")} lines/s each ` +
      `(a small fleet, so that 2 cores are not the bottleneck)`;
    const notes = `worst of ${reps}; ${where}; gaps (SIGKILL of A → all adopted by B) ` +
      `${ms(runs.map((x) => x.gapMs))} ms; adopted ${adopted} of ${m}; ` +
      `B's spawn → all adopted ${ms(runs.map((x) => x.adoptMs))} ms; ` +
      `lines seen per run ${runs.map((x) => x.lines.toLocaleString("en-US")).join(", ")}; ` +
      `log records the masters dropped (stdout blocked) ${
        runs.map((x) => x.dropped).join(", ")
      }; ` +
      `agents' notes ${runs.map((x) => x.agentNotes.length).join(", ")}` +
      (runs.some((x) => x.agentNotes.length > 0)
        ? ` (${runs.flatMap((x) => x.agentNotes).slice(0, 2).join("; ")})`
        : "") +
      `; duplicated across A and B ${runs.map((x) => x.across).join(", ")}` +
      (runs.some((x) => x.where.length > 0)
        ? ` (${runs.flatMap((x) => x.where).slice(0, 4).join("; ")})`
        : "") +
      (runs.some((x) => x.problems.length > 0)
        ? `; B's warnings: ${runs.flatMap((x) => x.problems).slice(0, 3).join(" | ")}`
        : "");
    rows.push({
      name: `lines lost, total (${m} instances)`,
      distarch: Math.max(...lost),
      baseline: atRisk * m,
      unit: "lines",
      goal: "0 (baseline = lines at risk)",
      met: Math.max(...lost) === 0 && adopted === m,
      note: notes,
    });
    rows.push({
      name: "lines lost, max per instance",
      distarch: maxLost,
      baseline: atRisk,
      unit: "lines",
      goal: "0",
      met: maxLost === 0,
      note: `baseline = ${RATE} lines/s × the longest gap`,
    });
    rows.push({
      name: `lines duplicated, total (${m} instances)`,
      distarch: Math.max(...dup),
      baseline: atRisk * m,
      unit: "lines",
      goal: "0",
      met: Math.max(...dup) === 0,
      note: "a line in both A's and B's log, or twice in one",
    });
    rows.push({
      name: "lines duplicated, max per instance",
      distarch: maxDup,
      baseline: atRisk,
      unit: "lines",
      goal: "0",
      met: maxDup === 0,
    });
    // B stopped them all: the hosts' agents end with their last instance
    const stray = await endAgents(fx, 15_000);
    if (stray.length > 0) {
      for (const row of rows) row.met = false;
      rows[0]!.note += `; **${stray.length} processes of the hosts still ran 15 s after the ` +
        `last master stopped** (killed): ${stray.join("; ")}`;
    }
  }
  const left = descendantsOf(Deno.pid);
  if (left.length > 0) {
    throw new Error(`processes left after the handover bench: ${left.map(cmdline).join("; ")}`);
  }
  return rows;
}
