/**
 * Start ordering between groups (`dependsOn`), as pure functions of the
 * dependency lists: the cycle finder the validator uses, the order groups
 * start in (levels: a level starts once every earlier level is ready) and the
 * order they stop in (the other way round).
 *
 * @module
 */

/** A group's name and the names of the groups it depends on. */
export interface DependencyNode {
  /** The group's name. */
  name: string;
  /** Groups that must be ready before this one starts. @default {[]} */
  dependsOn?: readonly string[];
}

/**
 * The first cycle among `nodes`, as the names along it with the first one
 * repeated at the end (`["feeder", "consumer", "feeder"]`), starting at the
 * earliest group of the cycle in `nodes` order; `undefined` when there is
 * none. Names that are not in `nodes` are ignored.
 *
 * @example
 * ```ts
 * import { findCycle } from "./_dependencies.ts";
 * findCycle([{ name: "a", dependsOn: ["b"] }, { name: "b", dependsOn: ["a"] }]);
 * // ["a", "b", "a"]
 * ```
 */
export function findCycle(nodes: readonly DependencyNode[]): string[] | undefined {
  const deps = new Map(nodes.map((n) => [n.name, n.dependsOn ?? []]));
  const done = new Set<string>();
  for (const start of nodes) {
    if (done.has(start.name)) continue;
    // iterative depth-first search; `path` is the current chain from `start`
    const path: string[] = [];
    const onPath = new Set<string>();
    const stack: { name: string; next: number }[] = [{ name: start.name, next: 0 }];
    path.push(start.name);
    onPath.add(start.name);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const list = deps.get(top.name) ?? [];
      if (top.next >= list.length) {
        stack.pop();
        path.pop();
        onPath.delete(top.name);
        done.add(top.name);
        continue;
      }
      const dep = list[top.next++]!;
      if (!deps.has(dep) || done.has(dep)) continue;
      if (onPath.has(dep)) {
        const cycle = path.slice(path.indexOf(dep));
        return rotateToEarliest(cycle, nodes);
      }
      stack.push({ name: dep, next: 0 });
      path.push(dep);
      onPath.add(dep);
    }
  }
  return undefined;
}

function rotateToEarliest(cycle: string[], nodes: readonly DependencyNode[]): string[] {
  const rank = new Map(nodes.map((n, i) => [n.name, i]));
  let best = 0;
  cycle.forEach((name, i) => {
    if (rank.get(name)! < rank.get(cycle[best]!)!) best = i;
  });
  const rotated = [...cycle.slice(best), ...cycle.slice(0, best)];
  return [...rotated, rotated[0]!];
}

/**
 * The groups in start levels: level 0 depends on nothing, each later level
 * only on earlier ones; within a level, groups keep their `nodes` order.
 * Unknown names are ignored. Throws a `RangeError` on a cycle (the validator
 * refuses cycles first).
 *
 * @example
 * ```ts
 * import { startLevels } from "./_dependencies.ts";
 * startLevels([{ name: "consumer", dependsOn: ["feeder"] }, { name: "feeder" }, { name: "x" }]);
 * // [["feeder", "x"], ["consumer"]]
 * ```
 */
export function startLevels(nodes: readonly DependencyNode[]): string[][] {
  const known = new Set(nodes.map((n) => n.name));
  const level = new Map<string, number>();
  const levels: string[][] = [];
  let left = nodes.filter(() => true);
  while (left.length > 0) {
    const placed = levels.length;
    const here = left.filter((n) =>
      (n.dependsOn ?? []).every((d) => !known.has(d) || (level.get(d) ?? placed) < placed)
    );
    if (here.length === 0) {
      const cycle = findCycle(left) ?? left.map((n) => n.name);
      throw new RangeError(`dependsOn: cycle ${cycle.join(" → ")}`);
    }
    for (const n of here) level.set(n.name, placed);
    levels.push(here.map((n) => n.name));
    left = left.filter((n) => !level.has(n.name));
  }
  return levels;
}

/**
 * The order to stop groups in: dependents first, what they depend on last
 * (the start levels reversed).
 *
 * @example
 * ```ts
 * import { stopLevels } from "./_dependencies.ts";
 * stopLevels([{ name: "consumer", dependsOn: ["feeder"] }, { name: "feeder" }]);
 * // [["consumer"], ["feeder"]]
 * ```
 */
export function stopLevels(nodes: readonly DependencyNode[]): string[][] {
  return startLevels(nodes).reverse();
}

/**
 * Every group that depends on `name`, directly or through others, in
 * `nodes` order.
 *
 * @example
 * ```ts
 * import { dependentsOf } from "./_dependencies.ts";
 * dependentsOf([{ name: "a" }, { name: "b", dependsOn: ["a"] }, { name: "c", dependsOn: ["b"] }], "a");
 * // ["b", "c"]
 * ```
 */
export function dependentsOf(nodes: readonly DependencyNode[], name: string): string[] {
  const found = new Set<string>([name]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const n of nodes) {
      if (found.has(n.name)) continue;
      if ((n.dependsOn ?? []).some((d) => found.has(d))) {
        found.add(n.name);
        grew = true;
      }
    }
  }
  return nodes.map((n) => n.name).filter((n) => n !== name && found.has(n));
}
