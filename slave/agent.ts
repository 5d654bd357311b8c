/**
 * The host agent: run at the far end of one SSH session as
 * `deno run -A agent.js --lease=<ms> --grace=<ms> --cache=<dir> [--measure=<ms>]`. It starts
 * the instances the master asks for (with {@linkcode spawnProcess}), relays
 * their output as frames of the agent protocol, obeys signals and forwards
 * further stdin lines to them; every `measure` ms it sends the CPU seconds
 * and resident memory of each running instance's process group (a `res`
 * event, read from procfs). In a start
 * command's argv, `@deno` as the program is this agent's own runtime and a
 * word `@cache/<sha256>/<name>` is that file of the host cache (`--cache`).
 *
 * It never leaves an orphan: when its stdin ends, when no command came from
 * the master for `lease` ms, when its stdout breaks or when it gets
 * SIGTERM/SIGHUP/SIGINT, it says `stopping` (with why), sends SIGTERM to every
 * instance's process group, waits `grace` ms, sends SIGKILL to the groups
 * still there, then exits. The exits of the instances it stopped so carry
 * `lost` (the reason): they did not end by themselves.
 *
 * @module
 */

import { delay } from "../_shared/delay.ts";
import { errorMessage } from "../_shared/errors.ts";
import { readProcessGroups } from "../_shared/proc.ts";
import { type RunningInstance, spawnProcess } from "../_shared/spawn.ts";
import {
  AGENT_MAGIC,
  AGENT_PROTOCOL_VERSION,
  type AgentCommand,
  type AgentEvent,
  encodeEvent,
  FRAME,
  type ResourceRow,
} from "../protocol/agent.ts";
import { BatchWriter, type WriteAll } from "./_agent_out.ts";

/** Options of {@linkcode runAgent}. */
export interface AgentOptions {
  /** Where commands come from (the agent's stdin). */
  input: ReadableStream<Uint8Array>;
  /** Where frames go (the agent's stdout). */
  write: WriteAll;
  /** Milliseconds without a command from the master after which everything stops. @default {10000} */
  lease?: number;
  /** Milliseconds between SIGTERM and SIGKILL when stopping everything. @default {5000} */
  grace?: number;
  /** Milliseconds between two `hb` events to the master. @default {min(1500, lease / 4)} */
  heartbeat?: number;
  /**
   * Milliseconds between two `res` events (the CPU and memory of the running
   * instances, from procfs); 0 = never. @default {2000}
   */
  measure?: number;
  /** The host cache directory, for `@cache/<sha256>/<name>` words of argv. @default {$HOME/.cache/distarch} */
  cache?: string;
  /** Diagnostics (never the protocol stream). @default {a line on stderr} */
  warn?: (message: string) => void;
}

const encoder = new TextEncoder();
const SIGNALS: ReadonlySet<string> = new Set(["SIGTERM", "SIGKILL", "SIGINT", "SIGHUP"]);
/** Bytes queued for the master above which the agent stops reading its instances. */
const QUEUE_LIMIT = 8 * 1024 * 1024;
const CACHED = /^@cache\/([0-9a-f]{64}\/[\w.-]+)$/;

/** `argv` with `@deno` (as the program) and `@cache/<sha256>/<name>` words resolved. */
function resolveArgv(argv: readonly string[], cache: string): string[] {
  return argv.map((word, i) => {
    // Linux names a replaced executable "<path> (deleted)"; the cache put the same bytes there
    if (i === 0 && word === "@deno") return Deno.execPath().replace(/ \(deleted\)$/, "");
    const m = CACHED.exec(word);
    return m === null ? word : `${cache}/${m[1]}`;
  });
}

/** Splits a byte stream into text lines (without their `\n`). */
async function* lines(input: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let rest = "";
  for await (const chunk of input) {
    rest += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = rest.indexOf("\n")) >= 0) {
      yield rest.slice(0, nl);
      rest = rest.slice(nl + 1);
    }
  }
  rest += decoder.decode();
  if (rest !== "") yield rest;
}

/**
 * Runs the agent until its link ends; resolves with the reason everything
 * was stopped, once every instance is gone and the last frames were written.
 */
export async function runAgent(options: AgentOptions): Promise<string> {
  const {
    input,
    write,
    lease = 10_000,
    grace = 5_000,
    heartbeat = Math.min(1500, lease / 4),
    measure = 2000,
    cache = `${Deno.env.get("HOME") ?? ""}/.cache/distarch`,
    warn = (m: string) => console.error(`distarch agent: ${m}`),
  } = options;
  const running = new Map<number, { instance: RunningInstance; done: Promise<void> }>();
  let lastCommand = Date.now();
  let stopReason: string | undefined;
  let stopped: (reason: string) => void = () => {};
  const stoppedP = new Promise<string>((resolve) => stopped = resolve);

  const out = new BatchWriter(write, (error) => {
    stopAll(`stdout broke: ${errorMessage(error)}`);
  });
  const send = (event: AgentEvent) => out.push(encodeEvent(event));

  function start(key: number, spec: Extract<AgentCommand, { t: "start" }>["spec"]): void {
    if (stopReason !== undefined || running.has(key)) {
      send({ t: "error", key, message: stopReason ?? `key ${key} is already running` });
      return;
    }
    const argv = resolveArgv(spec.argv, cache);
    let instance: RunningInstance;
    try {
      instance = spawnProcess({ ...spec, argv }, (stream, chunk) => {
        out.pushFrame(stream === "stdout" ? FRAME.stdout : FRAME.stderr, key, chunk);
        // a slow link: stop reading this instance until the queue is written, so memory stays bounded
        return out.queued > QUEUE_LIMIT ? out.flush() : undefined;
      });
    } catch (error) {
      send({ t: "error", key, message: errorMessage(error) });
      return;
    }
    send({ t: "started", key, pid: instance.pid });
    const done = instance.status.then((st) => {
      running.delete(key);
      // stopped by us, not by the master: never a clean end, whatever its exit code
      const lost = stopReason === undefined ? {} : { lost: stopReason };
      send({ t: "exit", key, code: st.code, signal: st.signal, ...lost });
    });
    running.set(key, { instance, done });
  }

  function handle(line: string): void {
    lastCommand = Date.now();
    if (line.trim() === "") return;
    let cmd: AgentCommand;
    try {
      cmd = JSON.parse(line) as AgentCommand;
    } catch {
      warn(`ignoring a line that is not JSON: ${line.slice(0, 80)}`);
      return;
    }
    switch (cmd.t) {
      case "start":
        start(cmd.key, cmd.spec);
        break;
      case "signal":
        if (SIGNALS.has(cmd.signal)) running.get(cmd.key)?.instance.kill(cmd.signal);
        break;
      case "stdin":
        if (typeof cmd.text === "string") running.get(cmd.key)?.instance.send(cmd.text);
        break;
      case "hb":
        break;
      case "bye":
        stopAll("the master said bye");
        break;
      default:
        warn(`ignoring an unknown command: ${line.slice(0, 80)}`);
    }
  }

  async function stopAll(reason: string): Promise<void> {
    if (stopReason !== undefined) return;
    stopReason = reason;
    clearInterval(timer);
    send({ t: "stopping", reason });
    const all = () => Promise.all([...running.values()].map((r) => r.done));
    if (running.size > 0) {
      for (const { instance } of running.values()) instance.kill("SIGTERM");
      let timeout: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([all(), new Promise((r) => timeout = setTimeout(r, grace))]);
      clearTimeout(timeout);
      for (const { instance } of running.values()) instance.kill("SIGKILL");
      await Promise.race([all(), delay(2000)]);
    }
    await Promise.race([out.flush(), delay(1000)]);
    stopped(reason);
  }

  let lastMeasure = Date.now();
  let measuring = measure > 0;
  /** One procfs pass over every running instance's process group, sent as a `res` event. */
  function sendResources(now: number): void {
    lastMeasure = now;
    if (running.size === 0) return;
    const keys = new Map<number, number>(); // pid (group leader) → key
    for (const [key, r] of running) keys.set(r.instance.pid, key);
    let read: ReturnType<typeof readProcessGroups>;
    try {
      read = readProcessGroups(keys.keys());
    } catch (error) {
      measuring = false; // no procfs here (not Linux): the instances go unmeasured
      warn(`cannot measure the instances: ${errorMessage(error)}`);
      return;
    }
    const v: ResourceRow[] = [];
    for (const [pid, g] of read) v.push([keys.get(pid)!, pid, g.cpuSeconds, g.rss]);
    if (v.length > 0) send({ t: "res", time: now, v });
  }

  const onSignal = () => stopAll("the agent got a signal");
  const signals: Deno.Signal[] = ["SIGTERM", "SIGHUP", "SIGINT"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);
  let lastBeat = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    if (now - lastCommand > lease) {
      stopAll(`no command from the master for ${now - lastCommand} ms (lease ${lease} ms)`);
    } else if (now - lastBeat >= heartbeat) {
      lastBeat = now;
      send({ t: "hb" });
    }
    if (measuring && stopReason === undefined && now - lastMeasure >= measure) sendResources(now);
  }, Math.max(50, Math.min(heartbeat, lease, measure || heartbeat) / 4));

  out.push(encoder.encode(AGENT_MAGIC));
  send({ t: "ready", v: AGENT_PROTOCOL_VERSION, pid: Deno.pid, lease });

  (async () => {
    try {
      for await (const line of lines(input)) handle(line);
      stopAll("stdin closed");
    } catch (error) {
      stopAll(`stdin broke: ${errorMessage(error)}`);
    }
  })();

  try {
    return await stoppedP;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
  }
}

function stringArg(args: string[], name: string): string | undefined {
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

function intArg(args: string[], name: string, fallback: number): number {
  const arg = args.find((a) => a.startsWith(`--${name}=`));
  if (arg === undefined) return fallback;
  const value = Number(arg.slice(name.length + 3));
  if (!Number.isInteger(value) || value <= 0) {
    throw new TypeError(
      `Invalid --${name}: must be a positive integer of ms: current value is ${arg}`,
    );
  }
  return value;
}

if (import.meta.main) {
  const cache = stringArg(Deno.args, "cache");
  const writer = Deno.stdout.writable.getWriter();
  const reason = await runAgent({
    input: Deno.stdin.readable,
    write: (bytes) => writer.write(bytes),
    lease: intArg(Deno.args, "lease", 10_000),
    grace: intArg(Deno.args, "grace", 5_000),
    measure: intArg(Deno.args, "measure", 2_000),
    ...(cache ? { cache } : {}),
  });
  if (!/bye|stdin closed/.test(reason)) console.error(`distarch agent: stopped: ${reason}`);
  Deno.exit(0);
}
