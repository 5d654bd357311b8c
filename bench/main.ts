/**
 * distarch's benchmarks: `deno task bench [--only=<case>[,<case>…]] [--reps=<n>]`.
 * Prints one markdown table per case; each row shows distarch's figure, a
 * baseline measured in the same run, and their ratio.
 *
 * Cases: `launch`, `stop`, `relay`, `memory`, `dashboard`, `reload` (local); `remote` and
 * `handover` (SSH to a loopback sshd fixture: need root and /usr/sbin/sshd). `handover`'s
 * sizes: `DISTARCH_BENCH_HANDOVER_FLEET` (default `100+16x4`: local + hosts × per host) and
 * `DISTARCH_BENCH_HANDOVER_LINES` (default `4+4x1`).
 *
 * @module
 */

import { handoverRows } from "./_handover.ts";
import { dashboardRelayRows, metricsRows, samplingRows, stalledRows } from "./_dashboard.ts";
import { launchStopRows, relayRows } from "./_local.ts";
import { memoryRows } from "./_memory.ts";
import { reloadRows } from "./_reload.ts";
import { remoteRows } from "./_remote.ts";
import { type Row, table } from "./_table.ts";

/** One benchmark case: a table title and how to measure its rows. */
export interface Case {
  /** Title of its table. */
  title: string;
  /** Measures the rows. */
  run(options: { reps: number }): Promise<Row[]>;
}

// launch and stop come from the same runs; measure them once when both are asked for
let launchStop: Promise<{ launch: Row[]; stop: Row[] }> | undefined;
function launchStopOnce(reps: number) {
  return launchStop ??= launchStopRows([50, 200], reps);
}

/** Every case, in the order they run. */
export const CASES: Record<string, Case> = {
  launch: {
    title: "Launch: start N minimal workers until each printed its ready line",
    run: async ({ reps }) => (await launchStopOnce(reps)).launch,
  },
  stop: {
    title: "Stop: from the stop request until every instance is gone",
    run: async ({ reps }) => (await launchStopOnce(reps)).stop,
  },
  relay: {
    title: "Log relay: 2,000,000 short lines to a text log file (every line tagged)",
    run: ({ reps }) => relayRows(2_000_000, 8, reps),
  },
  memory: {
    title: "Master memory while supervising idle instances",
    run: () => memoryRows(200),
  },
  dashboard: {
    title: "Dashboard: log relay (8 workers × 250,000 lines) while dashboard clients stream " +
      "the log; /metrics latency and CPU/memory sampling with 500 instances",
    run: async ({ reps }) => [
      ...(await dashboardRelayRows(8, 250_000, reps)),
      ...(await stalledRows(10)),
      ...(await metricsRows(500)),
      ...(await samplingRows(500)),
    ],
  },
  reload: {
    title: "Live reload: 20 groups × 10 sh workers (waitReady), one group's env changed",
    run: ({ reps }) => reloadRows(Math.max(3, reps)),
  },
  remote: {
    title: "Remote: 16 loopback hosts × 4 instances until all ready; " +
      "log relay through SSH (8 workers × 250,000 lines)",
    run: ({ reps }) => remoteRows(reps),
  },
  handover: {
    title: "Handover: a new master adopts a SIGKILLed one's local and remote instances; " +
      "numbered lines printed while no master ran",
    run: ({ reps }) => handoverRows(reps),
  },
};

function parseArgs(args: string[]): { only: string[]; reps: number } {
  let only = Object.keys(CASES);
  let reps = 2;
  for (const arg of args) {
    const [key, value = ""] = arg.split("=", 2);
    if (key === "--only") {
      only = value.split(",").filter((c) => c !== "");
      const unknown = only.filter((c) => !(c in CASES));
      if (unknown.length > 0 || only.length === 0) {
        throw new TypeError(
          `Cannot run bench as '--only' names unknown cases: got ${JSON.stringify(value)}, ` +
            `known cases are ${Object.keys(CASES).join(", ")}`,
        );
      }
    } else if (key === "--reps") {
      reps = Number(value);
      if (!(Number.isInteger(reps) && reps >= 1)) {
        throw new TypeError(
          `Cannot run bench as '--reps' must be a positive integer: got ${value}`,
        );
      }
    } else {
      throw new TypeError(`Cannot run bench: unknown argument ${JSON.stringify(arg)}`);
    }
  }
  return { only, reps };
}

if (import.meta.main) {
  const { only, reps } = parseArgs(Deno.args);
  const started = performance.now();
  const load = () => Deno.loadavg().map((l) => l.toFixed(2)).join(" ");
  console.log(
    `## distarch bench (${Deno.build.target}, deno ${Deno.version.deno}, ` +
      `${navigator.hardwareConcurrency} cores, load average ${load()})\n`,
  );
  for (const name of only) {
    const c = CASES[name];
    if (c === undefined) continue;
    const t0 = performance.now();
    const rows = await c.run({ reps });
    console.log(table(c.title, rows));
    console.log(`_${name}: ${((performance.now() - t0) / 1000).toFixed(1)} s_\n`);
  }
  console.log(
    `_total: ${((performance.now() - started) / 1000).toFixed(1)} s; ` +
      `load average at the end ${load()} (other load on the machine skews every figure)_`,
  );
}
