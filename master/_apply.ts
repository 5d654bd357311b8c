/**
 * How a reload is carried out: removed groups stopped, scaled slots
 * rescaled, added groups started, and changed instances replaced one by one
 * (each successor started, then its predecessor stopped once the successor
 * is ready) or all at once (the old ones stopped, then their successors
 * started). The launcher owns the instances; it hands these functions a
 * small {@linkcode ReplaceHost}.
 *
 * @module
 */

import type { Instance } from "./instance.ts";
import type { InstanceSpec } from "./plan.ts";
import { respec } from "./_respec.ts";
import { diffGroups } from "./_reload_diff.ts";
import { startLevels } from "./_dependencies.ts";
import { type GroupReport, groupReports, type ReplaceMode } from "./reload.ts";
import type { GroupConfig } from "./types.ts";

/** What the replacement needs of the launcher. */
export interface ReplaceHost {
  /** Creates an instance of `spec` (not started) and adds it to the launcher, after `after` when given. */
  spawn(spec: InstanceSpec, after?: Instance): Promise<Instance>;
  /** Removes instances (already stopped) from the launcher. */
  drop(instances: readonly Instance[]): void;
  /** Starts instances of a group, respecting its `dependsOn` (or keeps them suspended). */
  admit(group: string, members: readonly Instance[]): Promise<void>;
  /** True once the launcher is stopping: the replacement ends where it is. */
  stopping(): boolean;
  /** SIGTERM → SIGKILL delay, in ms. */
  graceMs(): number;
}

/** An instance and the spec of its successor. */
export interface Replacement {
  /** The running (or suspended…) instance. */
  old: Instance;
  /** What replaces it: a fresh id, the same groupId. */
  spec: InstanceSpec;
}

/** How long a successor may take to be ready before the replacement halts, in ms. */
export function readyWaitMs(spec: InstanceSpec, graceMs: number): number {
  // waitReady: its own readyTimeout (then it is killed); otherwise alive within 30 s, as restart
  return (spec.waitReady ? spec.readyTimeout : 30) * 1000 + graceMs + 2000;
}

/** Waits for `inst` to be ready (and alive) within `ms`; returns why not, or undefined. */
async function settle(inst: Instance, ms: number): Promise<string | undefined> {
  const timeout = AbortSignal.timeout(ms);
  try {
    await inst.whenReady(timeout);
    if (!inst.spec.waitReady) await inst.whenAlive(timeout);
    return undefined;
  } catch {
    const s = inst.spec;
    const who = `${s.label} on ${s.host}`;
    if (!inst.done) return `${who} is not ready after ${(ms / 1000).toFixed(0)} s`;
    const why = inst.info().lastReason;
    return `${who} ended before it was ready (${inst.state}${why ? `, ${why}` : ""})`;
  }
}

/**
 * Replaces each `old` instance of group `group` by a new one of `spec`, as
 * `mode` says. Resolves with why it halted (the successor that was not
 * ready is stopped, its predecessor and the ones after it keep running), or
 * `undefined` when every instance was replaced.
 */
export async function replace(
  fleet: ReplaceHost,
  group: string,
  pairs: readonly Replacement[],
  mode: ReplaceMode,
): Promise<string | undefined> {
  if (mode === "all-at-once") {
    await Promise.all(pairs.map((p) => p.old.stop("stopped")));
    const next: Instance[] = [];
    for (const p of pairs) next.push(await fleet.spawn(p.spec, p.old));
    fleet.drop(pairs.map((p) => p.old));
    await fleet.admit(group, next);
    const why = await Promise.all(
      next.map((i) =>
        i.state === "suspended" ? undefined : settle(i, readyWaitMs(i.spec, fleet.graceMs()))
      ),
    );
    const failed = why.filter((w) => w !== undefined);
    return failed.length === 0 ? undefined : failed.join("; ");
  }
  for (const { old, spec } of pairs) {
    if (fleet.stopping()) return "the launcher is stopping";
    const next = await fleet.spawn(spec, old);
    if (old.state === "suspended") {
      fleet.drop([old]);
      await fleet.admit(group, [next]); // a suspended group stays suspended
      continue;
    }
    await fleet.admit(group, [next]);
    const why = await settle(next, readyWaitMs(spec, fleet.graceMs()));
    if (why !== undefined) {
      await next.stop("stopped");
      fleet.drop([next]);
      return why;
    }
    await old.stop("stopped");
    fleet.drop([old]);
  }
  return undefined;
}

/** What {@linkcode planReload}'s work needs of the launcher besides its {@linkcode ReplaceHost}. */
export interface ReloadHost extends ReplaceHost {
  /** Every instance, now. */
  instances(): readonly Instance[];
  /** The next fresh id (higher than any handed out). */
  nextId(): number;
  /** Stops instances, dependents first (by the groups' order before the reload). */
  stopInOrder(instances: readonly Instance[]): Promise<void>;
}

/** The slot key that survives a reload: `processIndex/host` (the group index and generation dropped). */
export function slotKey(slot: string): string {
  return slot.slice(slot.indexOf("/") + 1);
}

/**
 * A spec of a reload's new plan, with a slot of its own: `r<generation>:`
 * prefixed, so its instances are scaled apart from an older plan's. Its
 * target keeps its key: a host reached as before keeps its transport (the
 * SSH session and agent every group there shares); one reached differently
 * has another key, so gets a transport of its own.
 */
export function rekey(spec: InstanceSpec, generation: number): InstanceSpec {
  return { ...spec, slot: `r${generation}:${spec.slot}` };
}

/** The work of a reload, computed before anything changes. */
export interface ReloadWork {
  /** The report of each group (its `halted` is filled in while applying). */
  reports: GroupReport[];
  /** Per group, in the new order: per slot, the template new instances are made from. */
  slots: Map<string, Map<string, InstanceSpec>>;
  /** Local instances it will start (for the capacity check). */
  localStarts: number;
  /** Carries it out; resolves once every replacement is done or halted. */
  run(host: ReloadHost): Promise<void>;
}

/**
 * Plans a reload from the running groups to `next` (validated), whose
 * instances `fresh` plans (already {@linkcode rekey}ed). Nothing changes
 * until {@linkcode ReloadWork.run}.
 */
export function planReload(
  running: readonly GroupConfig[],
  next: readonly GroupConfig[],
  fresh: readonly InstanceSpec[],
  oldSlots: ReadonlyMap<string, ReadonlyMap<string, InstanceSpec>>,
  mode: ReplaceMode,
): ReloadWork {
  const diffs = diffGroups(running, next);
  const reports = groupReports(diffs, mode);
  const newTemplates = new Map<string, Map<string, InstanceSpec>>();
  for (const spec of fresh) {
    let m = newTemplates.get(spec.group);
    if (m === undefined) newTemplates.set(spec.group, m = new Map());
    if (!m.has(slotKey(spec.slot))) m.set(slotKey(spec.slot), spec);
  }
  // the templates from now on: unchanged slots keep theirs (their instances' slot), with the
  // new supervision settings; changed and new ones take the new plan's
  const slots = new Map<string, Map<string, InstanceSpec>>();
  let localStarts = 0;
  for (const d of diffs) {
    if (d.kind === "removed") continue;
    const olds = new Map([...(oldSlots.get(d.group) ?? new Map()).values()].map((t) => [
      slotKey(t.slot),
      t,
    ]));
    const out = new Map<string, InstanceSpec>();
    for (const s of d.slots) {
      if (s.to === 0) continue;
      const t = newTemplates.get(d.group)!.get(s.key)!;
      const old = olds.get(s.key);
      const keep = old !== undefined && !s.changed;
      const template = keep ? { ...old, ...supervision(t), groupCount: t.groupCount } : t;
      out.set(template.slot, template);
      if (t.target.type === "local") {
        localStarts += Math.max(0, s.to - s.from) + (s.changed ? Math.min(s.from, s.to) : 0);
      }
    }
    slots.set(d.group, out);
  }
  const byName = new Map(reports.map((r) => [r.group, r]));
  return {
    reports,
    slots,
    localStarts,
    async run(host) {
      const members = (group: string, key?: string) =>
        host.instances().filter((i) =>
          i.spec.group === group && (key === undefined || slotKey(i.spec.slot) === key)
        ).sort((a, b) => a.spec.groupId - b.spec.groupId);
      // removed groups, and slots gone or scaled down: stop (dependents first), then forget
      const leaving: Instance[] = [];
      for (const d of diffs) {
        if (d.kind === "removed") leaving.push(...members(d.group));
        else {
          for (const s of d.slots) {
            if (s.to < s.from) leaving.push(...members(d.group, s.key).slice(s.to));
          }
        }
      }
      if (leaving.length > 0) {
        await host.stopInOrder(leaving);
        host.drop(leaving);
      }
      // kept instances take the new supervision settings and are told the new groupCount (once
      // the leaving ones have stopped, as scaleGroup does); new ones are made; changed ones paired
      const jobs = new Map<string, Replacement[]>();
      for (const d of diffs) {
        if (d.kind === "removed") continue;
        const templates = slots.get(d.group)!;
        const bySlot = new Map([...templates.values()].map((t) => [slotKey(t.slot), t]));
        let groupId = Math.max(0, ...members(d.group).map((i) => i.spec.groupId));
        const started: Instance[] = [];
        for (const s of d.slots) {
          if (s.to === 0) continue;
          const t = bySlot.get(s.key)!;
          const here = members(d.group, s.key);
          if (!s.changed) {
            for (const i of here) {
              i.spec = { ...i.spec, ...supervision(t) };
              i.regroup(t.groupCount);
            }
          } else {
            const pairs = here.map((old) => ({
              old,
              spec: respec(t, host.nextId(), old.spec.groupId, t.groupCount),
            }));
            jobs.set(d.group, [...(jobs.get(d.group) ?? []), ...pairs]);
          }
          for (let n = here.length; n < s.to; n++) {
            started.push(await host.spawn(respec(t, host.nextId(), ++groupId, t.groupCount)));
          }
        }
        if (started.length > 0) await host.admit(d.group, started);
      }
      // changed groups, what they depend on first
      for (const level of startLevels(next)) {
        await Promise.all(level.map(async (group) => {
          const pairs = jobs.get(group);
          if (pairs === undefined) return;
          const halted = await replace(host, group, pairs, mode);
          if (halted !== undefined) byName.get(group)!.halted = halted;
        }));
      }
    },
  };
}

/** The settings a reload applies in place to instances it does not replace. */
function supervision(
  t: InstanceSpec,
): Pick<InstanceSpec, "timeout" | "waitReady" | "readyTimeout"> {
  return { timeout: t.timeout, waitReady: t.waitReady, readyTimeout: t.readyTimeout };
}
