/**
 * Shared helpers of the launcher tests: a collecting logger, process probes
 * through /proc, polling, cleanup by a unique marker in the environment, and
 * fixtures that own a run: {@linkcode runGroups} (run to the end),
 * {@linkcode startGroups} / {@linkcode remoteRun} (`await using`, stopped and
 * cleaned up at the end of the scope) and {@linkcode masterProcess} (a master
 * in its own process).
 *
 * Assertions come from `node:assert/strict`, imported as `assert`.
 *
 * @module
 */

import type { EventHandlers, LauncherEvent } from "../master/events.ts";
import { Launcher, type LauncherOptions, type RunSummary } from "../master/launcher.ts";
import type { GroupConfig, Logger, LogRecord, ProcessConfig } from "../master/types.ts";

/** Absolute path of the fixtures directory, with a trailing slash. */
export const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;

/** Absolute path of the repository root, with a trailing slash. */
export const ROOT = new URL("../", import.meta.url).pathname;

/** Absolute path of a fixture. */
export function fixture(name: string): string {
  return FIXTURES + name;
}

/** A logger that keeps every record, plus handy queries. */
export interface Collector extends Logger {
  /** Every record, in order. */
  records: LogRecord[];
  /** Records of one instance label (`command/id/groupId`). */
  of(instance: string): LogRecord[];
  /** Records whose message contains `text`. */
  find(text: string | RegExp): LogRecord[];
  /** All records as text lines (for assertion messages). */
  dump(max?: number): string;
}

/** A logger collecting records in memory. */
export function collector(): Collector {
  const records: LogRecord[] = [];
  return {
    records,
    log(r) {
      records.push(r);
    },
    of(instance) {
      return records.filter((r) => r.instance === instance);
    },
    find(text) {
      return records.filter((r) =>
        typeof text === "string" ? r.message.includes(text) : text.test(r.message)
      );
    },
    dump(max = 80) {
      const lines = records.map((r) =>
        `${r.level} [${r.instance ?? "-"}] ${r.message.slice(0, 200)}${
          r.context ? " " + JSON.stringify(r.context).slice(0, 200) : ""
        }`
      );
      return lines.length > max
        ? [...lines.slice(0, max / 2), `… ${lines.length - max} more …`, ...lines.slice(-max / 2)]
          .join("\n")
        : lines.join("\n");
    },
  };
}

/** Event handlers collecting every event, in order. */
export function eventCollector(): { events: LauncherEvent[]; handlers: EventHandlers } {
  const events: LauncherEvent[] = [];
  const push = (e: LauncherEvent) => events.push(e);
  const handlers: EventHandlers = {
    launcherStarting: push,
    launcherStarted: push,
    check: push,
    launcherStopped: push,
    instanceCreated: push,
    instanceStarted: push,
    instanceTimedOut: push,
    instanceStopped: push,
    instanceSeen: push,
  };
  return { events, handlers };
}

/** A unique marker, put in the environment of a test's workers to find them. */
export function marker(): string {
  return `DTM${Date.now().toString(36)}${Math.random().toString(36).slice(2, 10)}`;
}

/** The state letter of a process (`R`, `S`, `Z`…), or undefined when there is none. */
export function procState(pid: number): string | undefined {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
  } catch {
    return undefined;
  }
}

/** The fields of /proc/<pid>/stat after the command name (field 3 is index 0). */
export function procStat(pid: number): string[] {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** True when `pid` is a live process (a zombie counts as gone). */
export function pidAlive(pid: number): boolean {
  const s = procState(pid);
  return s !== undefined && s !== "Z" && s !== "X";
}

/** The argv of a process, or undefined when it is gone. */
export function procCmdline(pid: number): string[] | undefined {
  try {
    const raw = Deno.readTextFileSync(`/proc/${pid}/cmdline`);
    return raw.split("\0").filter((s, i, a) => s !== "" || i < a.length - 1);
  } catch {
    return undefined;
  }
}

/** Pids of the live processes whose argv or environment contains `mark`. */
export function pidsWithMarker(mark: string): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    const pid = Number(e.name);
    if (pid === Deno.pid) continue;
    let found = false;
    for (const f of ["cmdline", "environ"]) {
      try {
        if (Deno.readTextFileSync(`/proc/${pid}/${f}`).includes(mark)) found = true;
      } catch {
        // gone, or not ours
      }
      if (found) break;
    }
    if (found && pidAlive(pid)) out.push(pid);
  }
  return out;
}

/** SIGKILLs every live process carrying `mark` (cleanup; never throws). Returns their pids. */
export function killMarked(mark: string): number[] {
  const pids = pidsWithMarker(mark);
  for (const pid of pids) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  return pids;
}

/** Polls `cond` every 20 ms until it is truthy; throws after `ms`. */
export async function waitFor<T>(
  cond: () => T | Promise<T>,
  ms = 10_000,
  what = "condition",
): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  while (true) {
    const v = await cond();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Waits until no process carries `mark` (or throws, listing them). */
export async function assertNoneLeft(mark: string, ms = 3000): Promise<void> {
  try {
    await waitFor(() => pidsWithMarker(mark).length === 0, ms, "no marked process");
  } catch {
    const pids = pidsWithMarker(mark);
    const desc = pids.map((p) => `${p}: ${procCmdline(p)?.join(" ")}`).join("\n");
    killMarked(mark);
    throw new Error(`processes left behind:\n${desc}`);
  }
}

/** Options of {@linkcode group}. */
export type GroupOptions = Partial<Omit<GroupConfig, "name" | "command">> & {
  /** Local instances (ignored when `processes` is given). @default {1} */
  instances?: number;
};

/** A group running a fixture (or any command) locally, tagged with `mark` in its env. */
export function group(
  name: string,
  command: string,
  mark: string,
  options: GroupOptions = {},
): GroupConfig {
  const { instances = 1, processes, env, ...rest } = options;
  const procs: ProcessConfig[] = processes ?? [{ type: "local", instances }];
  return {
    name,
    command: command.startsWith("/") || command.includes("/") ? command : fixture(command),
    processes: procs,
    env: { ...env, DISTARCH_TEST_MARK: mark },
    ...rest,
  };
}

/**
 * A fresh marker whose processes are killed at the end of the scope
 * (`using scope = markScope()`), for tests whose workers are started by a
 * subprocess (the CLI, a master fixture). Never throws: tests assert what is
 * left with {@linkcode assertNoneLeft}.
 */
export function markScope(): { mark: string } & Disposable {
  const mark = marker();
  return { mark, [Symbol.dispose]: () => void killMarked(mark) };
}

/** Finds the pid a `started (pid N)` record names, for one instance label. */
export function startedPids(
  records: readonly { message: string; instance?: string | undefined }[],
  instance?: string,
): number[] {
  return records
    .filter((r) => (instance === undefined || r.instance === instance))
    .map((r) => /^started \(pid (\d+)\)$/.exec(r.message)?.[1])
    .filter((x): x is string => x !== undefined)
    .map(Number);
}

/**
 * The ControlMaster socket directories of a running master (`pid`), read
 * from the `ControlPath=` of its ssh children. A master killed with SIGKILL
 * cannot remove them: a test that kills one reads them first and removes
 * them after ({@linkcode removeAll}).
 */
export function controlDirsOf(pid: number): string[] {
  const dirs = new Set<string>();
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      if (procStat(Number(e.name))[1] !== String(pid)) continue;
    } catch {
      continue; // gone
    }
    for (const arg of procCmdline(Number(e.name)) ?? []) {
      if (arg.startsWith("ControlPath=")) dirs.add(arg.slice(12).replace(/\/[^/]*$/, ""));
    }
  }
  return [...dirs];
}

/** Removes each path (recursively) that is still there. */
export async function removeAll(paths: readonly string[]): Promise<void> {
  for (const p of paths) await Deno.remove(p, { recursive: true }).catch(() => {});
}

// ------------------------------------------------------------ runs owned by a fixture

/** Options of {@linkcode startGroups}, {@linkcode runGroups} and {@linkcode remoteRun}. */
export interface RunOptions extends Omit<LauncherOptions, "logger" | "handleSignals"> {
  /**
   * Where records go instead of {@linkcode LauncherRun.log}, which then stays
   * empty (for tests of a logger itself, e.g. the text logger's raw fast path).
   * @default {LauncherRun.log}
   */
  logger?: Logger;
  /**
   * Also record `instanceSeen` events, one per output line. A `instanceSeen`
   * hook moves the launcher off its raw fast path, so it is only installed
   * when this is true or `events.instanceSeen` is given. @default {false}
   */
  collectSeen?: boolean;
  /**
   * Milliseconds {@linkcode LauncherRun.done} waits for `run()` before it
   * stops the launcher and throws. @default {20000}
   */
  within?: number;
  /**
   * Paths removed (recursively) when the run is disposed: at the end of the
   * `await using` scope, or as soon as {@linkcode runGroups} returns. @default {[]}
   */
  remove?: readonly string[];
}

/** What a run gave: its summary, every log record and every event. */
export interface RunResult {
  /** What `run()` returned. */
  summary: RunSummary;
  /** Every log record, with queries. */
  log: Collector;
  /**
   * Every event {@linkcode eventCollector} records, in order (the `events`
   * option's hooks are called too, for any kind).
   */
  events: LauncherEvent[];
}

/** A launcher running groups for a test; disposing it stops it and cleans up. */
export interface LauncherRun extends AsyncDisposable {
  /** The launcher (handleSignals off, logging into {@linkcode LauncherRun.log}). */
  launcher: Launcher;
  /** Every log record so far. */
  log: Collector;
  /** Every event so far (the kinds {@linkcode eventCollector} records). */
  events: LauncherEvent[];
  /** True once `run()` has returned (or thrown). */
  readonly returned: boolean;
  /** Waits for `run()` to return; after `within` ms stops the launcher and throws. */
  done(): Promise<RunResult>;
  /** `launcher.stop()`, then {@linkcode LauncherRun.done}. */
  stop(): Promise<RunResult>;
}

/** How long disposing a {@linkcode LauncherRun} waits for a graceful stop before it kills. */
const DISPOSE_GRACE_MS = 3000;

/** The markers ({@linkcode group}'s `DISTARCH_TEST_MARK`) of some groups. */
function marksOf(groups: readonly GroupConfig[]): string[] {
  return groups.map((g) => g.env?.DISTARCH_TEST_MARK).filter((m): m is string => m !== undefined);
}

/** Races `run` against a deadline; on timeout, stops the launcher and throws. */
async function runWithin(
  launcher: Launcher,
  run: Promise<RunSummary>,
  ms: number,
): Promise<RunSummary> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void launcher.stop();
      reject(new Error(`run() did not return within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([run, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts `groups` on a fresh Launcher (handleSignals off) that logs into a
 * collector and records every event. Use it with `await using`: at the end of
 * the scope the launcher is stopped (given 3 s, then every process carrying
 * the groups' markers is killed), `run()` awaited and `remove` paths deleted,
 * whatever happened.
 * Cleanup never throws: tests assert what is left with {@linkcode assertNoneLeft}.
 */
export function startGroups(groups: GroupConfig[], options: RunOptions = {}): LauncherRun {
  const {
    within = 20_000,
    remove = [],
    events: hooks = {},
    logger,
    collectSeen = false,
    ...launcherOptions
  } = options;
  const log = collector();
  const { events, handlers } = eventCollector();
  type Hook = ((e: LauncherEvent) => void) | undefined;
  const given = hooks as Record<string, Hook>;
  const collecting = handlers as Record<string, Hook>;
  // every hook given is installed, also of a kind `events` does not record (instanceReady…)
  const kinds = new Set([...Object.keys(collecting), ...Object.keys(given)]);
  const both = Object.fromEntries(
    [...kinds].flatMap((kind) => {
      const push = collecting[kind];
      const hook = given[kind];
      const collect = push !== undefined && (kind !== "instanceSeen" || collectSeen);
      if (!collect && hook === undefined) return [];
      return [[kind, (e: LauncherEvent) => {
        if (collect) push(e);
        hook?.(e);
      }]];
    }),
  ) as EventHandlers;
  const launcher = new Launcher({
    ...launcherOptions,
    logger: logger ?? log,
    handleSignals: false,
    events: both,
  });
  let returned = false;
  const run = launcher.run(groups).finally(() => returned = true);
  run.catch(() => {}); // observed by done(); never an unhandled rejection
  const done = async (): Promise<RunResult> => {
    const summary = await runWithin(launcher, run, within);
    return { summary, log, events };
  };
  return {
    launcher,
    log,
    events,
    get returned() {
      return returned;
    },
    done,
    async stop() {
      await launcher.stop();
      return await done();
    },
    async [Symbol.asyncDispose]() {
      // a test that failed mid-run does not wait out the grace period: a graceful stop
      // gets DISPOSE_GRACE_MS, then whatever carries the groups' markers is killed
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        launcher.stop().catch(() => {}),
        new Promise((resolve) => timer = setTimeout(resolve, DISPOSE_GRACE_MS)),
      ]);
      clearTimeout(timer);
      for (const mark of marksOf(groups)) killMarked(mark);
      await runWithin(launcher, run, within).catch(() => {});
      for (const mark of marksOf(groups)) killMarked(mark);
      await removeAll(remove);
    },
  };
}

/**
 * Runs `groups` to the end (see {@linkcode startGroups}) and returns the
 * summary, the records and the events; throws when `run()` takes longer
 * than `within` ms.
 */
export async function runGroups(
  groups: GroupConfig[],
  options: RunOptions = {},
): Promise<RunResult> {
  await using run = startGroups(groups, options);
  return await run.done();
}

/**
 * {@linkcode startGroups} with the settings of the remote tests: a 3 s SSH
 * lease, a 1 s grace period, a 60 s deadline and no adopt window, any of them
 * overridable.
 */
export function remoteRun(groups: GroupConfig[], options: RunOptions = {}): LauncherRun {
  // adoptWindow 0: a lost link stops the instances at once (the tests of the window set it)
  return startGroups(groups, {
    sshLease: 3,
    gracePeriod: 1,
    within: 60_000,
    adoptWindow: 0,
    ...options,
  });
}

/** One JSON log line of a {@linkcode MasterProcess}. */
export interface MasterRecord {
  level: string;
  message: string;
  instance?: string;
  host?: string;
  context?: Record<string, unknown>;
}

/** A master in its own process (a fixture script), its stdout split into lines. */
export interface MasterProcess extends AsyncDisposable {
  /** The subprocess. */
  child: Deno.ChildProcess;
  /** Its stdout lines so far. */
  lines: string[];
  /** Its JSON log lines so far, parsed. */
  records(): MasterRecord[];
  /** The summary it printed (`SUMMARY <json>`), or undefined. */
  summary(): RunSummary | undefined;
  /** Resolves to its status; kills it and throws after `ms`. */
  exit(ms?: number): Promise<Deno.CommandStatus>;
  /** Paths to remove (recursively) when it is disposed. */
  remove: string[];
}

/** Options of {@linkcode masterProcess}. */
export interface MasterProcessOptions {
  /** Written to its stdin, which is then closed. @default {stdin is null} */
  stdin?: string;
  /** Markers whose processes are killed when it is disposed. @default {[]} */
  marks?: string[];
}

/**
 * Starts `deno run -A script args…` (a master fixture printing JSON log
 * lines). Use it with `await using`: at the end of the scope it is killed
 * with SIGKILL if still running, its marked processes are killed and
 * `remove` paths deleted.
 */
export function masterProcess(
  script: string,
  args: string[],
  options: MasterProcessOptions = {},
): MasterProcess {
  const { stdin, marks = [] } = options;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-check", script, ...args],
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    w.write(new TextEncoder().encode(stdin)).then(() => w.close()).catch(() => {});
  }
  const lines: string[] = [];
  const reading = (async () => {
    let rest = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop() ?? "";
      lines.push(...parts);
    }
    if (rest) lines.push(rest);
  })();
  const done = Promise.all([child.status, reading]).then(([s]) => s);
  let ended = false;
  done.finally(() => ended = true).catch(() => {});
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  };
  const remove: string[] = [];
  return {
    child,
    lines,
    remove,
    records: () => lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l)),
    summary() {
      const line = lines.find((l) => l.startsWith("SUMMARY "));
      return line === undefined ? undefined : JSON.parse(line.slice(8));
    },
    async exit(ms = 10_000) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<never>((_, reject) =>
        timer = setTimeout(() => {
          kill();
          reject(new Error(`the master did not end within ${ms} ms:\n${lines.join("\n")}`));
        }, ms)
      );
      try {
        return await Promise.race([done, deadline]);
      } finally {
        clearTimeout(timer);
      }
    },
    async [Symbol.asyncDispose]() {
      if (!ended) kill();
      await done.catch(() => {});
      for (const mark of marks) killMarked(mark);
      await removeAll(remove);
    },
  };
}

/**
 * After the SIGKILL of an agent that ran `old` (their pids): each is
 * reported lost, the master kills the process groups it left, every one runs
 * again with a new pid, and a stop then stops them all.
 */
export async function assertAgentDeathRecovered(run: LauncherRun, old: number[]): Promise<void> {
  const { launcher, log: c } = run;
  const dumped = (error: Error) => {
    throw new Error(`${error.message}\n${c.dump()}`, { cause: error });
  };
  await waitFor(() => c.find(/^lost: /).length === old.length, 30_000, "every instance lost")
    .catch(dumped);
  await waitFor(() => old.every((p) => !pidAlive(p)), 10_000, "the old instances gone")
    .catch(dumped);
  if (c.find(/^killed the orphaned process groups /).length !== 1) {
    throw new Error(`the master did not kill the orphans once:\n${c.dump()}`);
  }
  await waitFor(
    () =>
      launcher.list().every((i) =>
        i.state === "running" && i.pid !== undefined && !old.includes(i.pid)
      ),
    30_000,
    "every instance running again",
  ).catch(dumped);
  const { summary } = await run.stop();
  const states = summary.instances.map((i) => i.state);
  if (states.some((s) => s !== "stopped")) throw new Error(`not all stopped: ${states.join(", ")}`);
}
