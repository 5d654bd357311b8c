/**
 * The master: runs groups of instances locally and on remote hosts, and
 * returns when every instance has ended.
 *
 * @module
 */

import { plural } from "../_shared/plural.ts";
import { capacityProblem, readCapacity } from "./_limits.ts";
import { DEFAULTS, MAX_INSTANCES, validateGroups, validateLaunchOptions } from "./config.ts";
import { emit, type EventHandlers, type InstanceInfo } from "./events.ts";
import { defaultLogger } from "./log.ts";
import { type InstanceSpec, plan } from "./plan.ts";
import { rescale } from "./_respec.ts";
import { Instance } from "./process.ts";
import { stopLevels } from "./_dependencies.ts";
import { StartGates } from "./_gates.ts";
import { planReload, rekey, slotKey } from "./_apply.ts";
import { type ApplyOptions, type ApplyReport, optionChanges, reportLines } from "./reload.ts";
import { rollingRestart } from "./_group_ops.ts";
import { type SupervisorSettings, supervisorSettings } from "./_settings.ts";
import { listenStopSignals, type StopSignal } from "./_signals.ts";
import { TransportPool } from "./_transport_pool.ts";
import { DEFAULT_TRANSPORTS } from "./transports/defaults.ts";
import type { InstanceResources, TransportFactories } from "./transports/types.ts";
import type { GroupConfig, LaunchOptions, Logger } from "./types.ts";

/** Options of a {@linkcode Launcher}. */
export interface LauncherOptions extends LaunchOptions {
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
  /** Why `run()` returned. */
  reason: "finished" | "stopped" | "max-running-time" | "signal";
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
  #instances: Instance[] = [];
  /** The validated groups being run (the last reload's, after one). */
  #groups: GroupConfig[] = [];
  /** The highest id handed out so far: new instances get higher ones. */
  #lastId = 0;
  /** Reloads so far: each one's new slots (and SSH sessions) are its own. */
  #generation = 0;
  /** The reload being applied, if any: the next one waits for it. */
  #applying: Promise<unknown> = Promise.resolve();
  readonly #gates: StartGates = new StartGates(
    () => this.#instances,
    (message) => this.#log("notice", message),
    () => this.#stopping !== undefined,
  );
  /** Per group, in config order: per slot, the spec new instances of the slot are made from. */
  #slots = new Map<string, Map<string, InstanceSpec>>();
  #settings: SupervisorSettings | undefined;
  #ops = 0;
  readonly #transports: TransportPool;
  #running = false;
  #stopping: Promise<void> | undefined;
  #reason: RunSummary["reason"] = "finished";
  #signal: StopSignal | undefined;
  #wake: (() => void) | undefined;
  #suspended = new Set<string>();
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
      ...rest
    } = options;
    const o = validateLaunchOptions(rest, []);
    this.#logger = logger ?? defaultLogger();
    this.#events = events;
    this.#handleSignals = handleSignals;
    this.#cwd = cwd;
    this.#options = { ...DEFAULTS, ...o }; // o holds only the options given (no undefined)
    const { gracePeriod, sshLease, adoptWindow } = this.#options;
    this.#transports = new TransportPool(
      { ...DEFAULT_TRANSPORTS, ...transports },
      {
        logger: this.#logger,
        gracePeriod,
        sshLease,
        adoptWindow,
        onResources: (r) => this.#emit(r),
      },
    );
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
    this.#running = true;
    this.#ready = Promise.withResolvers();
    this.#done = this.#run(valid).finally(() => {
      this.#running = false;
    });
    return this.#done;
  }

  async #run(groups: GroupConfig[]): Promise<RunSummary> {
    const o = this.#options;
    const specs = plan(groups, { timeout: o.timeout, cwd: this.#cwd });
    const settings = supervisorSettings(o);
    this.#settings = settings;
    this.#stopping = undefined;
    this.#reason = "finished";
    this.#signal = undefined;
    this.#suspended = new Set(o.service ? groups.map((g) => g.name) : []);
    this.#groups = groups;
    this.#lastId = specs.length;
    this.#gates.setGroups(groups);
    this.#slots = new Map(groups.map((g) => [g.name, new Map()]));
    for (const spec of specs) {
      const slots = this.#slots.get(spec.group)!;
      if (!slots.has(spec.slot)) slots.set(spec.slot, spec);
    }
    const removeSignals = this.#handleSignals
      ? listenStopSignals((name, count) => this.#onSignal(name, count))
      : () => {};
    const started = Date.now();
    let tick: ReturnType<typeof setInterval> | undefined;
    try {
      const instances: Instance[] = [];
      for (const spec of specs) {
        instances.push(await this.#instance(spec, settings));
      }
      this.#instances = instances;
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
        else if (this.#suspended.has(name)) {
          await Promise.all(members.map((i) => i.stop("suspended")));
        } else this.#gates.admit(name, members); // dependsOn: held until its groups are ready
      }
      this.#ready.resolve();
      emit(this.#events, { kind: "launcherStarted" });
      while (true) {
        await Promise.all(this.#instances.map((i) => i.whenDone()));
        if (this.#instances.some((i) => !i.done)) continue;
        if (this.#stopping !== undefined) break;
        const waiting = o.service || this.#ops > 0 ||
          this.#instances.some((i) => i.state === "suspended") ||
          this.groupNames().some((g) => !this.#instances.some((i) => i.spec.group === g));
        if (!waiting) break;
        await new Promise<void>((resolve) => this.#wake = resolve);
        this.#wake = undefined;
      }
      await this.#stopping;
    } finally {
      this.#ready.resolve();
      clearInterval(tick);
      removeSignals();
      await this.#transports.close();
    }
    const infos = this.#instances.map((i) => i.info());
    const ok = infos.every((i) =>
      i.state === "ended" || i.state === "stopped" || i.state === "suspended"
    );
    this.#log(ok ? "info" : "warning", `all instances are done (${summarise(infos)})`);
    emit(this.#events, { kind: "launcherStopped" });
    await this.#logger.flush?.();
    const signal = this.#signal;
    return { ok, reason: this.#reason, ...(signal ? { signal } : {}), instances: infos };
  }

  /** A remote instance's CPU and memory, measured by its host's agent: a `processResources` event. */
  #emit(usage: InstanceResources): void {
    emit(this.#events, { kind: "processResources", ...usage });
  }

  async #instance(spec: InstanceSpec, settings: SupervisorSettings): Promise<Instance> {
    const transport = await this.#transports.for(spec.target);
    const inst = new Instance(spec, transport, this.#logger, this.#events, settings);
    inst.onChange = () => this.#gates.pump();
    this.#lastId = Math.max(this.#lastId, spec.id);
    return inst;
  }

  /**
   * Runs `action` on `instances` group by group, dependents first, each
   * level once the one before it is done (groups no longer configured last).
   */
  async #inStopOrder(
    instances: readonly Instance[],
    action: (i: Instance) => Promise<void>,
    groups: readonly GroupConfig[] = this.#groups,
  ): Promise<void> {
    const levels = stopLevels(groups);
    const known = new Set(levels.flat());
    levels.push([...new Set(instances.map((i) => i.spec.group).filter((g) => !known.has(g)))]);
    for (const level of levels) {
      const names = new Set(level);
      await Promise.all(instances.filter((i) => names.has(i.spec.group)).map(action));
    }
  }

  #check(started: number): void {
    const now = Date.now();
    emit(this.#events, { kind: "check", time: now });
    for (const inst of this.#instances) inst.check(now);
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
      for (const inst of this.#instances) void inst.stop("stopped", 0);
    }
  }

  /**
   * Stops every instance gracefully (SIGTERM, then SIGKILL to its process
   * group after the grace period) and resolves once `run()` has returned.
   */
  stop(): Promise<void> {
    if (!this.#running) return Promise.resolve();
    if (this.#stopping === undefined) {
      if (this.#reason === "finished") this.#reason = "stopped";
      this.#log("info", "stopping every instance");
      // instances are still being set up when stop() comes right after run(): wait for them
      // dependents first: a group stops once every group that depends on it is gone
      this.#stopping = this.#ready.promise.then(() =>
        this.#inStopOrder(this.#instances, (i) => i.stop("stopped"))
      );
      this.#wake?.();
    }
    return this.#stopping.then(() => this.#done).then(() => {});
  }

  /**
   * Stops a group's instances (at once with `force`, else gracefully) and
   * keeps them stopped until {@linkcode Launcher.resumeGroup}.
   */
  async suspendGroup(name: string, options: { force?: boolean } = {}): Promise<void> {
    const members = this.#members(name);
    this.#suspended.add(name);
    this.#log("notice", `suspending group ${JSON.stringify(name)}`);
    const grace = options.force ? 0 : this.#options.gracePeriod * 1000;
    await Promise.all(members.map((i) => i.stop("suspended", grace)));
  }

  /**
   * Starts a suspended group's instances again, with their ids. Returns how
   * many were started (0 when none was suspended).
   */
  resumeGroup(name: string): number {
    const members = this.#members(name);
    this.#suspended.delete(name);
    // suspended ones, and those a dependency that gave up kept from starting
    const suspended = members.filter((i) =>
      i.state === "suspended" || (i.state === "failed" && i.info().lastReason === "dependency")
    );
    if (suspended.length > 0) {
      this.#log("notice", `resuming group ${JSON.stringify(name)}`);
      this.#gates.admit(name, suspended); // dependsOn: held until its groups are ready
    }
    this.#wake?.();
    return suspended.length;
  }

  /** Suspends every group, dependents first. */
  async suspendAll(options: { force?: boolean } = {}): Promise<void> {
    for (const level of stopLevels(this.#groups)) {
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
  async scaleGroup(name: string, instancesPerHost: number): Promise<void> {
    const label = `cannot scale group ${JSON.stringify(name)} to ${instancesPerHost} per host`;
    if (
      !Number.isInteger(instancesPerHost) || instancesPerHost < 0 ||
      instancesPerHost > MAX_INSTANCES
    ) {
      throw new RangeError(`${label}: it must be an integer from 0 to ${MAX_INSTANCES}`);
    }
    const members = this.#members(name);
    const settings = this.#settings;
    if (settings === undefined) throw new Error("the launcher is not running");
    // after a halted reload, some instances still carry the slot of the config before it
    const templates = this.#slots.get(name)!;
    const slotOf = new Map([...templates.keys()].map((slot) => [slotKey(slot), slot]));
    const tagged = members.map((inst) => ({
      inst,
      spec: { ...inst.spec, slot: slotOf.get(slotKey(inst.spec.slot)) ?? inst.spec.slot },
    }));
    const rescaled = rescale(templates, tagged.filter((t) => templates.has(t.spec.slot)), {
      instancesPerHost,
      lastId: this.#lastId,
    });
    const specs = rescaled.added;
    const removed = rescaled.removed.map((t) => t.inst);
    const localAdded = specs.filter((s) => s.target.type === "local").length;
    const problem = capacityProblem(readCapacity(), localAdded);
    if (problem !== undefined) throw new RangeError(`${label}: ${problem}`);
    const added: Instance[] = [];
    for (const spec of specs) {
      added.push(await this.#instance(spec, settings));
    }
    this.#log(
      "notice",
      `scaling group ${
        JSON.stringify(name)
      } to ${instancesPerHost} per host (+${added.length}, -${removed.length})`,
    );
    this.#ops++;
    try {
      this.#instances.push(...added);
      const suspended = this.#suspended.has(name);
      if (suspended) await Promise.all(added.map((i) => i.stop("suspended")));
      else this.#gates.admit(name, added);
      await Promise.all(removed.map((i) => i.stop("stopped")));
      this.#instances = this.#instances.filter((i) => !removed.includes(i));
      const groupCount = this.#slots.get(name)!.size * instancesPerHost;
      for (const inst of members) if (!removed.includes(inst)) inst.regroup(groupCount);
    } finally {
      this.#ops--;
      this.#gates.pump(); // instances left the fleet: a group waiting on them may go
      this.#wake?.();
    }
  }

  /**
   * Restarts a group one instance at a time: the next one is stopped only
   * once the new one is ready (for a group with `waitReady`: it said
   * `@distarch/1 ready`) and alive (running and has printed or pinged).
   * Throws when a new instance is not both within `aliveTimeout` seconds,
   * leaving the rest untouched.
   */
  async restartGroup(name: string, options: { aliveTimeout?: number } = {}): Promise<void> {
    const { aliveTimeout = 30 } = options;
    const members = this.#members(name);
    this.#log("notice", `rolling restart of group ${JSON.stringify(name)}`);
    this.#ops++;
    try {
      await rollingRestart(name, members, {
        aliveTimeout,
        cancelled: () => this.#stopping !== undefined,
      });
    } finally {
      this.#ops--;
      this.#wake?.();
    }
  }

  /**
   * Restarts one instance, found by its id: stops it gracefully and starts it
   * again with the same ids; resolves once the new run is alive (running and
   * has printed or pinged). Throws when no instance has that id, when it is
   * suspended, or when the new run is not alive within `aliveTimeout` seconds.
   */
  async restartInstance(id: number, options: { aliveTimeout?: number } = {}): Promise<void> {
    const { aliveTimeout = 30 } = options;
    if (this.#stopping !== undefined) throw new Error("the launcher is stopping");
    const inst = this.#instances.find((i) => i.spec.id === id);
    if (inst === undefined) {
      throw new RangeError(
        `no instance with id ${id} (ids: ${this.#instances.map((i) => i.spec.id).join(", ")})`,
      );
    }
    if (inst.state === "suspended") {
      throw new Error(`instance ${id} (${inst.spec.label}) is suspended: resume its group first`);
    }
    this.#log("notice", `restarting instance ${id} (${inst.spec.label} on ${inst.spec.host})`);
    this.#ops++;
    try {
      await rollingRestart(inst.spec.group, [inst], { aliveTimeout });
    } finally {
      this.#ops--;
      this.#wake?.();
    }
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
    // one reload at a time: each is planned against what the one before it left
    const next = this.#applying.then(() => this.#apply(groups, options));
    this.#applying = next.catch(() => {});
    return next;
  }

  async #apply(groups: readonly GroupConfig[], options: ApplyOptions): Promise<ApplyReport> {
    const { mode = "rolling", options: launch = {}, cwd = this.#cwd } = options;
    const settings = this.#settings;
    if (!this.#running || settings === undefined) throw new Error("the launcher is not running");
    if (this.#stopping !== undefined) throw new Error("the launcher is stopping");
    const valid = validateGroups(groups, { cwd });
    const given = validateLaunchOptions(launch, []);
    await this.#ready.promise; // right after run(), its instances are still being set up
    if (this.#stopping !== undefined) throw new Error("the launcher is stopping");
    const { applied, ignored } = optionChanges(this.#options, given);
    const timeout = given.timeout ?? this.#options.timeout;
    const generation = ++this.#generation;
    const fresh = plan(valid, { timeout, cwd }).map((s) => rekey(s, generation));
    const work = planReload(this.#groups, valid, fresh, this.#slots, mode);
    const problem = capacityProblem(readCapacity(), work.localStarts);
    if (problem !== undefined) throw new RangeError(`cannot reload: ${problem}`);
    // from here on, the fleet changes
    for (const key of applied) Object.assign(this.#options, { [key]: given[key] });
    Object.assign(settings, supervisorSettings(this.#options));
    this.#transports.gracePeriod = this.#options.gracePeriod;
    const before = this.#groups;
    this.#groups = valid;
    this.#slots = work.slots;
    this.#gates.setGroups(valid);
    for (const name of [...this.#suspended]) {
      if (!work.slots.has(name)) this.#suspended.delete(name);
    }
    this.#ops++;
    try {
      await work.run({
        instances: () => this.#instances,
        nextId: () => ++this.#lastId,
        stopInOrder: (instances) => this.#inStopOrder(instances, (i) => i.stop("stopped"), before),
        spawn: async (spec, after) => {
          const inst = await this.#instance(spec, settings);
          const at = after === undefined ? -1 : this.#instances.indexOf(after);
          if (at < 0) this.#instances.push(inst);
          else this.#instances.splice(at + 1, 0, inst);
          return inst;
        },
        drop: (gone) => {
          const set = new Set(gone);
          this.#instances = this.#instances.filter((i) => !set.has(i));
        },
        admit: async (group, members) => {
          if (this.#stopping !== undefined) {
            await Promise.all(members.map((i) => i.stop("stopped"))); // made after stop() began
          } else if (this.#suspended.has(group)) {
            await Promise.all(members.map((i) => i.stop("suspended")));
          } else this.#gates.admit(group, members);
        },
        stopping: () => this.#stopping !== undefined,
        graceMs: () => settings.graceMs,
      });
      await this.#transports.release([
        ...this.#instances.map((i) => i.spec.target),
        ...[...this.#slots.values()].flatMap((m) => [...m.values()].map((t) => t.target)),
      ]);
    } finally {
      this.#ops--;
      this.#gates.pump(); // instances left the fleet: a group waiting on them may go
      this.#wake?.();
    }
    const report: ApplyReport = { groups: work.reports, options: applied, ignored };
    for (const line of reportLines(report)) this.#log("notice", `reload: ${line}`);
    return report;
  }

  /** Names of the groups being run (also those scaled to 0), in config order. */
  groupNames(): string[] {
    return [...this.#slots.keys()];
  }

  /** A snapshot of every instance. */
  list(): InstanceInfo[] {
    return this.#instances.map((i) => i.info());
  }

  #members(name: string): Instance[] {
    if (this.#stopping !== undefined) throw new Error("the launcher is stopping");
    if (!this.#slots.has(name)) {
      throw new Error(
        `no group named ${JSON.stringify(name)} (groups: ${this.groupNames().join(", ")})`,
      );
    }
    return this.#instances.filter((i) => i.spec.group === name);
  }

  #log(level: "info" | "notice" | "warning" | "error", message: string): void {
    this.#logger.log({ level, message, time: Date.now() });
  }
}

function summarise(infos: InstanceInfo[]): string {
  const counts = new Map<string, number>();
  for (const i of infos) counts.set(i.state, (counts.get(i.state) ?? 0) + 1);
  return [...counts].map(([s, n]) => `${n} ${s}`).join(", ") || "no instance";
}
