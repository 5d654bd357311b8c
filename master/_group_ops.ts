/**
 * Operations on a group's instances, as the launcher's control methods run
 * them on its {@linkcode Fleet}: suspend, resume, scale, and the rolling
 * restart of a group or of one instance.
 *
 * @module
 */

import { MAX_INSTANCES } from "./config.ts";
import type { Instance } from "./instance.ts";
import { slotKey } from "./_apply.ts";
import type { Fleet } from "./_fleet.ts";
import { capacityProblem, readCapacity } from "./_limits.ts";
import { rescale } from "./_respec.ts";

/** Options of {@linkcode rollingRestart}. */
export interface RollingRestartOptions {
  /** Seconds each new run has to become ready and alive before the restart halts. @default {30} */
  aliveTimeout?: number;
  /** Asked before each instance: true ends the restart there (the launcher is stopping). @default {() => false} */
  cancelled?: () => boolean;
}

/**
 * Restarts `members` of group `group` one at a time (skipping suspended
 * ones): the next one is stopped only once the new run of the previous one
 * is ready (it said `@distarch/1 ready`, for a group with `waitReady`) and
 * alive (running and has printed or pinged). Throws when a new run is not
 * both within `aliveTimeout` seconds, or is done first, leaving the rest
 * untouched.
 *
 * @example
 * ```ts ignore
 * import { rollingRestart } from "./_group_ops.ts";
 * await rollingRestart("Workers", members, { aliveTimeout: 10 });
 * ```
 */
export async function rollingRestart(
  group: string,
  members: readonly Instance[],
  options: RollingRestartOptions = {},
): Promise<void> {
  const { aliveTimeout = 30, cancelled = () => false } = options;
  for (const inst of members) {
    if (cancelled()) return;
    if (inst.state === "suspended") continue;
    await inst.stop("stopped");
    inst.start();
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), aliveTimeout * 1000);
    try {
      await inst.whenReady(timeout.signal);
      await inst.whenAlive(timeout.signal);
    } catch (cause) {
      throw new Error(
        `rolling restart of group ${
          JSON.stringify(group)
        } halted: ${inst.spec.label} on ${inst.spec.host} ` +
          `is not ${
            inst.spec.waitReady && !inst.ready ? "ready" : "alive"
          } after ${aliveTimeout} s (state ${inst.state})`,
        { cause },
      );
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Stops group `name`'s instances (SIGKILL after `graceMs`) and keeps them stopped until resumed. */
export async function suspendGroup(fleet: Fleet, name: string, graceMs: number): Promise<void> {
  const members = fleet.members(name);
  fleet.setSuspended(name, true);
  fleet.log("notice", `suspending group ${JSON.stringify(name)}`);
  await Promise.all(members.map((i) => i.stop("suspended", graceMs)));
}

/** Starts a suspended group's instances again; returns how many were started. */
export function resumeGroup(fleet: Fleet, name: string): number {
  const members = fleet.members(name);
  fleet.setSuspended(name, false);
  // suspended ones, and those a dependency that gave up kept from starting
  const suspended = members.filter((i) =>
    i.state === "suspended" || (i.state === "failed" && i.info().lastReason === "dependency")
  );
  if (suspended.length > 0) {
    fleet.log("notice", `resuming group ${JSON.stringify(name)}`);
    fleet.startOrHold(name, suspended); // dependsOn: held until its groups are ready
  }
  fleet.wake();
  return suspended.length;
}

/** Scales group `name` to `instancesPerHost` on each of its slots (see `Launcher.scaleGroup`). */
export async function scaleGroup(
  fleet: Fleet,
  name: string,
  instancesPerHost: number,
): Promise<void> {
  const label = `cannot scale group ${JSON.stringify(name)} to ${instancesPerHost} per host`;
  if (
    !Number.isInteger(instancesPerHost) || instancesPerHost < 0 ||
    instancesPerHost > MAX_INSTANCES
  ) {
    throw new RangeError(`${label}: it must be an integer from 0 to ${MAX_INSTANCES}`);
  }
  const members = fleet.members(name);
  if (fleet.settings === undefined) throw new Error("the launcher is not running");
  // after a halted reload, some instances still carry the slot of the config before it
  const templates = fleet.slots.get(name)!;
  const slotOf = new Map([...templates.keys()].map((slot) => [slotKey(slot), slot]));
  const tagged = members.map((inst) => ({
    inst,
    spec: { ...inst.spec, slot: slotOf.get(slotKey(inst.spec.slot)) ?? inst.spec.slot },
  }));
  const rescaled = rescale(templates, tagged.filter((t) => templates.has(t.spec.slot)), {
    instancesPerHost,
    lastId: fleet.lastId,
  });
  const specs = rescaled.added;
  const removed = rescaled.removed.map((t) => t.inst);
  const localAdded = specs.filter((s) => s.target.type === "local").length;
  const problem = capacityProblem(readCapacity(), localAdded);
  if (problem !== undefined) throw new RangeError(`${label}: ${problem}`);
  const added: Instance[] = [];
  for (const spec of specs) {
    added.push(await fleet.make(spec));
  }
  fleet.log(
    "notice",
    `scaling group ${
      JSON.stringify(name)
    } to ${instancesPerHost} per host (+${added.length}, -${removed.length})`,
  );
  fleet.beginOp();
  try {
    fleet.add(added);
    if (fleet.isSuspended(name)) await Promise.all(added.map((i) => i.stop("suspended")));
    else fleet.startOrHold(name, added);
    await Promise.all(removed.map((i) => i.stop("stopped")));
    fleet.drop(removed);
    const groupCount = fleet.slots.get(name)!.size * instancesPerHost;
    for (const inst of members) if (!removed.includes(inst)) inst.regroup(groupCount);
  } finally {
    fleet.endOp({ pump: true }); // instances left the fleet: a group waiting on them may go
  }
}

/** Restarts group `name` one instance at a time (see `Launcher.restartGroup`). */
export async function restartGroup(
  fleet: Fleet,
  name: string,
  aliveTimeout: number,
): Promise<void> {
  const members = fleet.members(name);
  fleet.log("notice", `rolling restart of group ${JSON.stringify(name)}`);
  fleet.beginOp();
  try {
    await rollingRestart(name, members, { aliveTimeout, cancelled: () => fleet.stopping() });
  } finally {
    fleet.endOp();
  }
}

/** Restarts the instance with id `id` (see `Launcher.restartInstance`). */
export async function restartInstance(
  fleet: Fleet,
  id: number,
  aliveTimeout: number,
): Promise<void> {
  if (fleet.stopping()) throw new Error("the launcher is stopping");
  const inst = fleet.instances.find((i) => i.spec.id === id);
  if (inst === undefined) {
    throw new RangeError(
      `no instance with id ${id} (ids: ${fleet.instances.map((i) => i.spec.id).join(", ")})`,
    );
  }
  if (inst.state === "suspended") {
    throw new Error(`instance ${id} (${inst.spec.label}) is suspended: resume its group first`);
  }
  fleet.log("notice", `restarting instance ${id} (${inst.spec.label} on ${inst.spec.host})`);
  fleet.beginOp();
  try {
    await rollingRestart(inst.spec.group, [inst], { aliveTimeout });
  } finally {
    fleet.endOp();
  }
}
