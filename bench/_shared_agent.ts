/**
 * How many host agents a run keeps, what they weigh and how long a cold
 * start takes: 2 groups × 16 loopback hosts, 1 instance per group and host,
 * on one sshd fixture (tests/_sshd.ts, its host cache seeded with this
 * Deno). Each run is a fresh launcher (new ControlMasters, new sessions, new
 * agents); the first run also uploads the agent and the worker bundle, the
 * others find them cached. Needs root and /usr/sbin/sshd.
 *
 * Self-contained on purpose (imports only what every version of the repo
 * has), so that it can be run against an older checkout:
 *
 * ```sh
 * deno run -A bench/_shared_agent.ts [--runs=4]
 * ```
 *
 * @module
 */

import { Launcher } from "../master/launcher.ts";
import type { GroupConfig } from "../master/types.ts";
import { ReadyCount } from "./_remote.ts";
import { descendantsOf, type SshdFixture, startSshd } from "../tests/_sshd.ts";

const HOSTS = 16;
const GROUPS = 2;
const LIMIT_MS = 120_000;
const READY = new URL("./fixtures/ready.ts", import.meta.url).pathname;

/** One run's figures. */
interface Sample {
  /** From `run()` to the last instance's `ready` line, in ms. */
  startMs: number;
  /** Agent processes on the hosts. */
  agents: number;
  /** Their total VmRSS, in KiB. */
  agentRssKiB: number;
  /** The master's ssh clients of agent sessions. */
  sessions: number;
}

function cmdline(pid: number): string[] {
  try {
    return Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0").filter((a) => a !== "");
  } catch {
    return [];
  }
}

/** VmRSS of `pid` in KiB (0 when it is gone). */
function rssKiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m === null ? 0 : Number(m[1]);
  } catch {
    return 0;
  }
}

/** The agents under `fx`: its cached runtime, started with `--lease=`. */
function agents(fx: SshdFixture): number[] {
  return descendantsOf(fx.pid).filter((pid) => {
    const argv = cmdline(pid);
    return argv[0]?.startsWith(fx.home) === true && argv.some((a) => a.startsWith("--lease="));
  });
}

/** This process's ssh clients of agent sessions to `fx`. */
function sessions(fx: SshdFixture): number[] {
  return descendantsOf(Deno.pid).filter((pid) => {
    const argv = cmdline(pid);
    return /(^|\/)ssh$/.test(argv[0] ?? "") && argv.some((a) => a.includes(fx.knownHostsFile)) &&
      argv.some((a) => a.includes("--lease="));
  });
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls until `cond()` holds, at most `ms`. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One cold start of every group, measured, then a stop. */
async function sample(fx: SshdFixture): Promise<Sample> {
  const groups: GroupConfig[] = Array.from({ length: GROUPS }, (_, i) => ({
    name: `g${i + 1}`,
    command: READY,
    processes: [fx.remoteConfig({ instances: 1 })],
  }));
  const logger = new ReadyCount(GROUPS * HOSTS);
  const launcher = new Launcher({
    logger,
    handleSignals: false,
    timeout: 0,
    restart: "never",
    gracePeriod: 1,
  });
  const t0 = performance.now();
  const done = launcher.run(groups);
  try {
    const early = done.then((s) => {
      throw new Error(`run() returned before all were ready: ${JSON.stringify(s.instances[0])}`);
    });
    await within(Promise.race([logger.ready, early]), LIMIT_MS, "the start").catch((error) => {
      throw new Error(`${error.message}; last problems: ${logger.problems.join(" | ")}`, {
        cause: error,
      });
    });
    const startMs = performance.now() - t0;
    const pids = agents(fx);
    return {
      startMs,
      agents: pids.length,
      agentRssKiB: pids.reduce((n, pid) => n + rssKiB(pid), 0),
      sessions: sessions(fx).length,
    };
  } finally {
    await launcher.stop();
    await done.catch(() => {});
    // the next run starts with no agent of this one left
    await until(() => agents(fx).length === 0, 20_000, "the agents to end");
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}

if (import.meta.main) {
  const runs = Number(Deno.args.find((a) => a.startsWith("--runs="))?.slice(7) ?? 4);
  await using fx = await startSshd({ hosts: HOSTS });
  const samples: Sample[] = [];
  for (let i = 0; i < runs; i++) samples.push(await sample(fx));
  const [first, ...rest] = samples as [Sample, ...Sample[]];
  const cached = rest.length > 0 ? rest : [first];
  console.log(`${GROUPS} groups × ${HOSTS} hosts × 1 instance, ${runs} runs`);
  console.log("| run | agents | agent RSS total (MiB) | ssh sessions | start (ms) |");
  console.log("|---|--:|--:|--:|--:|");
  samples.forEach((s, i) => {
    console.log(
      `| ${i + 1}${i === 0 ? " (uploads)" : ""} | ${s.agents} | ${
        (s.agentRssKiB / 1024).toFixed(1)
      } | ${s.sessions} | ${s.startMs.toFixed(0)} |`,
    );
  });
  console.log(
    `median of the cached runs: ${median(cached.map((s) => s.startMs)).toFixed(0)} ms, ` +
      `agent RSS ${(median(cached.map((s) => s.agentRssKiB)) / 1024).toFixed(1)} MiB`,
  );
  console.log(`JSON ${JSON.stringify(samples)}`);
}
