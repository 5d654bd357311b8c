/**
 * Running instances on a remote host through the system OpenSSH client: one
 * SSH session per transport, at the end of which a host agent
 * (`slave/agent.ts`, shipped by the master) starts the instances and relays
 * their output. Connections to one host share one ControlMaster.
 *
 * With an adopt window, a lost session is not the end of its instances: the
 * agent keeps them (and their output) for the window, and the transport opens
 * a new session to it through its Unix socket (`connectCommand`), shows the
 * run's secret, and takes the instances over, with every line they printed
 * in between (see `slave/agent.ts`).
 *
 * @module
 */

import { backoffDelay } from "../../_shared/backoff.ts";
import { delay } from "../../_shared/delay.ts";
import { errorMessage } from "../../_shared/errors.ts";
import type { Exec, InstanceSpec } from "../plan.ts";
import type { Logger, LogRecord, RemoteProcessConfig } from "../types.ts";
import { argvFor } from "./_argv.ts";
import type { InstanceResources, OutputHandler, RunningInstance, Transport } from "./types.ts";
import { StartError } from "./types.ts";
import {
  isAuthFailure,
  lastLine,
  remoteScript,
  sshArgs,
  weakensHostKeyChecking,
} from "./_ssh_args.ts";
import { AgentSession, type ResourcesHandler } from "./_ssh_session.ts";
import { AGENT_PROTOCOL_VERSION, NO_AGENT_MARK, REFUSED_MARK } from "../../protocol/agent.ts";
import {
  controlDirFor,
  ensureMaster,
  releaseMaster,
  retainMaster,
  serialize,
} from "./_ssh_control.ts";
import { ProbeError, runSsh } from "./_ssh_run.ts";
import {
  agentArtifact,
  agentCommand,
  type Artifact,
  bundleArtifact,
  cacheEntry,
  connectCommand,
  ensureArtifacts,
  MISSING_MARK,
  runtimeArtifact,
} from "./_upload.ts";

/** Options of {@linkcode SshTransport}. */
export interface SshTransportOptions {
  /** The host, as configured (name, `~/.ssh/config` alias or address). */
  host: string;
  /** The remote process config it comes from (user, key, port, sshOptions, binPath…). */
  config: RemoteProcessConfig;
  /** Where warnings and errors go. */
  logger: Logger;
  /** Seconds the agent waits between SIGTERM and SIGKILL when its link is lost. @default {10} */
  gracePeriod?: number;
  /**
   * Seconds of silence after which either end considers the link dead; also
   * sets the ssh keepalive (a third of it). @default {10}
   */
  lease?: number;
  /** Receives each instance's CPU and memory, measured by the agent every 2 s. @default {nowhere} */
  onResources?: (usage: InstanceResources) => void;
  /** Private (0700) directory for ControlMaster sockets. @default {a fresh /tmp/distarch-<uid>-<random>} */
  controlDir?: string;
  /**
   * Seconds the agent keeps its instances after losing its session, for a new
   * session to take them over; 0 = it stops them at once. @default {0}
   */
  adoptWindow?: number;
}

function randomHex(bytes: number): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/**
 * This master's run: its id names the agents' socket directory on the hosts,
 * its secret lets a new session re-attach to them (in memory only).
 */
const RUN = { id: randomHex(8), secret: randomHex(32) };

type Signal = "SIGTERM" | "SIGKILL" | "SIGINT" | "SIGHUP";

/** Kills each process group `$@` still leads (its pgid is its pid), printing the ones it killed. */
const KILL_GROUPS = [
  'for p in "$@"; do',
  '  s=$(cat "/proc/$p/stat" 2>/dev/null) || continue',
  "  s=${s##*) }; set -- $s",
  '  [ "$3" = "$p" ] && kill -9 "-$p" 2>/dev/null && echo "$p"', // dash: no "--"
  "done",
  "true",
].join("\n");

/** One agent session, whether its agent is up yet or not. */
interface Link {
  session: AgentSession;
  /** Resolves once the agent said ready; rejects with a StartError, or {@linkcode Missing}. */
  ready: Promise<void>;
  /** Hashes of the bundles its launcher checked (or a probe since). */
  has: Set<string>;
  /** Its agent's socket, `<run-id>/<agent-id>`, with an adopt window. */
  socket?: string;
  /** The agent bundle and runtime it was started with (for a connector to it). */
  agent: Artifact;
  runtime: Artifact | string;
}

/** Where an instance's signals and stdin go: the session that has it now. */
interface Owner {
  session: AgentSession;
  /** The last signal asked for while no session had it, sent once one does. */
  signal?: Signal;
}

/** The agent's launcher found the host cache incomplete. */
class Missing extends Error {
  constructor() {
    super("the host cache lacks the runtime, the agent or the worker bundle");
    this.name = "Missing";
  }
}

/** Runs instances on one remote host. */
export class SshTransport implements Transport {
  /** The host's name as configured. */
  readonly host: string;
  readonly #config: RemoteProcessConfig;
  readonly #logger: Logger;
  readonly #grace: number;
  readonly #lease: number;
  readonly #controlDir: string;
  readonly #onResources: ((usage: InstanceResources) => void) | undefined;
  #link: Link | undefined;
  #connecting: Promise<Link> | undefined;
  /** Set when the agent's launcher found the cache incomplete: probe and upload first. */
  #install = false;
  #failures = 0;
  #reached = false; // the host was reached once: failing to reach it now is an outage
  #nextAttempt = 0;
  #fatal: StartError | undefined;
  #key = 0;
  #retained = false;
  #socket = "";
  readonly #muxKey: string;
  #closed = false;
  readonly #scripts = new Map<string, Promise<Artifact | undefined>>();
  readonly #adopt: number;
  readonly #owners = new Map<number, Owner>();
  /** Re-attaches under way. */
  readonly #reattaching = new Set<Promise<void>>();

  /** Creates the transport; nothing happens until the first {@linkcode start}. */
  constructor(options: SshTransportOptions) {
    const {
      host,
      config,
      logger,
      gracePeriod = 10,
      lease = 10,
      controlDir,
      onResources,
      adoptWindow = 0,
    } = options;
    this.#adopt = adoptWindow * 1000;
    this.host = host;
    this.#config = config;
    this.#logger = logger;
    this.#grace = gracePeriod * 1000;
    this.#lease = lease * 1000;
    this.#controlDir = controlDir ?? controlDirFor();
    this.#onResources = onResources;
    this.#muxKey = this.#controlDir + "\0" + this.#argsFor().join("\0"); // validates them now
    for (const [name, value] of Object.entries(config.sshOptions ?? {})) {
      if (weakensHostKeyChecking(name, value)) {
        this.#log("warning", `sshOptions ${name}=${value} weakens host key checking`);
      }
    }
  }

  #log(level: LogRecord["level"], message: string): void {
    this.#logger.log({ level, message, time: Date.now(), host: this.host });
  }

  #argsFor(role?: "master" | "client"): string[] {
    return sshArgs(this.host, this.#config, {
      serverAliveInterval: Math.max(1, Math.round(this.#lease / 3000)),
      ...(role === undefined ? {} : { control: { path: this.#socket, role } }),
    });
  }

  /** Client ssh args, once the host's ControlMaster is up (started when it is not). */
  async #args(): Promise<string[]> {
    if (!this.#retained) {
      this.#socket = retainMaster(this.#controlDir, this.#muxKey);
      this.#retained = true;
    }
    await ensureMaster(this.#muxKey, this.#argsFor("master"));
    return this.#argsFor("client");
  }

  /**
   * Starts one instance; see {@linkcode Transport.start}. Once the host was
   * reached, failing to reach it again is an outage (`StartError.outage`).
   */
  async start(
    spec: InstanceSpec,
    onOutput: OutputHandler,
    signal: AbortSignal,
  ): Promise<RunningInstance> {
    try {
      return await this.#start(spec, onOutput, signal);
    } catch (error) {
      if (!(error instanceof StartError) || error.fatal || !this.#reached || this.#closed) {
        throw error;
      }
      throw new StartError(error.message, { outage: true, cause: error });
    }
  }

  async #start(
    spec: InstanceSpec,
    onOutput: OutputHandler,
    signal: AbortSignal,
  ): Promise<RunningInstance> {
    if (Deno.build.standalone) {
      // the agent and the runtime shipped to hosts are taken from the source tree and this Deno
      throw this.#fail(
        `Cannot run instances on ${this.host} from a compiled distarch: remote hosts need the ` +
          "master run from source (deno run -A cli.ts run …)",
      );
    }
    for (let attempt = 0;; attempt++) {
      signal.throwIfAborted();
      if (this.#closed) throw new StartError(`The transport to ${this.host} is closed`);
      if (this.#fatal) throw this.#fatal;
      const bundle = await this.#bundle(spec.exec);
      const link = await this.#connect(spec.exec, bundle, signal);
      if (bundle !== undefined && !link.has.has(bundle.hash)) {
        // a script the agent's launcher did not check: probe (and upload) it first
        await this.#ensure([bundle]);
        link.has.add(bundle.hash);
      }
      signal.throwIfAborted();
      const key = ++this.#key;
      const script = bundle === undefined
        ? (spec.exec.kind === "deno" ? spec.exec.script : spec.exec.command)
        : `@cache/${cacheEntry(bundle)}`;
      let started: Awaited<ReturnType<AgentSession["start"]>>;
      try {
        // sent at once: before `ready`, the command waits in the pipe for the agent
        started = await link.session.start(
          key,
          {
            argv: argvFor(spec.exec, "@deno", script),
            ...(spec.cwd !== undefined ? { cwd: spec.cwd } : {}),
            env: spec.env,
            ...(spec.priority !== undefined ? { priority: spec.priority } : {}),
            stdinLine: JSON.stringify(spec.context) + "\n",
          },
          onOutput,
          this.#resourcesOf(spec.id),
        );
      } catch (error) {
        try {
          await link.ready; // the agent never came up: why (and whether to install first)
        } catch (why) {
          if (why instanceof Missing && attempt === 0) continue;
          throw why instanceof Missing
            ? new StartError(`The agent's files vanished from ${this.host}'s cache`, { cause: why })
            : why;
        }
        const why = errorMessage(error);
        throw new StartError(`Cannot start ${spec.label} on ${this.host}: ${why}`, {
          cause: error,
        });
      }
      const owner: Owner = { session: link.session };
      this.#owners.set(key, owner);
      started.status.finally(() => this.#owners.delete(key));
      if (signal.aborted) owner.session.signal(key, "SIGKILL");
      return {
        pid: started.pid,
        kill: (sig: Deno.Signal) => {
          if (owner.session.alive) owner.session.signal(key, sig as Signal);
          else if (owner.session.kept || this.#reattaching.size > 0) owner.signal = sig as Signal;
        },
        send: (text: string) => {
          if (owner.session.alive) owner.session.stdin(key, text);
        },
        status: started.status,
      };
    }
  }

  /** Hands instance `id`'s samples to `onResources`, with its id. */
  #resourcesOf(id: number): ResourcesHandler | undefined {
    const to = this.#onResources;
    if (to === undefined) return undefined;
    return (usage) => {
      try {
        to({ id, ...usage });
      } catch {
        // a listener must not break the session
      }
    };
  }

  /** The bundle of a local Deno script `exec` runs; none for a binary or a path on the host. */
  #bundle(exec: Exec): Promise<Artifact | undefined> {
    if (exec.kind !== "deno") return Promise.resolve(undefined);
    let p = this.#scripts.get(exec.script);
    if (p === undefined) {
      p = (async () => {
        try {
          await Deno.stat(exec.script);
        } catch {
          return undefined; // not on this machine: a path on the host
        }
        const name = (exec.script.split("/").pop() ?? "worker").replace(/[^\w.-]/g, "_")
          .replace(/\.[^.]*$/, "") + ".js";
        try {
          return await bundleArtifact(exec.script, name);
        } catch (error) {
          throw new StartError(errorMessage(error), {
            fatal: true,
            cause: error,
          });
        }
      })();
      this.#scripts.set(exec.script, p);
      p.catch(() => this.#scripts.delete(exec.script));
    }
    return p;
  }

  async #ensure(artifacts: Artifact[], binPath?: string) {
    try {
      const t0 = performance.now();
      const args = await this.#args();
      const r = await serialize(
        this.#muxKey,
        () =>
          ensureArtifacts(
            (cmd, stdinFile) => runSsh([...args, cmd], stdinFile),
            artifacts,
            binPath,
          ),
      );
      if (r.uploaded.length > 0) {
        const what = r.uploaded.map((a) => `${a.name} (${(a.size / 1e6).toFixed(1)} MB)`);
        const ms = (performance.now() - t0).toFixed(0);
        this.#log("info", `uploaded ${what.join(", ")} to ${this.host} in ${ms} ms`);
      }
      return r;
    } catch (error) {
      throw this.#classify(error);
    }
  }

  #classify(error: unknown): StartError {
    if (error instanceof StartError) return error;
    if (error instanceof ProbeError && error.result.code === 255) {
      const why = lastLine(error.result.stderr) || "ssh failed";
      if (isAuthFailure(error.result.stderr)) {
        return this.#fail(`SSH to ${this.host} refused our credentials: ${why}`, error);
      }
      return new StartError(`Cannot reach ${this.host} over SSH: ${why}`, { cause: error });
    }
    const why = errorMessage(error);
    return new StartError(`Cannot prepare ${this.host}: ${why}`, { cause: error });
  }

  #fail(message: string, cause?: unknown): StartError {
    if (this.#fatal) return this.#fatal; // logged once
    this.#fatal = new StartError(message, { fatal: true, cause });
    this.#log("error", message);
    return this.#fatal;
  }

  async #connect(exec: Exec, bundle: Artifact | undefined, signal: AbortSignal): Promise<Link> {
    // a session being re-attached will take new instances too
    if (this.#reattaching.size > 0) await Promise.all(this.#reattaching);
    if (this.#link?.session.alive) return this.#link;
    this.#connecting ??= this.#open(exec, bundle, signal).finally(() =>
      this.#connecting = undefined
    );
    return await this.#connecting;
  }

  async #open(exec: Exec, bundle: Artifact | undefined, signal: AbortSignal): Promise<Link> {
    const wait = this.#nextAttempt - Date.now();
    if (wait > 0) await delay(wait, { signal });
    try {
      const link = await this.#spawnAgent(exec, bundle);
      this.#link = link;
      link.ready.then(() => {
        this.#failures = 0;
        this.#reached = true;
        this.#watchLoss(link);
      }, (error) => {
        if (!(error instanceof Missing)) this.#backoff();
      });
      return link;
    } catch (error) {
      this.#backoff();
      throw error;
    }
  }

  /** When `link`'s session is lost: re-attach to its agent (adopt window), or back off. */
  #watchLoss(link: Link): void {
    link.session.closed.then((reason) => {
      if (reason === "closed") return;
      if (!this.#closed) this.#log("warning", `lost the SSH session to ${this.host}: ${reason}`);
      if (link.session.kept) {
        const p = this.#reattach(link, reason);
        this.#reattaching.add(p);
        p.finally(() => this.#reattaching.delete(p));
        return;
      }
      if (this.#link === link && !this.#closed) this.#backoff(); // not when a new session took over already
    });
  }

  /**
   * Takes the instances of `link`'s lost session over in a new session to
   * the same agent, through its socket; retries until the adopt window is
   * over. When it cannot, they are lost (the agent stops them at the end of
   * its window).
   */
  async #reattach(link: Link, why: string): Promise<void> {
    const t0 = Date.now();
    const deadline = t0 + this.#adopt;
    const old = link.session;
    const ack = old.received;
    const keys = old.handOver();
    let failure = `the adopt window (${this.#adopt} ms) ran out`;
    let agentGone = false;
    for (let attempt = 0; !this.#closed && Date.now() < deadline; attempt++) {
      if (attempt > 0) {
        await delay(Math.min(backoffDelay(attempt, 200, 2000), deadline - Date.now()));
      }
      let args: string[];
      try {
        args = await this.#args();
      } catch (error) {
        failure = `cannot reach the host: ${errorMessage(error)}`;
        this.#log("info", `re-attach attempt ${attempt + 1} to ${this.host} failed: ${failure}`);
        continue;
      }
      const session = new AgentSession(
        [...args, connectCommand(link.agent, link.runtime, link.socket!)],
        this.#lease,
        (line) => this.#log("warning", `ssh ${this.host}: ${line}`),
        {
          first: [{ t: "attach", v: AGENT_PROTOCOL_VERSION, secret: RUN.secret, ack }],
          keep: true,
          inherit: keys,
        },
      );
      const wait = Math.max(1000, Math.min(10_000, deadline - Date.now()));
      const timer = setTimeout(() => session.abort(`the agent did not answer in ${wait} ms`), wait);
      try {
        await session.ready;
      } catch {
        await session.closed;
        const refused = session.preamble.split("\n").find((l) => l.startsWith(REFUSED_MARK));
        agentGone = session.preamble.includes(NO_AGENT_MARK);
        if (refused !== undefined || agentGone) {
          failure = refused !== undefined
            ? `the agent refused: ${refused.slice(REFUSED_MARK.length + 1)}`
            : "no agent listens there any more";
          break;
        }
        failure = lastLine(session.stderr) || lastLine(session.preamble) || "the connector ended";
        this.#log("info", `re-attach attempt ${attempt + 1} to ${this.host} failed: ${failure}`);
        continue;
      } finally {
        clearTimeout(timer);
      }
      const next: Link = { ...link, session, ready: Promise.resolve() };
      for (const key of keys.keys()) {
        const owner = this.#owners.get(key);
        if (owner === undefined) continue;
        owner.session = session;
        if (owner.signal !== undefined) session.signal(key, owner.signal);
        delete owner.signal;
      }
      if (this.#closed) {
        // closed while we re-attached: the instances go the way close() sends them
        await session.close(2000);
        return;
      }
      if (!this.#link?.session.alive) this.#link = next;
      const dropped = session.dropped > 0
        ? `; the agent's buffer dropped ${session.dropped} frames of output`
        : "";
      this.#log(
        "info",
        `re-attached to the agent on ${this.host} in ${Date.now() - t0} ms: ` +
          `${keys.size} instances kept${dropped}`,
      );
      this.#watchLoss(next);
      return;
    }
    this.#log("warning", `cannot re-attach to the agent on ${this.host}: ${failure} (${why})`);
    if (agentGone && !this.#closed) {
      // they were in its care: without it nothing would ever stop them
      await this.#killGroups([...keys.values()].flatMap((p) => p.pid === undefined ? [] : [p.pid]));
    }
    const lost = { code: 255, signal: null, lost: `${why}; not re-attached: ${failure}` };
    for (const p of keys.values()) p.exit.resolve(lost);
  }

  /**
   * Kills the process groups `pids` lead on the host (those still leading
   * one): the instances of an agent that died without stopping them.
   */
  async #killGroups(pids: number[]): Promise<void> {
    if (pids.length === 0) return;
    try {
      const args = await this.#args();
      const r = await runSsh([...args, remoteScript(KILL_GROUPS, pids.map(String))]);
      const killed = r.stdout.split("\n").filter((l) => /^\d+$/.test(l));
      if (killed.length > 0) {
        this.#log(
          "warning",
          `killed the orphaned process groups ${killed.join(", ")} of its agent`,
        );
      }
    } catch (error) {
      this.#log(
        "warning",
        `cannot kill the orphaned instances ${pids.join(", ")}: ${errorMessage(error)}`,
      );
    }
  }

  #backoff(): void {
    this.#failures++;
    this.#nextAttempt = Date.now() + backoffDelay(this.#failures, 1000, 30_000);
  }

  /**
   * Starts the agent's session without waiting for it: its launcher checks
   * the host cache itself (no probe first); only after it found something
   * missing is the cache probed and filled before the launch.
   */
  async #spawnAgent(exec: Exec, bundle: Artifact | undefined): Promise<Link> {
    const binPath = exec.kind === "deno" ? exec.binPath : undefined;
    const agent = await agentArtifact();
    const runtime = binPath ?? await runtimeArtifact();
    const also = bundle === undefined ? [] : [bundle];
    let args: string[];
    try {
      args = await this.#args();
    } catch (error) {
      throw this.#classify(error);
    }
    if (this.#install) {
      const wanted = [agent, ...(typeof runtime === "string" ? [] : [runtime]), ...also];
      const r = await this.#ensure(wanted, binPath);
      if (binPath !== undefined && !r.binFound) {
        throw this.#fail(`The Deno runtime ${JSON.stringify(binPath)} is missing on ${this.host}`);
      }
      this.#install = false;
    }
    const socket = this.#adopt > 0 ? `${RUN.id}/${randomHex(4)}` : undefined;
    const command = agentCommand({
      agent,
      runtime,
      also,
      lease: this.#lease,
      grace: this.#grace,
      ...(socket !== undefined ? { adopt: { ms: this.#adopt, socket } } : {}),
    });
    const session = new AgentSession(
      [...args, command],
      this.#lease,
      (line) => this.#log("warning", `ssh ${this.host}: ${line}`),
      socket !== undefined ? { first: [{ t: "hello", secret: RUN.secret }], keep: true } : {},
    );
    const ready = this.#watch(session);
    ready.catch(() => {});
    const has = new Set(also.map((a) => a.hash));
    return { session, ready, has, agent, runtime, ...(socket !== undefined ? { socket } : {}) };
  }

  /** Resolves once the agent is up; rejects with why it is not (once per session). */
  async #watch(session: AgentSession): Promise<void> {
    const timer = setTimeout(() => session.abort("the agent did not start in 30 s"), 30_000);
    try {
      await session.ready;
    } catch (error) {
      await session.closed;
      if (session.preamble.includes(MISSING_MARK)) {
        this.#install = true;
        throw new Missing();
      }
      const why = lastLine(session.stderr) || (error instanceof Error ? error.message : "");
      if (isAuthFailure(session.stderr)) {
        throw this.#fail(`SSH to ${this.host} refused our credentials: ${why}`, error);
      }
      throw new StartError(`Cannot start the agent on ${this.host}: ${why}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }

  /** Says bye to the agent, ends the session and, when last, the ControlMaster. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#connecting?.catch(() => {});
    await Promise.all(this.#reattaching);
    const sessions = new Set([...this.#owners.values()].map((o) => o.session));
    if (this.#link !== undefined) sessions.add(this.#link.session);
    await Promise.all([...sessions].map((s) => s.close(2000)));
    if (this.#retained) await releaseMaster(this.#muxKey);
  }
}
