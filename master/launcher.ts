// Long on purpose: the public API (its options and some 20 methods) with its JSDoc, a quarter of the file; the work is in _fleet, _group_ops, _reloader and _handover.ts.
/**
 * The master: runs groups of instances locally and on remote hosts, and
 * returns when every instance has ended.
 *
 * @module
 */

import { plural } from "../_shared/plural.ts";
import { DEFAULTS, validateGroups, validateLaunchOptions } from "./config.ts";
import { emit, type EventHandlers, type InstanceInfo } from "./events.ts";
import { defaultLogger } from "./log.ts";
import { plan } from "./plan.ts";
import type { Instance } from "./instance.ts";
import type { ApplyOptions, ApplyReport } from "./reload.ts";
import { stopLevels } from "./_dependencies.ts";
import { Fleet, type LogLevel } from "./_fleet.ts";
import {
  restartGroup,
  restartInstance,
  resumeGroup,
  scaleGroup,
  suspendGroup,
} from "./_group_ops.ts";
import { Reloader } from "./_reloader.ts";
import { supervisorSettings } from "./_settings.ts";
import { listenStopSignals, type StopSignal } from "./_signals.ts";
import { TransportPool } from "./_transport_pool.ts";
import { DEFAULT_TRANSPORTS, localAgentTransport } from "./transports/defaults.ts";
import { Handover } from "./_handover.ts";
import type { InstanceResources, TransportFactories } from "./transports/types.ts";
import type { GroupConfig, LaunchOptions, Logger } from "./types.ts";

/** Options of a {@linkcode Launcher}. */
export interface LauncherOptions extends LaunchOptions {
  /**
   * A private directory (0700, created when missing) where the master keeps
   * its run's state (`state.json`, 0600): the run's id and secret and where
   * each instance runs. A new master given the same directory adopts the
   * instances a previous one left running (SIGKILL, crash,
   * {@linkcode Launcher.leave}) within `adoptWindow`. Unset: nothing is
   * kept, no adoption across master processes. @default {none}
   */
  stateDir?: string;
  /** Where log records go. @default {text lines on stdout} */
  logger?: Logger;
  /** Event hooks. @default {{}} */
  events?: EventHandlers;
  /** Stop on SIGINT/SIGTERM (a second one forces the stop). @default {true} */
  handleSignals?: boolean;
  /** Directory relative commands and paths are resolved against. @default {Deno.cwd()} */
  cwd?: string;
  /**
   * Transport factories by process config `type`, over the defaults (`local`:
   * this machine; `remote`: SSH). A factory is called once per target key
   * (every local instance shares one transport; a remote one has one per
   * group, process config and host). See `Transport` for a third transport.
   * @default {{ local: localTransport, remote: sshTransport }}
   */
  transports?: TransportFactories;
}

/** What {@linkcode Launcher.run} resolves to. */
export interface RunSummary {
  /** True when every instance ended cleanly or was stopped on request. */
  ok: boolean;
  /** Why `run()` returned (`left`: {@linkcode Launcher.leave} handed the instances on). */
  reason: "finished" | "stopped" | "max-running-time" | "signal" | "left";
  /** The signal that stopped the launcher, when `reason` is `"signal"`. */
  signal?: "SIGINT" | "SIGTERM";
  /** The final state of each instance. */
  instances: InstanceInfo[];
}

type FlushableLogger = Logger & { flush?: () => void | Promise<void> };

/**
 * Starts groups of worker instances and supervises them.
 *
 * @example
 * ```ts ignore
 * import { Launcher } from "./launcher.ts";
 * const launcher = new Launcher({ timeout: 10 });
 * const summary = await launcher.run([{
 *   name: "First Group",
 *   command: "examples/script1.ts",
 *   params: { message: "Hello World!" },
 *   processes: [{ type: "local", instances: 3 }],
 * }]);
 * console.log(summary.ok);
 * ```
 */
export class Launcher {
  readonly #logger: FlushableLogger;
  readonly #events: EventHandlers;
  readonly #options: Required<LaunchOptions>;
  readonly #handleSignals: boolean;
  readonly #cwd: string;
  readonly #stateDir: string | undefined;
  /** The run's state file, with adoption on (stateDir and adoptWindow). */
  #handover: Handover | undefined;
  /** Resolved by {@linkcode leave}. */
  #left: PromiseWithResolvers<"left"> = Promise.withResolvers();
  #leaving = false;
  readonly #transports: TransportPool;
  readonly #fleet: Fleet;
  readonly #reloader: Reloader;
  #running = false;
  #stopping: Promise<void> | undefined;
  #reason: RunSummary["reason"] = "finished";
  #signal: StopSignal | undefined;
  #done: Promise<RunSummary> | undefined;
  #ready: PromiseWithResolvers<void> = Promise.withResolvers();

  /** Creates a launcher; throws a `ConfigError` on invalid options. */
  constructor(options: LauncherOptions = {}) {
    const {
      logger,
      events = {},
      handleSignals = true,
      cwd = Deno.cwd(),
      transports = {},
      stateDir,
      ...rest
    } = options;
    this.#stateDir = stateDir;
    const o = validateLaunchOptions(rest, []);
    this.#logger = logger ?? defaultLogger();
    this.#events = events;
    this.#handleSignals = handleSignals;
    this.#cwd = cwd;
    this.#options = { ...DEFAULTS, ...o }; // o holds only the options given (no undefined)
    const { gracePeriod, sshLease, adoptWindow } = this.#options;
    // handover: local instances run under a local agent too, so that they can outlive the master
    const adopting = stateDir !== undefined && adoptWindow > 0;
    this.#transports = new TransportPool(
      { ...DEFAULT_TRANSPORTS, ...(adopting ? { local: localAgentTransport } : {}), ...transports },
      {
        logger: this.#logger,
        gracePeriod,
        sshLease,
        adoptWindow,
        onResources: (r) => this.#emit(r),
        ...(adopting
          ? {
            onRecordsChange: () => this.#handover?.schedule(),
            written: async () => await this.#logger.flush?.(),
          }
          : {}),
      },
    );
    this.#fleet = new Fleet({
      transports: this.#transports,
      logger: this.#logger,
      events: this.#events,
      stopping: () => this.#stopping !== undefined,
      log: (level, message) => this.#log(level, message),
      changed: () => this.#handover?.schedule(), // readiness, kept in the state file
    });
    this.#reloader = new Reloader({
      fleet: this.#fleet,
      transports: this.#transports,
      options: this.#options,
      cwd: this.#cwd,
      running: () => this.#running,
      ready: () => this.#ready.promise,
    });
  }

  /**
   * Validates `groups`, starts every instance and resolves when all of them
   * have ended (in service mode, or while a group is suspended: when
   * {@linkcode Launcher.stop} is called). Throws a `ConfigError` before
   * anything starts when the config is invalid.
   */
  run(groups: readonly GroupConfig[]): Promise<RunSummary> {
    if (this.#running) return Promise.reject(new Error("Launcher.run() is already running"));
    let valid: GroupConfig[];
    try {
      valid = validateGroups(groups, { cwd: this.#cwd });
    } catch (error) {
      return Promise.reject(error);
    }
    try {
      this.#openHandover();
    } catch (error) {
      return Promise.reject(error);
    }
    this.#running = true;
    this.#ready = Promise.withResolvers();
    this.#left = Promise.withResolvers();
    this.#leaving = false;
    this.#done = this.#run(valid).finally(() => {
      this.#running = false;
    });
    return this.#done;
  }

  /** With adoption on: the state directory, and the run's identity (a previous master's to adopt from). */
  #openHandover(): void {
    this.#handover = undefined;
    if (this.#stateDir === undefined || this.#options.adoptWindow <= 0) return;
    const handover = new Handover(this.#stateDir, this.#options.adoptWindow);
    this.#handover = handover;
    this.#transports.configure({ run: handover.run });
  }

  async #run(groups: GroupConfig[]): Promise<RunSummary> {
    const o = this.#options;
    const fleet = this.#fleet;
    const specs = plan(groups, { timeout: o.timeout, cwd: this.#cwd });
    this.#stopping = undefined;
    this.#reason = "finished";
    this.#signal = undefined;
    fleet.reset(groups, specs, supervisorSettings(o), o.service);
    const removeSignals = this.#handleSignals
      ? listenStopSignals((name, count) => this.#onSignal(name, count))
      : () => {};
    const started = Date.now();
    let tick: ReturnType<typeof setInterval> | undefined;
    try {
      const instances: Instance[] = [];
      for (const spec of specs) {
        instances.push(await fleet.make(spec));
      }
      fleet.replaceAll(instances);
      await this.#handover?.begin(instances, {
        transports: this.#transports,
        instances: () => fleet.instances,
        graceMs: o.gracePeriod * 1000,
        log: (level, message) => this.#log(level, message),
      });
      const what = `${plural(specs.length, "instance")} in ${plural(groups.length, "group")}`;
      this.#log(
        "info",
        o.service
          ? `service mode: ${what}, every group suspended until resumed`
          : `starting ${what}`,
      );
      emit(this.#events, { kind: "launcherStarting", instances: specs.length });
      tick = setInterval(() => this.#check(started), o.checkInterval * 1000);
      for (const name of this.groupNames()) {
        const members = instances.filter((i) => i.spec.group === name);
        if (this.#stopping !== undefined) await Promise.all(members.map((i) => i.stop("stopped")));
        else if (fleet.isSuspended(name)) {
          await Promise.all(members.map((i) => i.stop("suspended")));
        } else fleet.startOrHold(name, members); // dependsOn: held until its groups are ready
      }
      this.#ready.resolve();
      emit(this.#events, { kind: "launcherStarted" });
      const left = this.#left.promise;
      while (true) {
        const all = Promise.all(fleet.instances.map((i) => i.whenDone()));
        if (await Promise.race([all, left]) === "left") break;
        if (fleet.instances.some((i) => !i.done)) continue;
        if (this.#stopping !== undefined) break;
        if (!fleet.waiting(o.service)) break;
        if (await Promise.race([fleet.nextChange(), left]) === "left") break;
      }
      if (!this.#leaving) await this.#stopping;
    } finally {
      this.#ready.resolve();
      clearInterval(tick);
      removeSignals();
      if (this.#handover !== undefined) {
        await this.#handover.finish(this.#leaving, this.#transports);
      } else await this.#transports.close();
    }
    const infos = this.#fleet.instances.map((i) => i.info());
    const ok = this.#leaving ||
      infos.every((i) => i.state === "ended" || i.state === "stopped" || i.state === "suspended");
    if (this.#leaving) {
      const n = infos.filter((i) => i.state === "running" || i.state === "starting").length;
      this.#log(
        "notice",
        `left ${plural(n, "instance")} running for the next master ` +
          `(adoptWindow ${o.adoptWindow} s, state in ${this.#stateDir})`,
      );
    } else this.#log(ok ? "info" : "warning", `all instances are done (${summarise(infos)})`);
    emit(this.#events, { kind: "launcherStopped" });
    await this.#logger.flush?.();
    const signal = this.#signal;
    const reason = this.#leaving ? "left" : this.#reason;
    return { ok, reason, ...(signal ? { signal } : {}), instances: infos };
  }

  /** A remote instance's CPU and memory, measured by its host's agent: a `instanceResources` event. */
  #emit(usage: InstanceResources): void {
    emit(this.#events, { kind: "instanceResources", ...usage });
  }

  #check(started: number): void {
    const now = Date.now();
    emit(this.#events, { kind: "check", time: now });
    for (const inst of this.#fleet.instances) inst.check(now);
    const max = this.#options.maxRunningTime;
    if (max > 0 && now - started >= max * 1000 && this.#stopping === undefined) {
      this.#log("notice", `maximum running time of ${max} s reached, stopping`);
      this.#reason = "max-running-time";
      void this.stop();
    }
  }

  /** The first stop signal stops gracefully, the next ones kill every instance now. */
  #onSignal(name: StopSignal, count: number): void {
    this.#reason = "signal";
    this.#signal ??= name;
    if (count === 1) {
      this.#log("notice", `received ${name}, stopping (send it again to force)`);
      void this.stop();
    } else {
      this.#log("warning", `received ${name} again, killing every instance now`);
      for (const inst of this.#fleet.instances) void inst.stop("stopped", 0);
    }
  }

  /**
   * Stops every instance gracefully (SIGTERM, then SIGKILL to its process
   * group after the grace period) and resolves once `run()` has returned.
   */
  stop(): Promise<void> {
    if (!this.#running) return Promise.resolve();
    if (this.#leaving) return this.#done!.then(() => {}); // handed on: not ours to stop
    if (this.#stopping === undefined) {
      if (this.#reason === "finished") this.#reason = "stopped";
      this.#log("info", "stopping every instance");
      // instances are still being set up when stop() comes right after run(): wait for them
      // dependents first: a group stops once every group that depends on it is gone
      this.#stopping = this.#ready.promise.then(() =>
        this.#fleet.stopInOrder(this.#fleet.instances)
      );
      this.#fleet.wake();
    }
    return this.#stopping.then(() => this.#done).then(() => {});
  }

  /**
   * Ends the run now without stopping any instance: each is left to its
   * agent, which keeps it running for `adoptWindow` seconds for a new master
   * with the same `stateDir` to adopt (else stops it). `run()` resolves.
   * Rejects when adoption is off (`adoptWindow` 0 or no `stateDir`).
   */
  leave(): Promise<void> {
    if (!this.#running) return Promise.resolve();
    if (this.#handover === undefined) {
      return Promise.reject(
        new Error(
          "cannot leave the instances running: adoption is off (it needs adoptWindow > 0 " +
            `(now ${this.#options.adoptWindow}) and a stateDir${
              this.#stateDir === undefined ? ", which is not set" : ""
            })`,
        ),
      );
    }
    if (this.#stopping !== undefined) {
      return Promise.reject(new Error("cannot leave the instances running: they are stopping"));
    }
    if (!this.#leaving) {
      this.#leaving = true;
      this.#log("info", "leaving every instance to its agent for the next master");
      this.#left.resolve("left");
    }
    return this.#done!.then(() => {});
  }

  /**
   * Stops a group's instances (at once with `force`, else gracefully) and
   * keeps them stopped until {@linkcode Launcher.resumeGroup}.
   */
  suspendGroup(name: string, options: { force?: boolean } = {}): Promise<void> {
    const grace = options.force ? 0 : this.#options.gracePeriod * 1000;
    return suspendGroup(this.#fleet, name, grace);
  }

  /**
   * Starts a suspended group's instances again, with their ids. Returns how
   * many were started (0 when none was suspended).
   */
  resumeGroup(name: string): number {
    return resumeGroup(this.#fleet, name);
  }

  /** Suspends every group, dependents first. */
  async suspendAll(options: { force?: boolean } = {}): Promise<void> {
    for (const level of stopLevels(this.#fleet.groups)) {
      await Promise.all(level.map((g) => this.suspendGroup(g, options)));
    }
  }

  /** Resumes every group; returns how many instances were started. */
  resumeAll(): number {
    let started = 0;
    for (const g of this.groupNames()) started += this.resumeGroup(g);
    return started;
  }

  /**
   * Changes the number of instances per host of a group at run time, from 0
   * (the group stays known, with no instance, and keeps `run()` waiting like
   * a suspended group) to {@linkcode MAX_INSTANCES}. New instances get the
   * next free ids; when scaling down, the instances with the highest
   * `groupId` on each host are stopped gracefully and removed. The instances
   * that stay get the new `groupCount` (in `list()`, and in their context when
   * they restart) and, while running, are told it on their stdin (the
   * Handler's `onGroupCountChange`); when scaling down, once the removed ones
   * have stopped. Throws a
   * `RangeError` when the number is out of bounds or when this system's
   * open-files or process limit cannot hold the new local instances.
   */
  scaleGroup(name: string, instancesPerHost: number): Promise<void> {
    return scaleGroup(this.#fleet, name, instancesPerHost);
  }

  /**
   * Restarts a group one instance at a time: the next one is stopped only
   * once the new one is ready (for a group with `waitReady`: it said
   * `@distarch/1 ready`) and alive (running and has printed or pinged).
   * Throws when a new instance is not both within `aliveTimeout` seconds,
   * leaving the rest untouched.
   */
  restartGroup(name: string, options: { aliveTimeout?: number } = {}): Promise<void> {
    const { aliveTimeout = 30 } = options;
    return restartGroup(this.#fleet, name, aliveTimeout);
  }

  /**
   * Restarts one instance, found by its id: stops it gracefully and starts it
   * again with the same ids; resolves once the new run is alive (running and
   * has printed or pinged). Throws when no instance has that id, when it is
   * suspended, or when the new run is not alive within `aliveTimeout` seconds.
   */
  restartInstance(id: number, options: { aliveTimeout?: number } = {}): Promise<void> {
    const { aliveTimeout = 30 } = options;
    return restartInstance(this.#fleet, id, aliveTimeout);
  }

  /**
   * Applies a new config to the running launcher without restarting it
   * (a live reload; see the README's "Live reload" for what counts as
   * changed). Validates first: throws the same `ConfigError` as
   * {@linkcode Launcher.run} and changes nothing when `groups` or
   * `options.options` are invalid (a `RangeError` when this system cannot
   * hold the new local instances). Then stops removed groups (dependents
   * first), rescales, starts added groups (respecting `dependsOn`) and
   * replaces changed instances, rolling by default; resolves with what it
   * did, once every replacement is done (or halted: the group's report says
   * why in `halted`). Unchanged instances are not touched;
   * new ones get ids no instance held before. A call made while another one
   * is applied waits for it, and is planned against what it left.
   *
   * @example
   * ```ts ignore
   * const report = await launcher.apply([...groups, { name: "extra", command: "w.sh",
   *   processes: [{ type: "local", instances: 2 }] }]);
   * console.log(reportLines(report).join("\n")); // "…\nextra: added"
   * ```
   */
  apply(groups: readonly GroupConfig[], options: ApplyOptions = {}): Promise<ApplyReport> {
    return this.#reloader.apply(groups, options);
  }

  /** Names of the groups being run (also those scaled to 0), in config order. */
  groupNames(): string[] {
    return this.#fleet.groupNames();
  }

  /** A snapshot of every instance. */
  list(): InstanceInfo[] {
    return this.#fleet.instances.map((i) => i.info());
  }

  #log(level: LogLevel, message: string): void {
    this.#logger.log({ level, message, time: Date.now() });
  }
}

function summarise(infos: InstanceInfo[]): string {
  const counts = new Map<string, number>();
  for (const i of infos) counts.set(i.state, (counts.get(i.state) ?? 0) + 1);
  return [...counts].map(([s, n]) => `${n} ${s}`).join(", ") || "no instance";
}
