/**
 * Running instances on a remote host through the system OpenSSH client: one
 * SSH session per transport, at the end of which a host agent
 * (`slave/agent.ts`, shipped by the master) starts the instances and relays
 * their output. Connections to one host share one ControlMaster.
 *
 * @module
 */

import type { Exec, InstanceSpec } from "../plan.ts";
import type { Logger, LogRecord, RemoteProcessConfig } from "../types.ts";
import { argvFor } from "./local.ts";
import type { OutputHandler, RunningInstance, Transport } from "./types.ts";
import { StartError } from "./types.ts";
import {
  isAuthFailure,
  lastLine,
  remoteCommand,
  sshArgs,
  weakensHostKeyChecking,
} from "./_ssh_args.ts";
import { AgentSession } from "./_ssh_session.ts";
import {
  controlDirFor,
  ensureMaster,
  releaseMaster,
  retainMaster,
  runSsh,
  serialize,
} from "./_ssh_control.ts";
import {
  agentArtifact,
  type Artifact,
  bundleArtifact,
  ensureArtifacts,
  ProbeError,
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
  /** Private (0700) directory for ControlMaster sockets. @default {a fresh /tmp/distarch-<uid>-<random>} */
  controlDir?: string;
}

type Signal = "SIGTERM" | "SIGKILL" | "SIGINT" | "SIGHUP";

/** Runs instances on one remote host. */
export class SshTransport implements Transport {
  /** The host's name as configured. */
  readonly host: string;
  readonly #config: RemoteProcessConfig;
  readonly #logger: Logger;
  readonly #grace: number;
  readonly #lease: number;
  readonly #controlDir: string;
  #session: AgentSession | undefined;
  #connecting: Promise<AgentSession> | undefined;
  #runtime: string | undefined;
  #failures = 0;
  #nextAttempt = 0;
  #fatal: StartError | undefined;
  #key = 0;
  #retained = false;
  #socket = "";
  readonly #muxKey: string;
  #closed = false;
  readonly #scripts = new Map<string, Promise<string>>();

  /** Creates the transport; nothing happens until the first {@linkcode start}. */
  constructor(options: SshTransportOptions) {
    const { host, config, logger, gracePeriod = 10, lease = 10, controlDir } = options;
    this.host = host;
    this.#config = config;
    this.#logger = logger;
    this.#grace = gracePeriod * 1000;
    this.#lease = lease * 1000;
    this.#controlDir = controlDir ?? controlDirFor();
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

  /** Starts one instance; see {@linkcode Transport.start}. */
  async start(
    spec: InstanceSpec,
    onOutput: OutputHandler,
    signal: AbortSignal,
  ): Promise<RunningInstance> {
    signal.throwIfAborted();
    if (this.#closed) throw new StartError(`The transport to ${this.host} is closed`);
    if (this.#fatal) throw this.#fatal;
    const session = await this.#connect(spec.exec, signal);
    const script = await this.#script(spec.exec);
    signal.throwIfAborted();
    const key = ++this.#key;
    const argv = argvFor(spec.exec, this.#runtime ?? "@deno", script);
    let started: Awaited<ReturnType<AgentSession["start"]>>;
    try {
      started = await session.start(key, {
        argv,
        ...(spec.cwd !== undefined ? { cwd: spec.cwd } : {}),
        env: spec.env,
        ...(spec.priority !== undefined ? { priority: spec.priority } : {}),
        stdinLine: JSON.stringify(spec.context) + "\n",
      }, onOutput);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw new StartError(`Cannot start ${spec.label} on ${this.host}: ${why}`, { cause: error });
    }
    if (signal.aborted) session.signal(key, "SIGKILL");
    return {
      pid: started.pid,
      kill: (sig: Deno.Signal) => {
        if (session.alive) session.signal(key, sig as Signal);
      },
      status: started.status,
    };
  }

  /** The remote path of the script `exec` runs: a bundle uploaded for a local Deno script. */
  #script(exec: Exec): Promise<string> {
    if (exec.kind !== "deno") return Promise.resolve(exec.command);
    let p = this.#scripts.get(exec.script);
    if (p === undefined) {
      p = (async () => {
        try {
          await Deno.stat(exec.script);
        } catch {
          return exec.script; // not on this machine: a path on the host
        }
        const name = (exec.script.split("/").pop() ?? "worker").replace(/[^\w.-]/g, "_")
          .replace(/\.[^.]*$/, "") + ".js";
        let bundle: Artifact;
        try {
          bundle = await bundleArtifact(exec.script, name);
        } catch (error) {
          throw new StartError(String(error instanceof Error ? error.message : error), {
            fatal: true,
            cause: error,
          });
        }
        const r = await this.#ensure([bundle]);
        return r.paths.get(bundle.hash)!;
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
    const why = error instanceof Error ? error.message : String(error);
    return new StartError(`Cannot prepare ${this.host}: ${why}`, { cause: error });
  }

  #fail(message: string, cause?: unknown): StartError {
    this.#fatal = new StartError(message, { fatal: true, cause });
    this.#log("error", message);
    return this.#fatal;
  }

  async #connect(exec: Exec, signal: AbortSignal): Promise<AgentSession> {
    if (this.#session?.alive) return this.#session;
    this.#connecting ??= this.#open(exec, signal).finally(() => this.#connecting = undefined);
    return await this.#connecting;
  }

  async #open(exec: Exec, signal: AbortSignal): Promise<AgentSession> {
    const wait = this.#nextAttempt - Date.now();
    if (wait > 0) {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(done, wait);
        function done() {
          signal.removeEventListener("abort", abort);
          resolve();
        }
        function abort() {
          clearTimeout(t);
          reject(signal.reason);
        }
        signal.addEventListener("abort", abort, { once: true });
      });
    }
    try {
      const session = await this.#spawnAgent(exec);
      this.#failures = 0;
      this.#session = session;
      session.closed.then((reason) => {
        if (this.#closed || reason === "closed") return;
        this.#log("warning", `lost the SSH session to ${this.host}: ${reason}`);
        this.#backoff();
      });
      return session;
    } catch (error) {
      this.#backoff();
      throw error;
    }
  }

  #backoff(): void {
    this.#failures++;
    const base = Math.min(30_000, 1000 * 2 ** (this.#failures - 1));
    this.#nextAttempt = Date.now() + base * (0.5 + Math.random() / 2);
  }

  async #spawnAgent(exec: Exec): Promise<AgentSession> {
    const binPath = exec.kind === "deno" ? exec.binPath : undefined;
    const wanted = [await agentArtifact()];
    if (binPath === undefined) wanted.push(await runtimeArtifact());
    const r = await this.#ensure(wanted, binPath);
    if (binPath !== undefined && !r.binFound) {
      throw this.#fail(`The Deno runtime ${JSON.stringify(binPath)} is missing on ${this.host}`);
    }
    this.#runtime = binPath ?? r.paths.get(wanted[1]!.hash)!;
    const agent = r.paths.get(wanted[0]!.hash)!;
    const command = remoteCommand([
      this.#runtime,
      "run",
      "-A",
      "--no-prompt",
      agent,
      `--lease=${this.#lease}`,
      `--grace=${this.#grace}`,
    ], { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" });
    const session = new AgentSession(
      [...this.#argsFor("client"), command],
      this.#lease,
      (line) => this.#log("warning", `ssh ${this.host}: ${line}`),
    );
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        session.ready,
        new Promise((_, reject) =>
          timer = setTimeout(() => reject(new Error("the agent did not start in 30 s")), 30_000)
        ),
      ]);
    } catch (error) {
      session.abort("the agent did not start");
      await session.closed;
      const why = lastLine(session.stderr) || (error instanceof Error ? error.message : "");
      if (isAuthFailure(session.stderr)) {
        throw this.#fail(`SSH to ${this.host} refused our credentials: ${why}`, error);
      }
      throw new StartError(`Cannot start the agent on ${this.host}: ${why}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
    return session;
  }

  /** Says bye to the agent, ends the session and, when last, the ControlMaster. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#connecting?.catch(() => {});
    await this.#session?.close(2000);
    if (this.#retained) await releaseMaster(this.#muxKey);
  }
}
