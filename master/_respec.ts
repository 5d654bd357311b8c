/**
 * Specs for more instances of a slot: {@linkcode respec} gives a template
 * its ids, {@linkcode rescale} decides which instances a group gains or loses
 * when scaled.
 *
 * @module
 */

import type { InstanceSpec } from "./plan.ts";

function basename(path: string): string {
  const parts = path.split("/");
  return parts[parts.length - 1] || path;
}

/**
 * A copy of `spec` for another instance of the same group on the same host,
 * with these ids (used by `plan()`, and when a group is scaled up).
 */
export function respec(
  spec: InstanceSpec,
  id: number,
  groupId: number,
  groupCount: number,
): InstanceSpec {
  return {
    ...spec,
    id,
    groupId,
    groupCount,
    label: `${basename(spec.context.group.command)}/${id}/${groupId}`,
    env: {
      ...spec.env,
      DISTARCH_ID: String(id),
      DISTARCH_GROUP_ID: String(groupId),
      DISTARCH_GROUP_COUNT: String(groupCount),
    },
    context: { ...spec.context, id, groupId, groupCount },
  };
}

/** What {@linkcode rescale} decides. */
export interface Rescaling<T> {
  /** Specs of the instances to add, slot by slot, with the next free ids. */
  added: InstanceSpec[];
  /** The members to stop and remove: on each slot, those with the highest `groupId`. */
  removed: T[];
}

/**
 * How a group goes to `instancesPerHost` instances on each of its slots (a
 * slot is one host of one process config): the members are bucketed by
 * slot; a slot short of instances gets new ones made from its template with
 * the next ids (after `lastId` across all groups, and after the group's
 * highest `groupId`), and a slot with too many loses those with the highest
 * `groupId`. New instances count `slots × instancesPerHost` in the group.
 *
 * @example
 * ```ts
 * import { plan } from "./plan.ts";
 * import { rescale } from "./_respec.ts";
 * const specs = plan([{ name: "G", command: "w.ts", processes: [{ type: "local", instances: 2 }] }]);
 * const templates = new Map([[specs[0]!.slot, specs[0]!]]);
 * const { added, removed } = rescale(templates, specs.map((spec) => ({ spec })), {
 *   instancesPerHost: 3,
 *   lastId: 2,
 * });
 * console.log(added.map((s) => s.label), removed.length); // ["w.ts/3/3"] 0
 * ```
 */
export function rescale<T extends { readonly spec: InstanceSpec }>(
  templates: ReadonlyMap<string, InstanceSpec>,
  members: readonly T[],
  options: {
    /** The instances wanted on each slot. */
    instancesPerHost: number;
    /** The highest id in use, in any group. */
    lastId: number;
  },
): Rescaling<T> {
  const { instancesPerHost, lastId } = options;
  const slots = new Map<string, T[]>([...templates.keys()].map((slot) => [slot, []]));
  for (const m of members) slots.get(m.spec.slot)!.push(m);
  const groupCount = slots.size * instancesPerHost;
  let id = lastId;
  let groupId = Math.max(0, ...members.map((m) => m.spec.groupId));
  const added: InstanceSpec[] = [];
  const removed: T[] = [];
  for (const [slot, list] of slots) {
    list.sort((a, b) => a.spec.groupId - b.spec.groupId);
    const template = templates.get(slot)!;
    for (let n = list.length; n < instancesPerHost; n++) {
      added.push(respec(template, ++id, ++groupId, groupCount));
    }
    removed.push(...list.slice(instancesPerHost));
  }
  return { added, removed };
}
