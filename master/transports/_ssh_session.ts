// Long on purpose: the agent process lifecycle (spawn, pipes, heartbeat, watchdog, leave, end); events are in _ssh_events.ts, acknowledgements in _ssh_acks.ts.
/**
 * One SSH session to one host agent: the `ssh` client process, the commands
 * written to its stdin, the frames read from its stdout, the heartbeat and
 * the watchdog that declares the link dead after `lease` ms of silence.
 *
 * The session ends as soon as the link is known to be dead, never later:
 * at the lease's expiry, and when the ssh client exits (after reading what
 * its pipes still hold, for a second at most). Waiting for the end of its
 * pipes is not enough: the ControlMaster holds copies of them for as long as
 * the remote end keeps the channel open (a frozen agent, a cut network).
 *
 * @module
 */

import { AGENT_MAGIC, type AgentCommand, type AgentStartSpec } from "../../protocol/agent.ts";
import { FrameReader } from "./_ssh_frames.ts";
import { type Pending, type ResourcesHandler, SessionInstances } from "./_ssh_events.ts";
import type { ExitStatus, OutputHandler } from "./types.ts";
import { lastLine } from "./_ssh_args.ts";
import { readTextLines } from "./_ssh_run.ts";
import { Acks } from "./_ssh_acks.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const MAGIC = encoder.encode(AGENT_MAGIC);
/** How long, in ms, the pipes are still read after the ssh client exited. */
const DRAIN_MS = 1000;

/** Options of {@linkcode AgentSession} for re-attaching. */
export interface AgentSessionOptions {
  /** Commands written before any other (`hello`, `attach`). @default {[]} */
  first?: AgentCommand[];
  /** Start the session's process in a session of its own (the local agent: it outlives the master). @default {false} */
  detached?: boolean;
  /**
   * Keep the started instances when the session is lost after `ready` (the
   * agent keeps them for its adopt window), for {@linkcode AgentSession.handOver},
   * instead of resolving their exits as lost; and acknowledge the frames
   * received in the heartbeats. @default {false}
   */
  keep?: boolean;
  /**
   * With `keep`: resolves once the output handed on so far is written where
   * the log goes. Frames are acknowledged as soon as that is so, so that a
   * new master (after this one died) gets from the agent exactly what this
   * one did not write. @default {at once}
   */
  written?: () => Promise<void>;
  /** The instances of a lost session this one re-attaches (its agent's replay follows `ready`). */
  inherit?: Map<number, Pending>;
}

/** A live link to one agent. */
export class AgentSession {
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #events = new SessionInstances({
    ready: () => {
      this.#lastFrame = Date.now();
      this.#ready.resolve();
    },
    kill: (key) => this.signal(key, "SIGKILL"),
  });
  readonly #keys = this.#events.keys;
  readonly #ready = Promise.withResolvers<void>();
  readonly #closed = Promise.withResolvers<string>();
  readonly #lease: number;
  #stderr = "";
  #preamble = "";
  #code: number | undefined;
  #lastFrame = Date.now();
  #timer: ReturnType<typeof setInterval>;
  #lostReason: string | undefined;
  /** Aborted when the session ends: stops reading the pipes. */
  readonly #stopReading = new AbortController();
  #ended = false;
  #onStderrLine: (line: string) => void;
  readonly #keep: boolean;
  /** True for a session made to re-attach (`inherit`): until `ready`, its instances are not its own. */
  readonly #inherited: boolean;
  /** Set when the session ended with its instances kept for a re-attach. */
  #kept = false;
  /** Its frames acknowledged once the log wrote them (with `keep`). */
  readonly #acks: Acks;
  /** The local agent's session (its process is the agent itself: never killed on leave). */
  readonly #isLocal: boolean;
  /** True while reading waits for the log to catch up. */
  #paused = false;

  /**
   * Spawns `args`: `ssh <client args> <remote command>` (or `sh -c <command>` for the local agent).
   * @param lease Milliseconds of silence from the agent after which the link is dead.
   */
  constructor(
    args: string[],
    lease: number,
    onStderrLine: (line: string) => void,
    options: AgentSessionOptions = {},
  ) {
    const { first = [], keep = false, inherit, detached = false, written } = options;
    this.#acks = new Acks(
      written ?? (() => Promise.resolve()),
      () => this.#events.isReady ? this.#events.seq : 0,
      (seq) => this.#send({ t: "hb", ack: seq }),
      () => this.#ended,
    );
    this.#lease = lease;
    this.#onStderrLine = onStderrLine;
    this.#keep = keep;
    this.#inherited = inherit !== undefined;
    this.#isLocal = detached;
    if (inherit !== undefined) { for (const [key, p] of inherit) this.#keys.set(key, p); }
    const [program, ...rest] = args;
    this.#child = new Deno.Command(program!, {
      args: rest,
      detached,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    for (const cmd of first) this.#send(cmd);
    this.#ready.promise.catch(() => {});
    this.#timer = setInterval(() => this.#tick(), Math.max(50, lease / 3));
    const reading = Promise.all([this.#readStdout(), this.#readStderr()]);
    this.#child.status.then(async (st) => {
      this.#code = st.code;
      let timer: ReturnType<typeof setTimeout> | undefined;
      // a session whose instances can be re-attached need not wait: the agent replays what is left
      const drain = this.#keep && this.#events.isReady ? 0 : DRAIN_MS;
      await Promise.race([reading, new Promise((r) => timer = setTimeout(r, drain))]);
      clearTimeout(timer);
      const why = this.#lostReason ?? this.#events.dying ??
        `ssh exited with code ${st.code}${st.signal ? ` (${st.signal})` : ""}` +
          (lastLine(this.#stderr) ? `: ${lastLine(this.#stderr)}` : "");
      this.#end(why);
    });
  }

  /** Pid of the local ssh client. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Resolves when the agent said ready; rejects (with ssh's stderr) when the session ended before. */
  get ready(): Promise<void> {
    return this.#ready.promise;
  }

  /** Resolves with the reason once the session is over. */
  get closed(): Promise<string> {
    return this.#closed.promise;
  }

  /** True until the session is over, or its agent said it is stopping: it takes no new instance. */
  get alive(): boolean {
    return this.#lostReason === undefined && this.#events.dying === undefined;
  }

  /** What came on stdout before the agent's magic (its head): shell noise, or a launcher's word. */
  get preamble(): string {
    return this.#preamble;
  }

  /** The ssh client's exit code, once the session is over. */
  get code(): number | undefined {
    return this.#code;
  }

  /** True once the agent said ready. */
  get isReady(): boolean {
    return this.#events.isReady;
  }

  /** Sequence number of the last agent frame received: what a re-attach acknowledges. */
  get received(): number {
    return this.#events.seq;
  }

  /** True when the session ended with its started instances kept for {@linkcode handOver}. */
  get kept(): boolean {
    return this.#kept;
  }

  /** On a re-attached session: frames the agent's bounded buffer dropped while no link was up. */
  get dropped(): number {
    return this.#events.dropped;
  }

  /** The instances kept when the session was lost (see `keep`); the session forgets them. */
  handOver(): Map<number, Pending> {
    const keys = new Map(this.#keys);
    this.#keys.clear();
    this.#kept = false;
    return keys;
  }

  /** Everything ssh wrote on stderr (its tail). */
  get stderr(): string {
    return this.#stderr;
  }

  #tick(): void {
    const silent = Date.now() - this.#lastFrame;
    // before `ready`, a slow start (a loaded host) is the start timeout's business
    if (this.#events.isReady && silent > this.#lease && !this.#paused) {
      this.abort(`no sign of life from the agent for ${silent} ms`);
      return;
    }
    this.#send(this.#keep ? { t: "hb", ack: this.#acks.acked } : { t: "hb" });
  }

  #send(cmd: AgentCommand): void {
    if (this.#lostReason !== undefined) return;
    this.#writer.write(encoder.encode(JSON.stringify(cmd) + "\n")).catch(() => {});
  }

  async #readStdout(): Promise<void> {
    const frames = new FrameReader((kind, key, payload) => this.#events.frame(kind, key, payload), {
      magic: MAGIC,
      onPreamble: (bytes) => {
        if (this.#preamble.length < 4096) this.#preamble += decoder.decode(bytes).slice(0, 4096);
      },
    });
    await frames.pump(
      this.#child.stdout,
      () => {
        this.#lastFrame = Date.now();
        // once this chunk's frames went to the log (they are handed on right after this call)
        if (this.#keep) queueMicrotask(() => this.#acks.soon());
      },
      this.#stopReading.signal,
      (paused) => {
        // the log is behind: the agent is silent to us, not dead
        this.#paused = paused;
        this.#lastFrame = Date.now();
      },
    );
  }

  #readStderr(): Promise<void> {
    return readTextLines(this.#child.stderr, this.#stopReading.signal, (text) => {
      this.#stderr = (this.#stderr + text).slice(-8192);
    }, this.#onStderrLine);
  }

  /**
   * Asks the agent to start an instance; resolves with its pid and a promise of
   * its exit (or of the session's loss). `onResources` gets its CPU and
   * memory, each time the agent measures them, until it exits.
   */
  async start(
    key: number,
    spec: AgentStartSpec,
    onOutput: OutputHandler,
    onResources?: ResourcesHandler,
  ): Promise<{ pid: number; status: Promise<ExitStatus> }> {
    if (!this.alive) throw new Error(`the session is over: ${this.#lostReason}`);
    const p: Pending = {
      onOutput,
      onResources,
      started: Promise.withResolvers(),
      exit: Promise.withResolvers(),
    };
    this.#keys.set(key, p);
    this.#send({ t: "start", key, spec });
    const pid = await p.started.promise;
    return { pid, status: p.exit.promise };
  }

  /** Forwards a signal to instance `key`. */
  signal(key: number, signal: Extract<AgentCommand, { t: "signal" }>["signal"]): void {
    this.#send({ t: "signal", key, signal });
  }

  /** Writes `text` to instance `key`'s stdin. */
  stdin(key: number, text: string): void {
    this.#send({ t: "stdin", key, text });
  }

  /** Says bye, waits up to `ms` for the session to end, then ends it. */
  async close(ms: number): Promise<void> {
    this.#send({ t: "bye" });
    await this.#writer.close().catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.closed, new Promise((r) => timer = setTimeout(r, ms))]);
    clearTimeout(timer);
    this.abort("closed");
    await this.closed;
  }

  /**
   * Leaves the agent and its instances behind (handover): the agent's stdin
   * ends, so it waits for a new master for its adopt window; nothing here
   * waits for the session or its instances any more (their exits never
   * resolve). The local agent itself is left running; an ssh client is
   * killed (its agent sees the channel close).
   */
  leave(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#lostReason = "left";
    clearInterval(this.#timer);
    this.#stopReading.abort();
    this.#writer.close().catch(() => {});
    if (this.#keep && this.#keys.size > 0 && this.#child.pid > 0 && !this.#isLocal) {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
    this.#child.unref();
    this.#keys.clear();
    this.#closed.resolve("left");
  }

  /**
   * Ends the session now with `reason`: kills the ssh client (the
   * ControlMaster then ends its channel: EOF to the agent) and stops reading
   * its pipes, whatever holds them.
   */
  abort(reason: string): void {
    if (this.#lostReason !== undefined) return;
    this.#lostReason = reason;
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
    this.#end(reason);
  }

  #end(reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#lostReason ??= reason;
    clearInterval(this.#timer);
    this.#stopReading.abort();
    this.#ready.reject(new Error(reason));
    const lost: ExitStatus = { code: 255, signal: null, lost: reason };
    if (this.#inherited && !this.#events.isReady) {
      // a re-attach that failed: the instances stay with whoever tries next
      this.#keys.clear();
      this.#closed.resolve(reason);
      return;
    }
    // the agent keeps its instances for its adopt window: a new session may take them over
    const keep = this.#keep && this.#events.isReady && this.#events.dying === undefined &&
      reason !== "closed";
    for (const [key, p] of this.#keys) {
      p.started.reject(new Error(`the link was lost: ${reason}`));
      if (keep && p.pid !== undefined) continue;
      p.exit.resolve(lost);
      this.#keys.delete(key);
    }
    this.#kept = this.#keys.size > 0;
    this.#closed.resolve(reason);
  }
}
