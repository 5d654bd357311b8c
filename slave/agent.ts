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
 * With an adopt window (`--adopt=<ms>:<run-id>/<agent-id>`, and the secret
 * in a first `hello` command), a lost link does not stop anything at once:
 * the agent keeps its instances and their output (numbered frames in a
 * bounded {@linkcode ReplayBuffer}) for up to the window, and listens on a
 * Unix socket of the host cache (`_agent_socket.ts`). A new SSH session of
 * the same master reaches it there through `agent.js --connect=…`, shows the
 * secret in `attach`, and gets the running instances and every frame after
 * the last one it acknowledged. When nobody attaches within the window, it
 * stops everything as above.
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
  encodeFrame,
  FRAME,
  REFUSED_MARK,
  type ResourceRow,
} from "../protocol/agent.ts";
import { BatchWriter, type WriteAll } from "./_agent_out.ts";
import { ReplayBuffer } from "./_agent_replay.ts";
import { connect, listenSocket, SOCKET_KEY, socketPath } from "./_agent_socket.ts";

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
  /**
   * Milliseconds the instances outlive a lost link, waiting for the master to
   * re-attach through the socket `socket` names; 0 = they are stopped at once.
   * @default {0}
   */
  adopt?: number;
  /** `<run-id>/<agent-id>`: the socket under `<cache>/run/` (with `adopt`). */
  socket?: string;
}

/** Bytes of frames kept for a re-attaching master, per running instance (4 MiB, at least 8 MiB). */
const REPLAY_PER_INSTANCE = 4 * 1024 * 1024;

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
    warn: warnTo = (m: string) => console.error(`distarch agent: ${m}`),
    adopt = 0,
    socket,
  } = options;
  const running = new Map<number, { instance: RunningInstance; done: Promise<void> }>();
  let lastCommand = Date.now();
  let stopReason: string | undefined;
  let stopped: (reason: string) => void = () => {};
  const stoppedP = new Promise<string>((resolve) => stopped = resolve);
  /** Frames kept for a re-attaching master: only with an adopt window. */
  const replay = adopt > 0 && socket !== undefined
    ? new ReplayBuffer(() => Math.max(2, running.size) * REPLAY_PER_INSTANCE)
    : undefined;
  let secret: string | undefined;
  let door: ReturnType<typeof listenSocket> | undefined;
  /** The link to the master, if one is attached. */
  let link: { id: number; out: BatchWriter; close?: () => void } | undefined;
  let links = 0;
  /** Since when no link is attached, and why (with an adopt window). */
  let detached: { since: number; why: string } | undefined;
  // the first link's stderr is gone with it: say nothing more there
  const warn = (m: string) => {
    if (links <= 1 && detached === undefined) warnTo(m);
  };

  /** Sends a frame to the master, keeping it for a replay. */
  const emit = (frame: Uint8Array) => {
    link?.out.push(frame);
    replay?.add(frame);
  };
  const send = (event: AgentEvent) => emit(encodeEvent(event));

  function start(key: number, spec: Extract<AgentCommand, { t: "start" }>["spec"]): void {
    if (stopReason !== undefined || running.has(key)) {
      send({ t: "error", key, message: stopReason ?? `key ${key} is already running` });
      return;
    }
    const argv = resolveArgv(spec.argv, cache);
    const kind = (stream: "stdout" | "stderr") => stream === "stdout" ? FRAME.stdout : FRAME.stderr;
    let instance: RunningInstance;
    try {
      instance = spawnProcess(
        { ...spec, argv },
        replay === undefined
          ? (stream, chunk) => {
            const out = link!.out; // without an adopt window, no link = stopping
            out.pushFrame(kind(stream), key, chunk);
            // a slow link: stop reading this instance until the queue is written, so memory stays bounded
            return out.queued > QUEUE_LIMIT ? out.flush() : undefined;
          }
          : (stream, chunk) => {
            emit(encodeFrame(kind(stream), key, chunk));
            const out = link?.out;
            return out !== undefined && out.queued > QUEUE_LIMIT ? out.flush() : undefined;
          },
      );
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
        if (typeof cmd.ack === "number") replay?.ack(cmd.ack);
        break;
      case "bye":
        stopAll("the master said bye");
        break;
      case "hello":
        if (replay !== undefined && door === undefined && typeof cmd.secret === "string") {
          secret = cmd.secret;
          try {
            door = listenSocket(cache, socket!);
            serve(door.listener);
          } catch (error) {
            warn(`cannot listen for a re-attaching master: ${errorMessage(error)}`);
          }
        }
        break;
      default:
        warn(`ignoring an unknown command: ${line.slice(0, 80)}`);
    }
  }

  /**
   * Makes `lines`/`writeTo` the link to the master: the last frames it
   * missed (after `ack`) go first, then everything new. Any earlier link is
   * dropped (its commands are ignored from now on).
   */
  function attach(
    lines: AsyncIterator<string>,
    writeTo: WriteAll,
    close?: () => void,
    ack?: number,
  ): void {
    const id = ++links;
    const previous = link;
    link = undefined;
    previous?.close?.();
    detached = undefined;
    lastCommand = Date.now();
    const out = new BatchWriter(writeTo, (error) => {
      if (link?.id === id) lose(`stdout broke: ${errorMessage(error)}`);
    });
    link = { id, out, ...(close ? { close } : {}) };
    out.push(encoder.encode(AGENT_MAGIC));
    const ready = { t: "ready", v: AGENT_PROTOCOL_VERSION, pid: Deno.pid, lease } as const;
    if (ack === undefined || replay === undefined) {
      out.push(encodeEvent({ ...ready, seq: replay?.last ?? 0 }));
    } else {
      const r = replay.since(ack);
      const adopted = [...running].map(([key, { instance }]) => ({ key, pid: instance.pid }));
      out.push(encodeEvent({
        ...ready,
        seq: r.seq,
        adopted,
        replay: r.frames.length,
        dropped: r.dropped,
        ...(r.lost.length > 0 ? { lost: r.lost } : {}),
      }));
      for (const frame of r.frames) out.push(frame);
    }
    (async () => {
      try {
        while (true) {
          const next = await lines.next();
          if (link?.id !== id) return;
          if (next.done) break;
          handle(next.value);
        }
        lose("stdin closed");
      } catch (error) {
        if (link?.id === id) lose(`stdin broke: ${errorMessage(error)}`);
      }
    })();
  }

  /** The link is gone: stop everything, or (with an adopt window) wait for a new one. */
  function lose(reason: string): void {
    if (stopReason !== undefined) return;
    if (replay === undefined || door === undefined) {
      stopAll(reason);
      return;
    }
    const previous = link;
    link = undefined;
    previous?.close?.();
    replay.detach();
    detached = { since: Date.now(), why: reason };
  }

  /** Takes links that come through the socket and show the secret. */
  async function serve(listener: Deno.Listener<Deno.UnixConn>): Promise<void> {
    try {
      for await (const conn of listener) welcome(conn).catch(() => conn.close());
    } catch {
      // closed
    }
  }

  async function welcome(conn: Deno.UnixConn): Promise<void> {
    const incoming = lines(conn.readable)[Symbol.asyncIterator]();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const first = await Promise.race([
      incoming.next(),
      new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), 10_000)),
    ]);
    clearTimeout(timer);
    const writer = conn.writable.getWriter();
    const refuse = async (why: string) => {
      await writer.write(encoder.encode(`${REFUSED_MARK} ${why}\n`)).catch(() => {});
      conn.close();
    };
    let cmd: Partial<Extract<AgentCommand, { t: "attach" }>> = {};
    try {
      cmd = first === undefined || first.done ? {} : JSON.parse(first.value);
    } catch { /* refused below */ }
    if (cmd.t !== "attach") return await refuse("the first line must be an attach command");
    if (cmd.v !== AGENT_PROTOCOL_VERSION) {
      return await refuse(
        `protocol version ${cmd.v} asked, this agent speaks ${AGENT_PROTOCOL_VERSION}`,
      );
    }
    if (secret === undefined || typeof cmd.secret !== "string" || !same(cmd.secret, secret)) {
      return await refuse("wrong secret: this agent belongs to another master");
    }
    if (stopReason !== undefined) return await refuse(`the agent is stopping: ${stopReason}`);
    let closed = false;
    attach(
      incoming,
      (bytes) => writer.write(bytes),
      () => {
        if (closed) return;
        closed = true;
        try {
          conn.close();
        } catch { /* closed */ }
      },
      typeof cmd.ack === "number" ? cmd.ack : 0,
    );
  }

  async function stopAll(reason: string): Promise<void> {
    if (stopReason !== undefined) return;
    stopReason = reason;
    clearInterval(timer);
    door?.close();
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
    if (link !== undefined) await Promise.race([link.out.flush(), delay(1000)]);
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
    if (link === undefined) {
      if (detached !== undefined && now - detached.since > adopt) {
        stopAll(`no master re-attached within ${adopt} ms (${detached.why})`);
      }
    } else if (now - lastCommand > lease) {
      lose(`no command from the master for ${now - lastCommand} ms (lease ${lease} ms)`);
    } else if (now - lastBeat >= heartbeat) {
      lastBeat = now;
      send({ t: "hb" });
    }
    // no master to read them while no link is up: not worth a place in the replay buffer
    const attached = link !== undefined;
    if (measuring && attached && stopReason === undefined && now - lastMeasure >= measure) {
      sendResources(now);
    }
  }, Math.max(50, Math.min(heartbeat, lease, measure || heartbeat) / 4));

  attach(lines(input)[Symbol.asyncIterator](), write);

  try {
    return await stoppedP;
  } finally {
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
    door?.close();
  }
}

/** Compares two secrets in time independent of where they differ. */
function same(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
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

/** `--adopt=<ms>:<run-id>/<agent-id>`: the adopt window and the socket; none = 0. */
function adoptArg(args: string[]): { adopt: number; socket: string } | undefined {
  const arg = stringArg(args, "adopt");
  if (arg === undefined || arg === "0") return undefined;
  const m = /^(\d+):(.+)$/.exec(arg);
  if (m === null || !SOCKET_KEY.test(m[2]!) || Number(m[1]) <= 0) {
    throw new TypeError(
      `Invalid --adopt: must be <ms>:<run-id>/<agent-id> (hex ids): current value is ${arg}`,
    );
  }
  return { adopt: Number(m[1]), socket: m[2]! };
}

if (import.meta.main) {
  const cache = stringArg(Deno.args, "cache");
  const target = stringArg(Deno.args, "connect");
  if (target !== undefined) {
    // the connector: this session's stdin and stdout become a running agent's link
    if (!SOCKET_KEY.test(target) || !cache) {
      console.error(`distarch agent: invalid --connect=${target} (or no --cache)`);
      Deno.exit(2);
    }
    Deno.exit(await connect(socketPath(cache, target)));
  }
  const writer = Deno.stdout.writable.getWriter();
  const adopt = adoptArg(Deno.args);
  const reason = await runAgent({
    input: Deno.stdin.readable,
    write: (bytes) => writer.write(bytes),
    lease: intArg(Deno.args, "lease", 10_000),
    grace: intArg(Deno.args, "grace", 5_000),
    measure: intArg(Deno.args, "measure", 2_000),
    ...(cache ? { cache } : {}),
    ...(adopt ?? {}),
  });
  try {
    if (!/bye|stdin closed/.test(reason)) console.error(`distarch agent: stopped: ${reason}`);
  } catch { /* the first link's stderr is gone */ }
  Deno.exit(0);
}
