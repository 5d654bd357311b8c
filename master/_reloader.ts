/**
 * Live reload at run time: one reload at a time, each validated, planned
 * against what the one before it left ({@linkcode planReload}), checked
 * against this system's limits, and only then carried out on the
 * {@linkcode Fleet}, with the new options applied.
 *
 * @module
 */

import { validateGroups, validateLaunchOptions } from "./config.ts";
import { plan } from "./plan.ts";
import { type ApplyOptions, type ApplyReport, optionChanges, reportLines } from "./reload.ts";
import { planReload, rekey } from "./_apply.ts";
import type { Fleet } from "./_fleet.ts";
import { capacityProblem, readCapacity } from "./_limits.ts";
import { supervisorSettings } from "./_settings.ts";
import type { TransportPool } from "./_transport_pool.ts";
import type { GroupConfig, LaunchOptions } from "./types.ts";

/** What a {@linkcode Reloader} needs of the launcher. */
export interface ReloaderOptions {
  /** The instances. */
  fleet: Fleet;
  /** Their transports (unused ones are closed after a reload). */
  transports: TransportPool;
  /** The launcher's options: a reload changes those it can apply, in place. */
  options: Required<LaunchOptions>;
  /** Directory relative paths are resolved against, unless the reload says otherwise. */
  cwd: string;
  /** True while `run()` runs. */
  running: () => boolean;
  /** Resolves once the run's first instances are set up. */
  ready: () => Promise<void>;
}

/** Applies reloads one after the other. */
export class Reloader {
  readonly #o: ReloaderOptions;
  /** Reloads so far: each one's new slots (and SSH sessions) are its own. */
  #generation = 0;
  /** The reload being applied, if any: the next one waits for it. */
  #applying: Promise<unknown> = Promise.resolve();

  /** A reloader of the launcher `options` describe. */
  constructor(options: ReloaderOptions) {
    this.#o = options;
  }

  /** Applies `groups` once the reload before it is done (see `Launcher.apply`). */
  apply(groups: readonly GroupConfig[], options: ApplyOptions = {}): Promise<ApplyReport> {
    // one reload at a time: each is planned against what the one before it left
    const next = this.#applying.then(() => this.#apply(groups, options));
    this.#applying = next.catch(() => {});
    return next;
  }

  async #apply(groups: readonly GroupConfig[], options: ApplyOptions): Promise<ApplyReport> {
    const { fleet, transports, options: current } = this.#o;
    const { mode = "rolling", options: launch = {}, cwd = this.#o.cwd } = options;
    const settings = fleet.settings;
    if (!this.#o.running() || settings === undefined) {
      throw new Error("the launcher is not running");
    }
    if (fleet.stopping()) throw new Error("the launcher is stopping");
    const valid = validateGroups(groups, { cwd });
    const given = validateLaunchOptions(launch, []);
    await this.#o.ready(); // right after run(), its instances are still being set up
    if (fleet.stopping()) throw new Error("the launcher is stopping");
    const { applied, ignored } = optionChanges(current, given);
    const timeout = given.timeout ?? current.timeout;
    const generation = ++this.#generation;
    const fresh = plan(valid, { timeout, cwd }).map((s) => rekey(s, generation));
    const work = planReload(fleet.groups, valid, fresh, fleet.slots, mode);
    const problem = capacityProblem(readCapacity(), work.localStarts);
    if (problem !== undefined) throw new RangeError(`cannot reload: ${problem}`);
    // from here on, the fleet changes
    for (const key of applied) Object.assign(current, { [key]: given[key] });
    Object.assign(settings, supervisorSettings(current));
    transports.gracePeriod = current.gracePeriod;
    const before = fleet.groups;
    fleet.replan(valid, work.slots);
    fleet.beginOp();
    try {
      await work.run({
        instances: () => fleet.instances,
        nextId: () => fleet.nextId(),
        stopInOrder: (instances) => fleet.stopInOrder(instances, before),
        spawn: async (spec, after) => {
          const inst = await fleet.make(spec);
          fleet.add([inst], after);
          return inst;
        },
        drop: (gone) => fleet.drop(gone),
        admit: (group, members) => fleet.admit(group, members),
        stopping: () => fleet.stopping(),
        graceMs: () => settings.graceMs,
      });
      await transports.release([
        ...fleet.instances.map((i) => i.spec.target),
        ...[...fleet.slots.values()].flatMap((m) => [...m.values()].map((t) => t.target)),
      ]);
    } finally {
      fleet.endOp({ pump: true }); // instances left the fleet: a group waiting on them may go
    }
    const report: ApplyReport = { groups: work.reports, options: applied, ignored };
    for (const line of reportLines(report)) fleet.log("notice", `reload: ${line}`);
    return report;
  }
}
