// Long on purpose: one class holds the link, the instances and the retry state its methods share; a quarter is the options JSDoc. Adoption is in _ssh_adopt.ts, re-attaching in _ssh_reattach.ts, agent start in _ssh_agent_start.ts.
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
import type {
  AdoptedRun,
  AdoptOptions,
  AgentHandle,
  InstanceResources,
  OutputHandler,
  RunningInstance,
  Transport,
} from "./types.ts";
import { StartError } from "./types.ts";
import { sshArgs, weakensHostKeyChecking } from "./_ssh_args.ts";
import { AgentSession } from "./_ssh_session.ts";
import { instanceHandle, localStartSpec, resourcesOf, startSpec } from "./_ssh_instance.ts";
import { controlDirFor, ensureMaster, releaseMaster, retainMaster } from "./_ssh_control.ts";
import { ensureOnHost, workerBundle } from "./_ssh_install.ts";
import { spawnAgent } from "./_ssh_agent_start.ts";
import { type Link, Missing, type Owner, RUN } from "./_ssh_link.ts";
import { reattach, type ReattachContext } from "./_ssh_reattach.ts";
import { adoptFrom, Whereabouts } from "./_ssh_adopt.ts";
import type { Artifact } from "./_upload.ts";

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
  /**
   * Run the agent on this machine (`sh -c`, in a session of its own) instead
   * of over SSH: local instances that outlive their master within the adopt
   * window. `host` is then a name for logs and `config` is ignored.
   * @default {false}
   */
  local?: boolean;
  /** The run's identity (see `TransportContext.run`). @default {this master process's} */
  run?: { id: string; secret: string };
  /** Told when {@linkcode SshTransport.records} may have changed. @default {nobody} */
  onRecordsChange?: () => void;
  /** Resolves once the output handed on so far is written (frames are acknowledged then). @default {at once} */
  written?: () => Promise<void>;
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
  readonly #local: boolean;
  /** Where each running instance is, by key (for a new master to adopt it). */
  readonly #where: Whereabouts;
  readonly #owners = new Map<number, Owner>();
  /** Re-attaches under way. */
  readonly #reattaching = new Set<Promise<void>>();
  /** This transport as its helpers see it. */
  readonly #ctx: ReattachContext;

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
      local = false,
      run = RUN,
      onRecordsChange,
      written,
    } = options;
    this.#where = new Whereabouts(host, onRecordsChange ?? (() => {}));
    this.#local = local;
    this.#adopt = adoptWindow * 1000;
    this.host = host;
    this.#config = config;
    this.#logger = logger;
    this.#grace = gracePeriod * 1000;
    this.#lease = lease * 1000;
    // the local agent needs no ControlMaster (nor its directory, which a SIGKILL would leave)
    this.#controlDir = local ? "" : controlDir ?? controlDirFor();
    this.#onResources = onResources;
    // the ssh args are validated now
    this.#muxKey = local ? `local\0${host}` : this.#controlDir + "\0" + this.#argsFor().join("\0");
    this.#ctx = {
      host,
      local,
      run,
      ...(written !== undefined ? { written } : {}),
      lease: this.#lease,
      adopt: this.#adopt,
      owners: this.#owners,
      closed: () => this.#closed,
      args: () => this.#args(),
      log: (level, message) => this.#log(level, message),
      fail: (message, cause) => this.#fail(message, cause),
      take: (next) => {
        if (!this.#link?.session.alive) this.#link = next;
      },
      watchLoss: (next) => this.#watchLoss(next),
    };
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

  /** `ssh <client args>`, once the host's ControlMaster is up (started when it is not). */
  async #args(): Promise<string[]> {
    if (this.#local) return ["sh", "-c"];
    if (!this.#retained) {
      this.#socket = retainMaster(this.#controlDir, this.#muxKey);
      this.#retained = true;
    }
    await ensureMaster(this.#muxKey, this.#argsFor("master"));
    return ["ssh", ...this.#argsFor("client")];
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
    if (Deno.build.standalone && !this.#local) {
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
      // the local agent runs the worker from its source, as the local transport does
      const bundle = this.#local ? undefined : await workerBundle(this.#scripts, spec.exec);
      const link = await this.#connect(spec.exec, bundle, signal);
      if (bundle !== undefined && !link.has.has(bundle.hash)) {
        // a script the agent's launcher did not check: probe (and upload) it first
        await ensureOnHost(this.#ctx, this.#muxKey, [bundle]);
        link.has.add(bundle.hash);
      }
      signal.throwIfAborted();
      const key = ++this.#key;
      let started: Awaited<ReturnType<AgentSession["start"]>>;
      try {
        // sent at once: before `ready`, the command waits in the pipe for the agent
        started = await link.session.start(
          key,
          this.#local ? localStartSpec(spec) : startSpec(spec, bundle),
          onOutput,
          resourcesOf(this.#onResources, spec.id),
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
      this.#where.track(key, spec.id, started.pid, link);
      started.status.finally(() => this.#forget(key));
      if (signal.aborted) owner.session.signal(key, "SIGKILL");
      return instanceHandle(
        key,
        started,
        owner,
        () => owner.session.kept || this.#reattaching.size > 0,
      );
    }
  }

  #forget(key: number): void {
    this.#owners.delete(key);
    this.#where.forget(key);
  }

  /** Where this transport's instances run now, by agent; see {@linkcode Transport.records}. */
  records(): AgentHandle[] {
    return this.#where.records();
  }

  /**
   * Takes over the instances a previous master left at `agents` (see
   * {@linkcode Transport.adopt}): a new session to each agent's socket,
   * with the run's secret; the replay starts after what the old master
   * acknowledged (what it wrote to its log).
   */
  async adopt(agents: AgentHandle[], options: AdoptOptions = {}): Promise<Map<number, AdoptedRun>> {
    const out = new Map<number, AdoptedRun>();
    await Promise.all(agents.map((handle) =>
      adoptFrom(handle, options, out, {
        ctx: this.#ctx,
        owners: this.#owners,
        onResources: this.#onResources,
        reserveKeys: (last) => this.#key = Math.max(this.#key, last),
        reached: () => this.#reached = true,
        where: this.#where,
        forget: (key) => this.#forget(key),
        reattaching: () => this.#reattaching.size > 0,
      })
    ));
    return out;
  }

  /** Ends without stopping the instances: each agent keeps them for its adopt window. */
  async leave(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#connecting?.catch(() => {});
    const sessions = new Set([...this.#owners.values()].map((o) => o.session));
    if (this.#link !== undefined) sessions.add(this.#link.session);
    for (const s of sessions) s?.leave();
    if (this.#retained) await releaseMaster(this.#muxKey);
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
      const link = await spawnAgent(this.#ctx, exec, bundle, {
        muxKey: this.#muxKey,
        grace: this.#grace,
        adopt: this.#adopt,
        install: () => this.#install,
        installed: () => this.#install = false,
        missing: () => this.#install = true,
      });
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
        const p = reattach(this.#ctx, link, reason);
        this.#reattaching.add(p);
        p.finally(() => this.#reattaching.delete(p));
        return;
      }
      if (this.#link === link && !this.#closed) this.#backoff(); // not when a new session took over already
    });
  }

  #backoff(): void {
    this.#failures++;
    this.#nextAttempt = Date.now() + backoffDelay(this.#failures, 1000, 30_000);
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
