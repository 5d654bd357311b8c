/**
 * The instances of a run and what is kept about them: per group, the slots
 * new instances are made from, which groups are suspended, the highest id
 * handed out, the operations under way and the start gates (`dependsOn`).
 * The launcher, its group operations and its reloads change the instances
 * only through a {@linkcode Fleet}.
 *
 * @module
 */

import type { EventHandlers } from "./events.ts";
import type { InstanceSpec } from "./plan.ts";
import { Instance } from "./instance.ts";
import { stopLevels } from "./_dependencies.ts";
import { StartGates } from "./_gates.ts";
import type { SupervisorSettings } from "./_settings.ts";
import type { TransportPool } from "./_transport_pool.ts";
import type { GroupConfig, Logger } from "./types.ts";

/** The levels the launcher logs at. */
export type LogLevel = "info" | "notice" | "warning" | "error";

/** What a {@linkcode Fleet} needs of the launcher. */
export interface FleetOptions {
  /** Where the instances' transports come from. */
  transports: TransportPool;
  /** Where the instances log. */
  logger: Logger;
  /** The instances' event hooks. */
  events: EventHandlers;
  /** True once the launcher is stopping: nothing starts any more. */
  stopping: () => boolean;
  /** The launcher's own log lines. */
  log: (level: LogLevel, message: string) => void;
  /** Told when an instance became ready or done (after the start gates). @default {nobody} */
  changed?: () => void;
}

/** Per group, in config order: per slot, the spec new instances of the slot are made from. */
export type Slots = Map<string, Map<string, InstanceSpec>>;

/** The instances of a run, by group, and their bookkeeping. */
export class Fleet {
  #instances: Instance[] = [];
  /** The validated groups being run (the last reload's, after one). */
  #groups: GroupConfig[] = [];
  #slots: Slots = new Map();
  #suspended = new Set<string>();
  /** The highest id handed out so far: new instances get higher ones. */
  #lastId = 0;
  /** Operations under way (scale, restart, reload): `run()` waits for them. */
  #ops = 0;
  #settings: SupervisorSettings | undefined;
  #wake: (() => void) | undefined;
  readonly #gates: StartGates;
  readonly #options: FleetOptions;

  /** An empty fleet; {@linkcode Fleet.reset} starts a run. */
  constructor(options: FleetOptions) {
    this.#options = options;
    this.#gates = new StartGates(
      () => this.#instances,
      (message) => options.log("notice", message),
      options.stopping,
    );
  }

  /** Every instance, in launch order. */
  get instances(): readonly Instance[] {
    return this.#instances;
  }

  /** The validated groups being run. */
  get groups(): GroupConfig[] {
    return this.#groups;
  }

  /** Per group: per slot, the template new instances are made from. */
  get slots(): Slots {
    return this.#slots;
  }

  /** The supervision settings of the run, once it started (shared with its instances). */
  get settings(): SupervisorSettings | undefined {
    return this.#settings;
  }

  /** The highest id handed out so far. */
  get lastId(): number {
    return this.#lastId;
  }

  /** True once the launcher is stopping. */
  stopping(): boolean {
    return this.#options.stopping();
  }

  /** Logs a line of the launcher's. */
  log(level: LogLevel, message: string): void {
    this.#options.log(level, message);
  }

  /** Starts a run of `groups`, planned as `specs` (every group suspended in service mode). */
  reset(
    groups: GroupConfig[],
    specs: readonly InstanceSpec[],
    settings: SupervisorSettings,
    service: boolean,
  ): void {
    this.#settings = settings;
    this.#suspended = new Set(service ? groups.map((g) => g.name) : []);
    this.#groups = groups;
    this.#lastId = specs.length;
    this.#gates.setGroups(groups);
    this.#slots = new Map(groups.map((g) => [g.name, new Map()]));
    for (const spec of specs) {
      const slots = this.#slots.get(spec.group)!;
      if (!slots.has(spec.slot)) slots.set(spec.slot, spec);
    }
  }

  /** After a reload: the new groups and slots; suspended groups no longer there are forgotten. */
  replan(groups: GroupConfig[], slots: Slots): void {
    this.#groups = groups;
    this.#slots = slots;
    this.#gates.setGroups(groups);
    for (const name of [...this.#suspended]) {
      if (!slots.has(name)) this.#suspended.delete(name);
    }
  }

  /** Names of the groups being run (also those scaled to 0), in config order. */
  groupNames(): string[] {
    return [...this.#slots.keys()];
  }

  /** The instances of group `name`; throws when the launcher is stopping or there is no such group. */
  members(name: string): Instance[] {
    if (this.stopping()) throw new Error("the launcher is stopping");
    if (!this.#slots.has(name)) {
      throw new Error(
        `no group named ${JSON.stringify(name)} (groups: ${this.groupNames().join(", ")})`,
      );
    }
    return this.#instances.filter((i) => i.spec.group === name);
  }

  /** An instance of `spec`, not started and not yet in the fleet. */
  async make(spec: InstanceSpec): Promise<Instance> {
    const transport = await this.#options.transports.for(spec.target);
    const { logger, events } = this.#options;
    const inst = new Instance(spec, transport, logger, events, this.#settings!);
    inst.onChange = () => {
      this.#gates.pump();
      this.#options.changed?.();
    };
    this.#lastId = Math.max(this.#lastId, spec.id);
    return inst;
  }

  /** The next fresh id (higher than any handed out). */
  nextId(): number {
    return ++this.#lastId;
  }

  /** Makes `instances` the fleet. */
  replaceAll(instances: Instance[]): void {
    this.#instances = instances;
  }

  /** Adds `added` at the end, or right after `after` when it is given and in the fleet. */
  add(added: readonly Instance[], after?: Instance): void {
    const at = after === undefined ? -1 : this.#instances.indexOf(after);
    if (at < 0) this.#instances.push(...added);
    else this.#instances.splice(at + 1, 0, ...added);
  }

  /** Removes instances (already stopped). */
  drop(gone: readonly Instance[]): void {
    const set = new Set(gone);
    this.#instances = this.#instances.filter((i) => !set.has(i));
  }

  /** Whether group `name` is kept suspended. */
  isSuspended(name: string): boolean {
    return this.#suspended.has(name);
  }

  /** Keeps group `name` suspended (`true`) or not any more. */
  setSuspended(name: string, suspended: boolean): void {
    if (suspended) this.#suspended.add(name);
    else this.#suspended.delete(name);
  }

  /** Starts `members` of group `name` now, or holds them until its dependencies are ready. */
  startOrHold(name: string, members: readonly Instance[]): void {
    this.#gates.admit(name, members);
  }

  /** Lets held instances start (or fail) when their dependencies have settled. */
  pump(): void {
    this.#gates.pump();
  }

  /**
   * Starts new `members` of group `name`, or stops them at once: as stopped
   * when the launcher is stopping, as suspended while their group is (for a
   * reload; `run()` does the same without waiting when it starts them).
   */
  async admit(name: string, members: readonly Instance[]): Promise<void> {
    if (this.stopping()) await Promise.all(members.map((i) => i.stop("stopped")));
    else if (this.#suspended.has(name)) {
      await Promise.all(members.map((i) => i.stop("suspended")));
    } else this.#gates.admit(name, members); // dependsOn: held until its groups are ready
  }

  /**
   * Stops `instances` group by group, dependents first, each level once the
   * one before it is done (groups no longer configured last).
   */
  async stopInOrder(
    instances: readonly Instance[],
    groups: readonly GroupConfig[] = this.#groups,
  ): Promise<void> {
    const levels = stopLevels(groups);
    const known = new Set(levels.flat());
    levels.push([...new Set(instances.map((i) => i.spec.group).filter((g) => !known.has(g)))]);
    for (const level of levels) {
      const names = new Set(level);
      await Promise.all(
        instances.filter((i) => names.has(i.spec.group)).map((i) => i.stop("stopped")),
      );
    }
  }

  /** An operation `run()` waits for has begun; call {@linkcode Fleet.endOp} in a `finally`. */
  beginOp(): void {
    this.#ops++;
  }

  /**
   * An operation has ended: wakes `run()`, after letting held instances go
   * with `pump` (instances left the fleet: a group waiting on them may start).
   */
  endOp(options: { pump?: boolean } = {}): void {
    this.#ops--;
    if (options.pump) this.#gates.pump();
    this.wake();
  }

  /**
   * Whether `run()` keeps waiting once every instance is done: in service
   * mode, while an operation is under way, while a group is suspended or has
   * no instance.
   */
  waiting(service: boolean): boolean {
    return service || this.#ops > 0 ||
      this.#instances.some((i) => i.state === "suspended") ||
      this.groupNames().some((g) => !this.#instances.some((i) => i.spec.group === g));
  }

  /** Resolves at the next {@linkcode Fleet.wake}. */
  nextChange(): Promise<void> {
    return new Promise<void>((resolve) => this.#wake = resolve);
  }

  /** Wakes `run()` to look at the fleet again. */
  wake(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
