/**
 * Start ordering at run time: a group with `dependsOn` has its instances
 * held back (state `pending`) until every instance of every group it
 * depends on is ready, on every host ({@linkcode startGate}); held instances
 * of a group whose dependency gave up are marked failed, with a record. The
 * launcher asks again whenever an instance becomes ready or done.
 *
 * @module
 */

import type { Instance } from "./instance.ts";
import { startGate } from "./_readiness.ts";

/** A group's name and dependencies, as the gates need them. */
export interface GatedGroup {
  /** The group's name. */
  name: string;
  /** The groups it depends on. @default {[]} */
  dependsOn?: readonly string[];
}

/** Holds back the instances of groups whose dependencies are not ready yet. */
export class StartGates {
  #deps = new Map<string, readonly string[]>();
  #held = new Map<string, Set<Instance>>();
  #pumping = false;
  #again = false;
  readonly #all: () => readonly Instance[];
  readonly #log: (message: string) => void;
  readonly #closed: () => boolean;

  /**
   * @param all Every instance of the launcher (the dependencies are found among them).
   * @param log Where "waits for" notices go.
   * @param closed True once nothing may start any more (the launcher is stopping).
   */
  constructor(
    all: () => readonly Instance[],
    log: (message: string) => void,
    closed: () => boolean,
  ) {
    this.#all = all;
    this.#log = log;
    this.#closed = closed;
  }

  /** The groups and their dependencies, from now on (at start and on reload). */
  setGroups(groups: readonly GatedGroup[]): void {
    this.#deps = new Map(groups.map((g) => [g.name, g.dependsOn ?? []]));
    for (const name of this.#held.keys()) if (!this.#deps.has(name)) this.#held.delete(name);
  }

  /** The groups `name` depends on. */
  dependsOn(name: string): readonly string[] {
    return this.#deps.get(name) ?? [];
  }

  /**
   * Starts `members` of group `name` now when its dependencies allow it;
   * otherwise holds them (`pending`) until they do, logging once what the
   * group waits for.
   */
  admit(name: string, members: readonly Instance[]): void {
    if (members.length === 0) return;
    const deps = this.dependsOn(name);
    if (deps.length === 0) {
      for (const inst of members) inst.start();
      return;
    }
    let held = this.#held.get(name);
    if (held === undefined) this.#held.set(name, held = new Set());
    for (const inst of members) {
      inst.hold();
      held.add(inst);
    }
    const gate = this.#gate(name);
    if (gate.kind === "wait") {
      const on = gate.on.map((g) => JSON.stringify(g)).join(", ");
      this.#log(`group ${JSON.stringify(name)} waits for ${on} to be ready before it starts`);
    }
    this.pump();
  }

  /** Starts or fails the held instances whose dependencies have settled. */
  pump(): void {
    if (this.#pumping) {
      this.#again = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#again = false;
        if (this.#closed()) return;
        for (const [name, held] of this.#held) {
          for (const inst of held) if (inst.state !== "pending") held.delete(inst);
          if (held.size === 0) {
            this.#held.delete(name);
            continue;
          }
          const gate = this.#gate(name);
          if (gate.kind === "wait") continue;
          this.#held.delete(name);
          for (const inst of held) {
            if (gate.kind === "go") inst.start();
            else {
              inst.block(
                `not started: group ${JSON.stringify(gate.dependency)} it depends on gave up ` +
                  `(${gate.failed} of ${gate.of} instances failed)`,
              );
            }
          }
        }
      } while (this.#again);
    } finally {
      this.#pumping = false;
    }
  }

  #gate(name: string) {
    const deps = this.dependsOn(name);
    const wanted = new Set(deps);
    const instances = this.#all().filter((i) => wanted.has(i.spec.group)).map((i) => ({
      group: i.spec.group,
      state: i.state,
      ready: i.ready,
    }));
    return startGate(deps, instances);
  }
}
