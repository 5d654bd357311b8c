/**
 * The transport seam: how the launcher starts an instance somewhere, without
 * knowing where. A {@linkcode Transport} starts instances on one host (or one
 * session to it); a {@linkcode TransportFactory} makes one for a
 * {@linkcode Target}, and the launcher holds one factory per target `type`
 * (`local.ts` and `ssh.ts` are wired as the defaults in `defaults.ts`).
 *
 * @module
 */

import type { InstanceSpec, Target } from "../plan.ts";
import type { Logger } from "../types.ts";
import type { OutputHandler, RunningInstance } from "../../_shared/spawn.ts";

export { StartError } from "../../_shared/spawn.ts";
export type { ExitStatus, OutputHandler, RunningInstance } from "../../_shared/spawn.ts";

/**
 * Starts instances on one host. What an instance is there (a process, a
 * container, a job) is the transport's business; the launcher only sees a
 * {@linkcode RunningInstance}: its pid, `kill(signal)` (SIGTERM to ask,
 * SIGKILL to force; it reaches everything the instance started), `send(text)`
 * (further stdin lines), and its exit `status`, which resolves once its
 * output went to the {@linkcode OutputHandler}.
 *
 * A transport is made by a {@linkcode TransportFactory} the first time an
 * instance of its {@linkcode Target.key} starts, and closed when the
 * launcher's run ends.
 *
 * @example A third transport, in one file: instances run in a container with `docker exec`
 * ```ts
 * import {
 *   argvFor,
 *   type InstanceSpec,
 *   Launcher,
 *   type OutputHandler,
 *   type RunningInstance,
 *   spawnProcess,
 *   type Transport,
 * } from "@distarch/distarch/master";
 *
 * class DockerExecTransport implements Transport {
 *   constructor(readonly host: string) {}
 *   start(spec: InstanceSpec, onOutput: OutputHandler, signal: AbortSignal) {
 *     signal.throwIfAborted();
 *     const env = Object.entries(spec.env).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
 *     return Promise.resolve<RunningInstance>(spawnProcess({
 *       argv: ["docker", "exec", "-i", ...env, this.host, ...argvFor(spec.exec, "deno")],
 *       env: {},
 *       stdinLine: JSON.stringify(spec.context) + "\n",
 *     }, onOutput));
 *   }
 *   close() {
 *     return Promise.resolve();
 *   }
 * }
 *
 * // every "local" process config now runs in the container `box`
 * const launcher = new Launcher({
 *   transports: { local: () => new DockerExecTransport("box") },
 * });
 * ```
 */
export interface Transport {
  /** The host's name as shown in logs. */
  readonly host: string;
  /**
   * Starts one instance of `spec` (its {@linkcode InstanceSpec.context} is
   * its first stdin line) and hands its output to `onOutput`. Rejects with a
   * `StartError` when it cannot (`fatal`: retrying cannot help; `outage`: the
   * host is away, retry until it is back); rejects with the signal's reason
   * when `signal` aborts first.
   */
  start(spec: InstanceSpec, onOutput: OutputHandler, signal: AbortSignal): Promise<RunningInstance>;
  /** Releases the transport's resources (its instances must have ended). */
  close(): Promise<void>;
  /**
   * Handover (optional): where this transport's instances run now, for a
   * new master to adopt them. Only transports whose instances can outlive
   * their master (an agent with an adopt window) return any.
   */
  records?(): AgentHandle[];
  /**
   * Handover (optional): takes over the instances a previous master left
   * running at the agents `agents` name. Resolves with those still running,
   * by instance id; the others are gone (their agent stopped them, or they
   * ended while no master was attached).
   */
  adopt?(agents: AgentHandle[], options?: AdoptOptions): Promise<Map<number, AdoptedRun>>;
  /**
   * Handover (optional): ends the transport without stopping its instances:
   * each agent keeps them for its adopt window, for a new master to adopt.
   * Their `status` never resolves in this master.
   */
  leave?(): Promise<void>;
}

/** Where one agent runs and how to reach it again (handover): what a state file keeps of it. */
export interface AgentHandle {
  /** The host's name as configured (`localhost` for the local agent). */
  host: string;
  /** Its socket: `<run-id>/<agent-id>`. */
  socket: string;
  /** What the connector needs: the agent bundle's and the runtime's place in the host cache. */
  connect: {
    agent: { name: string; hash: string };
    runtime: string | { name: string; hash: string };
  };
  /** Its instances: the agent's key, the instance id, the pid. */
  instances: { key: number; id: number; pid: number }[];
}

/** Options of {@linkcode Transport.adopt}. */
export interface AdoptOptions {
  /**
   * Whether the handles' pids are recent enough to kill the instances of an
   * agent that is gone by them (they would be orphans otherwise).
   * @default {false}
   */
  trustPids?: boolean;
}

/** An instance a new master took over (see {@linkcode Transport.adopt}). */
export interface AdoptedRun {
  /** The running instance, as {@linkcode Transport.start} would give it. */
  running: RunningInstance;
  /**
   * Where its output goes from now on: what it printed since the last
   * master wrote its log (kept by the agent) comes first.
   */
  output(onOutput: OutputHandler): void;
}

/**
 * What one instance uses, measured where it runs: a transport whose
 * instances are out of the master's sight (a remote agent on its host)
 * reports it through {@linkcode TransportContext.onResources}.
 */
export interface InstanceResources {
  /** The instance ({@linkcode InstanceSpec.id}). */
  id: number;
  /** The pid of the run measured, on its host (the leader of its process group). */
  pid: number;
  /** CPU seconds (user + system) of its process group since it started, children reaped included. */
  cpuSeconds: number;
  /** Resident memory of its process group, in bytes. */
  rss: number;
  /** When it was measured, on its host's clock (ms since epoch). */
  time: number;
}

/** What the launcher tells the transports it makes. */
export interface TransportContext {
  /** Where a transport's own warnings and errors go. */
  logger: Logger;
  /** Seconds between SIGTERM and SIGKILL when a transport stops instances on its own. */
  gracePeriod: number;
  /** Seconds without a sign of life before a link counts as lost (remote transports). */
  sshLease: number;
  /**
   * Seconds a host agent keeps its instances after losing its link, for a
   * new link to take them over (remote transports); 0 = none. @default {0}
   */
  adoptWindow?: number;
  /**
   * Where a transport that measures its instances itself (a remote agent, on
   * its host, every 2 s) sends what they use. Local instances need none: the
   * master reads them from its own `/proc`.
   */
  onResources?: (usage: InstanceResources) => void;
  /**
   * The run's identity (handover): its id names the agents' sockets, its
   * secret lets a new link attach to them. @default {a random one per master process}
   */
  run?: { id: string; secret: string };
  /** Told when what {@linkcode Transport.records} returns may have changed. */
  onRecordsChange?: () => void;
  /**
   * Resolves once the output handed to the instances' output handlers so far
   * is written where the log goes; an agent's frames are acknowledged (and
   * forgotten by it) only then. @default {at once}
   */
  written?: () => Promise<void>;
}

/**
 * Makes the transport for one {@linkcode Target}; called once per
 * {@linkcode Target.key}, the first time an instance there starts.
 */
export type TransportFactory = (
  target: Target,
  context: TransportContext,
) => Transport | Promise<Transport>;

/** One factory per target type (a process config's `type`). */
export type TransportFactories = { readonly [type in Target["type"]]?: TransportFactory };
