/**
 * `distarch stop --leave-running` on the master's side: ends the run through
 * `Launcher.leave()`, counting the instances it leaves, and tells the `run`
 * command afterwards whether its run ended that way.
 *
 * @module
 */

import type { InstanceInfo, InstanceState } from "../master/events.ts";
import type { Launcher } from "../master/launcher.ts";
import type { LeftReport } from "./control_protocol.ts";

/** The states in which an instance has a process that a leaving master leaves running. */
const LIVE: ReadonlySet<InstanceState> = new Set(["starting", "running", "restarting", "stopping"]);

/** How many of `infos` have a process (what `leave` leaves running). */
export function liveInstances(infos: readonly InstanceInfo[]): number {
  return infos.filter((i) => LIVE.has(i.state)).length;
}

/** A master's way out that leaves its instances running. */
export class Handover {
  readonly #launcher: Pick<Launcher, "leave" | "list">;
  readonly #adoptWindow: number;
  #leaving: Promise<LeftReport> | undefined;
  #left: LeftReport | undefined;

  /** `adoptWindow`: the launcher's option, for the report. */
  constructor(launcher: Pick<Launcher, "leave" | "list">, adoptWindow: number) {
    this.#launcher = launcher;
    this.#adoptWindow = adoptWindow;
  }

  /**
   * Calls `launcher.leave()` (once while it is pending) and resolves to what
   * it left; rejects with the launcher's error, after which it can be asked again.
   */
  leave(): Promise<LeftReport> {
    this.#leaving ??= (async () => {
      const instances = liveInstances(this.#launcher.list());
      try {
        await this.#launcher.leave();
      } catch (e) {
        this.#leaving = undefined;
        throw e;
      }
      this.#left = { instances, adoptWindow: this.#adoptWindow };
      return this.#left;
    })();
    return this.#leaving;
  }

  /**
   * Once `run()` resolved: what the master left running when it ended by
   * {@linkcode Handover.leave}, else `undefined`. Waits for a leave in progress.
   */
  async left(): Promise<LeftReport | undefined> {
    if (this.#leaving !== undefined) await this.#leaving.catch(() => {});
    return this.#left;
  }
}
