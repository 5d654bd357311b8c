// Long on purpose: runAgent is one closure over the link, replay buffer and stop reason; the rest is in _agent_*.ts.
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
import { type RunningInstance, spawnProcess } from "../_shared/spawn.ts";
import {
  type AgentCommand,
  type AgentEvent,
  encodeEvent,
  encodeFrame,
  FRAME,
  type ResourceRow,
} from "../protocol/agent.ts";
import { BatchWriter, type WriteAll } from "./_agent_out.ts";
import { ReplayBuffer } from "./_agent_replay.ts";
import { connect, listenSocket, SOCKET_KEY, socketPath } from "./_agent_socket.ts";
import { greeting, lines, serve } from "./_agent_attach.ts";
import { handleCommand } from "./_agent_commands.ts";
import { resolveArgv, resourceRows, type Running, stopInstances } from "./_agent_instances.ts";
import { adoptArg, intArg, stringArg } from "./_agent_args.ts";

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

/**
 * Output bytes kept for a re-attaching master over all instances, per running
 * instance (at least for two); each instance may keep 4 MiB or 10,000 lines
 * within it (see {@linkcode ReplayBuffer}).
 */
const REPLAY_PER_INSTANCE = 4 * 1024 * 1024;

/** Bytes queued for the master above which the agent stops reading its instances. */
const QUEUE_LIMIT = 8 * 1024 * 1024;

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
  const running: Running = new Map();
  let lastCommand = Date.now();
  let stopReason: string | undefined;
  let stopped: (reason: string) => void = () => {};
  const stoppedP = new Promise<string>((resolve) => stopped = resolve);
  /** Frames kept for a re-attaching master: only with an adopt window. */
  const replay = adopt > 0 && socket !== undefined
    ? new ReplayBuffer({ ceiling: () => Math.max(2, running.size) * REPLAY_PER_INSTANCE })
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
    handleCommand(line, {
      start,
      signal: (key, signal) => running.get(key)?.instance.kill(signal),
      stdin: (key, text) => running.get(key)?.instance.send(text),
      ack: (seq) => replay?.ack(seq),
      bye: () => stopAll("the master said bye"),
      hello: (said) => {
        if (replay !== undefined && door === undefined) {
          secret = said;
          try {
            door = listenSocket(cache, socket!);
            serve(door.listener, {
              secret: () => secret,
              stopping: () => stopReason,
              attach: (lines, writeTo, close, ack) => attach(lines, writeTo, close, { ack }),
              replace: (version) => {
                stopAll(`replaced by a master of protocol version ${version}`);
              },
            });
          } catch (error) {
            warn(`cannot listen for a re-attaching master: ${errorMessage(error)}`);
          }
        }
      },
      warn,
    });
  }

  /**
   * Makes `lines`/`writeTo` the link to the master; a link that re-attaches
   * (`resume`) gets the frames it missed first (after `resume.ack`, or after
   * the last one acknowledged), then everything new. Any earlier link is
   * dropped (its commands are ignored from now on).
   */
  function attach(
    lines: AsyncIterator<string>,
    writeTo: WriteAll,
    close?: () => void,
    resume?: { ack: number | undefined },
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
    for (const frame of greeting(lease, running, replay, resume)) out.push(frame);
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

  async function stopAll(reason: string): Promise<void> {
    if (stopReason !== undefined) return;
    stopReason = reason;
    clearInterval(timer);
    door?.close();
    send({ t: "stopping", reason });
    await stopInstances(running, grace);
    if (link !== undefined) await Promise.race([link.out.flush(), delay(1000)]);
    stopped(reason);
  }

  let lastMeasure = Date.now();
  let measuring = measure > 0;
  /** One procfs pass over every running instance's process group, sent as a `res` event. */
  function sendResources(now: number): void {
    lastMeasure = now;
    if (running.size === 0) return;
    let v: ResourceRow[];
    try {
      v = resourceRows(running);
    } catch (error) {
      measuring = false; // no procfs here (not Linux): the instances go unmeasured
      warn(`cannot measure the instances: ${errorMessage(error)}`);
      return;
    }
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
