/**
 * Handover: the master's side of letting instances outlive it. At the start
 * of a run it opens the state directory, refuses a state file another live
 * master holds, and takes over the run's identity (id and secret) from a
 * previous master's file; while it runs it keeps `state.json` up to date
 * (where each instance runs, its counters); a new master adopts from it
 * ({@linkcode adoptPrevious}).
 *
 * @module
 */

import { errorMessage } from "../_shared/errors.ts";
import { plural } from "../_shared/plural.ts";
import {
  type AgentRecord,
  newRunIdentity,
  processStartTicks,
  type RunState,
  StateDir,
} from "./_state.ts";
import type { Instance } from "./instance.ts";
import type { InstanceSpec } from "./plan.ts";
import type { TransportPool } from "./_transport_pool.ts";
import type { AdoptedRun } from "./transports/types.ts";

/** Changes closer together than this (ms) are written to the state file once. */
const DEBOUNCE_MS = 25;

/** What the launcher tells {@linkcode Handover} about the run. */
export interface HandoverSources {
  /** The run's transports. */
  transports: TransportPool;
  /** The run's instances (now: they change with scaling and reloads). */
  instances(): readonly Instance[];
  /** Ms between SIGTERM and SIGKILL for adopted instances the config no longer has. */
  graceMs: number;
  /** The launcher's own log lines (a failed write of the state file is an error). */
  log(level: "info" | "notice" | "warning" | "error", message: string): void;
}

/** The state of one run with adoption on: its identity, and its `state.json`. */
export class Handover {
  /** The run's identity: the previous master's when it adopts. */
  readonly run: { id: string; secret: string };
  /** The state a previous master left, if any (with when it was last written). */
  readonly previous: { state: RunState; writtenAt: number } | undefined;
  readonly #dir: StateDir;
  readonly #adoptWindow: number;
  readonly #master: RunState["master"];
  #sources: HandoverSources | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #last = "";
  #ended = false;
  #failing = false;

  /**
   * Opens `dir` (0700) and reads what a previous master left. Throws a
   * `StateError` for an unsafe directory or a refused state file, and an
   * Error when the master that wrote it still runs.
   */
  constructor(dir: string, adoptWindow: number) {
    this.#dir = StateDir.open(dir);
    this.#adoptWindow = adoptWindow;
    const state = this.#dir.read();
    if (state !== undefined) {
      const live = this.#dir.liveMaster(state);
      if (live !== undefined) {
        throw new Error(
          `another master (pid ${live}) runs with the state directory ${dir}: stop it ` +
            `("distarch stop"), or give this one another stateDir`,
        );
      }
      let writtenAt = 0;
      try {
        writtenAt = Deno.statSync(this.#dir.file).mtime?.getTime() ?? 0;
      } catch { /* gone since: nothing trusted */ }
      this.previous = { state, writtenAt };
      this.run = { id: state.runId, secret: state.secret };
    } else {
      const { runId, secret } = newRunIdentity();
      this.run = { id: runId, secret };
    }
    this.#master = {
      pid: Deno.pid,
      startTicks: processStartTicks(Deno.pid),
      startedAt: Date.now(),
    };
  }

  /**
   * Adopts what a previous master left (`instances`, just made, take their
   * runs over), then keeps the state of the run `sources` describe (written
   * now).
   */
  async begin(instances: readonly Instance[], sources: HandoverSources): Promise<void> {
    if (this.previous !== undefined) {
      const { transports, graceMs, log } = sources;
      const n = await adoptPrevious(this.previous, instances, transports, graceMs, log);
      log("info", `adopted ${plural(n, "running instance")} of the previous master`);
    }
    this.#sources = sources;
    this.#written(this.save());
  }

  /**
   * The run is over. Left (`leaving`): the state is written one last time and
   * kept, and `transports` leave their instances to their agents. Else
   * they close and no state is kept.
   */
  async finish(leaving: boolean, transports: TransportPool): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (leaving) {
      const failed = this.save();
      if (failed !== undefined) this.#sources?.log("error", failed);
      this.#ended = true;
      await transports.leave();
    } else {
      this.#ended = true;
      await transports.close();
      this.#dir.remove();
    }
  }

  /** Says a failed write, once per streak. */
  #written(failed: string | undefined): void {
    if (failed !== undefined && !this.#failing) this.#sources?.log("error", failed);
    this.#failing = failed !== undefined;
  }

  /** Writes the state soon (changes close together are written once). */
  schedule(): void {
    if (this.#ended || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#written(this.save());
    }, DEBOUNCE_MS);
  }

  /** Writes the state now, when it changed; a failure is returned (the run goes on). */
  save(): string | undefined {
    if (this.#ended || this.#sources === undefined) return undefined;
    const state = this.#state(this.#sources);
    const text = JSON.stringify(state);
    if (text === this.#last) return undefined;
    try {
      this.#dir.write(state);
      this.#last = text;
      return undefined;
    } catch (error) {
      return `cannot write the state file ${this.#dir.file}: ${errorMessage(error)} ` +
        "(a new master could not adopt what changed since the last write)";
    }
  }

  #state(sources: HandoverSources): RunState {
    const byId = new Map(sources.instances().map((i) => [i.spec.id, i]));
    const agents: AgentRecord[] = [];
    for (const [target, transport] of sources.transports.made()) {
      for (const handle of transport.records?.() ?? []) {
        const instances = handle.instances.flatMap(({ key, id, pid }) => {
          const inst = byId.get(id);
          if (inst === undefined) return [];
          const info = inst.info();
          return [{
            id,
            key,
            pid,
            startedAt: info.startedAt ?? Date.now(),
            runs: Math.max(1, info.runs),
            restarts: info.restarts,
            ready: inst.ready,
            group: inst.spec.group,
            spec: specDigest(inst.spec),
          }];
        });
        agents.push({ target, ...handle, instances });
      }
    }
    return {
      v: 1,
      runId: this.run.id,
      secret: this.run.secret,
      master: this.#master,
      adoptWindow: this.#adoptWindow,
      agents,
    };
  }
}

/**
 * What an instance runs, as a short digest: its group, command, working
 * directory, environment, priority and params. A new master adopts a run
 * only when its own spec for that id has the same digest.
 */
export function specDigest(spec: InstanceSpec): string {
  const text = JSON.stringify([
    spec.group,
    spec.target.key,
    spec.exec,
    spec.cwd ?? null,
    spec.env,
    spec.priority ?? null,
    spec.context.group,
  ]);
  // FNV-1a, 2 × 32 bits: a change detector, not a security boundary (the file is 0600)
  let a = 0x811c9dc5, b = 0x01000193 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x01000193 + 2) >>> 0;
  }
  return a.toString(16).padStart(8, "0") + b.toString(16).padStart(8, "0");
}

/**
 * Adopts what `previous` lists: each agent is reached again through its
 * transport (the target's, made now), and each instance still running whose
 * id and spec the new plan has is handed to its {@linkcode Instance}; the
 * others are stopped (SIGTERM, then SIGKILL after `graceMs`). Resolves with
 * how many were adopted.
 */
export async function adoptPrevious(
  { state: previous, writtenAt }: { state: RunState; writtenAt: number },
  instances: readonly Instance[],
  transports: TransportPool,
  graceMs: number,
  log: (level: "info" | "notice" | "warning", message: string) => void,
): Promise<number> {
  const byId = new Map(instances.map((i) => [i.spec.id, i]));
  const byTarget = new Map<string, AgentRecord[]>();
  for (const a of previous.agents) byTarget.set(a.target, [...byTarget.get(a.target) ?? [], a]);
  let adopted = 0;
  let foreign = 0;
  await Promise.all([...byTarget].map(async ([key, agents]) => {
    const target = instances.find((i) => i.spec.target.key === key)?.spec.target;
    if (target === undefined) {
      // no group of the new config runs there: their agents stop them at the end of the window
      foreign += agents.reduce((n, a) => n + a.instances.length, 0);
      return;
    }
    const transport = await transports.for(target);
    if (transport.adopt === undefined) return;
    let runs: Map<number, AdoptedRun>;
    try {
      // an agent gone without stopping its instances left orphans: kill them by their pids,
      // unless the file is too old for its pids to be trusted (reused since)
      const trustPids = Date.now() - writtenAt < (previous.adoptWindow + 60) * 1000;
      runs = await transport.adopt(agents, { trustPids });
    } catch (error) {
      log("warning", `cannot adopt the instances on ${target.host}: ${errorMessage(error)}`);
      return;
    }
    const records = new Map(agents.flatMap((a) => a.instances.map((r) => [r.id, r])));
    for (const [id, run] of runs) {
      const inst = byId.get(id);
      const record = records.get(id)!;
      if (inst === undefined || specDigest(inst.spec) !== record.spec) {
        log(
          "notice",
          `instance ${id} (pid ${run.running.pid}) on ${target.host} runs what the config no ` +
            "longer has: stopping it",
        );
        run.output(() => undefined);
        stopAdopted(run, graceMs);
        continue;
      }
      inst.adopt(run, record);
      adopted++;
    }
  }));
  if (foreign > 0) {
    log(
      "notice",
      `${plural(foreign, "instance")} of hosts or process configs no longer in the config ` +
        `${foreign === 1 ? "is" : "are"} left to ${
          foreign === 1 ? "its agent" : "their agents"
        }, ` +
        `which stop them within the adopt window (${previous.adoptWindow} s)`,
    );
  }
  return adopted;
}

/** SIGTERM, then SIGKILL after `graceMs` unless it ended. */
function stopAdopted(run: AdoptedRun, graceMs: number): void {
  const { running } = run;
  running.kill("SIGTERM");
  const timer = setTimeout(() => running.kill("SIGKILL"), graceMs);
  running.status.finally(() => clearTimeout(timer));
}
