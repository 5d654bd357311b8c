/**
 * The reload benchmark: a fleet of 20 groups × 10 sh workers (`waitReady`),
 * one group's env changed and applied with `Launcher.apply()`; measured
 * against restarting that group by hand (`restartGroup`) and against a full
 * stop and start of the same fleet, in the same run.
 *
 * @module
 */

import type { InstanceInfo } from "../master/events.ts";
import { Launcher, type RunSummary } from "../master/launcher.ts";
import type { GroupConfig } from "../master/types.ts";
import { within } from "./_distarch.ts";
import { fixture } from "./_plain.ts";
import type { Row } from "./_table.ts";

const WORKER = fixture("ready.sh");
const LIMIT_MS = 120_000;
const GROUPS = 20;
const PER_GROUP = 10;
const CHANGED = "g07";

function fleet(version: string): GroupConfig[] {
  return Array.from({ length: GROUPS }, (_, i) => {
    const name = `g${String(i).padStart(2, "0")}`;
    return {
      name,
      command: WORKER,
      waitReady: true,
      env: { V: name === CHANGED ? version : "1" },
      processes: [{ type: "local", instances: PER_GROUP }],
    };
  });
}

/** A launcher running the fleet, with a promise per count of ready events. */
class Fleet {
  readonly launcher: Launcher;
  readonly done: Promise<RunSummary>;
  #ready = 0;
  #waiters: { n: number; resolve: () => void }[] = [];

  constructor() {
    this.launcher = new Launcher({
      logger: { log() {} },
      events: { instanceReady: () => this.#onReady() },
      handleSignals: false,
      timeout: 0,
      gracePeriod: 5,
    });
    this.done = this.launcher.run(fleet("1"));
  }

  #onReady(): void {
    this.#ready++;
    this.#waiters = this.#waiters.filter((w) => {
      if (this.#ready < w.n) return true;
      w.resolve();
      return false;
    });
  }

  /** Resolves once `n` ready events were seen since the start. */
  readyCount(n: number): Promise<void> {
    if (this.#ready >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }

  async stop(): Promise<void> {
    await this.launcher.stop();
    await this.done;
  }
}

function key(i: InstanceInfo): string {
  return `${i.id}:${i.pid}:${i.runs}`;
}

/**
 * The reload rows: reload vs restart by hand (best of `reps` each, alternating), the last
 * replacement ready vs a full stop and start, and the untouched instances that were restarted.
 */
export async function reloadRows(reps: number): Promise<Row[]> {
  const total = GROUPS * PER_GROUP;
  const first = new Fleet();
  let reportMs = Infinity, lastReadyMs = Infinity, handMs = Infinity, untouchedRestarted = 0;
  let t2 = 0;
  try {
    await within(first.readyCount(total), LIMIT_MS, `starting ${total} sh workers`);
    for (let rep = 0; rep < reps; rep++) {
      const before = first.launcher.list().filter((i) => i.group !== CHANGED).map(key);
      const t0 = Date.now();
      const report = await within(
        first.launcher.apply(fleet(String(rep + 2))),
        LIMIT_MS,
        "reload",
      );
      reportMs = Math.min(reportMs, Date.now() - t0);
      const changed = report.groups.filter((g) => g.kind !== "unchanged");
      if (changed.length !== 1 || changed[0]!.replaced !== PER_GROUP || changed[0]!.halted) {
        throw new Error(`unexpected reload report: ${JSON.stringify(changed)}`);
      }
      const replaced = first.launcher.list().filter((i) => i.group === CHANGED);
      const lastReady = Math.max(...replaced.map((i) => i.readyAt ?? Infinity)) - t0;
      lastReadyMs = Math.min(lastReadyMs, lastReady);
      const after = new Set(first.launcher.list().filter((i) => i.group !== CHANGED).map(key));
      untouchedRestarted += before.filter((k) => !after.has(k)).length;

      const t1 = Date.now();
      await within(first.launcher.restartGroup(CHANGED), LIMIT_MS, "restartGroup by hand");
      handMs = Math.min(handMs, Date.now() - t1);
    }
  } finally {
    t2 = Date.now(); // the full stop and start begins with the stop of this fleet
    await first.stop();
  }
  // the same fleet started again, as a master restart would
  const second = new Fleet();
  let fullMs: number;
  try {
    await within(second.readyCount(total), LIMIT_MS, `starting ${total} sh workers again`);
    fullMs = Date.now() - t2;
  } finally {
    await second.stop();
  }
  return [
    {
      name: `reload: 1 changed group of ${PER_GROUP} among ${GROUPS}, until the report`,
      distarch: reportMs,
      baseline: handMs,
      unit: "ms",
      goal: "≤ 1.1× restart by hand",
      met: reportMs <= handMs * 1.1,
      note: `baseline: restartGroup() of that group; best of ${reps}`,
    },
    {
      name: "reload: until the last replacement is ready",
      distarch: lastReadyMs,
      baseline: fullMs,
      unit: "ms",
      goal: "< full stop + start",
      met: lastReadyMs < fullMs,
      note: `baseline: stop all ${total}, start all ${total} until ready`,
    },
    {
      name: "reload: untouched instances restarted",
      distarch: untouchedRestarted,
      baseline: 0,
      unit: "",
      goal: "0",
      met: untouchedRestarted === 0,
      note: `${total - PER_GROUP} untouched`,
    },
  ];
}
