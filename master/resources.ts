/**
 * Per-instance CPU and memory: a sampler that reads `/proc` every few
 * seconds and sums, for each local instance, every process of its process
 * group (an instance is the leader of a group of its own, so a worker's
 * children count). Remote instances are measured on their host by its agent;
 * their samples come in through {@linkcode ResourceSampler.report} (the
 * launcher's `instanceResources` events).
 *
 * @module
 */

import type { InstanceInfo } from "./events.ts";
import { auxv, readProcessGroups, type SystemConstants } from "../_shared/proc.ts";

/** What one instance uses. */
export interface ResourceSample {
  /** CPU use over the last interval, in percent of one core (may exceed 100). */
  cpu?: number;
  /** CPU seconds (user + system) of the process group since its start, children reaped included. */
  cpuSeconds: number;
  /** Resident memory of the process group, in bytes. */
  rss: number;
  /** When it was measured (ms since epoch). */
  time: number;
}

/** Options of a {@linkcode ResourceSampler}. */
export interface ResourceSamplerOptions {
  /** Seconds between two samples. @default {2} */
  interval?: number;
  /** Which instances are on this machine (and so read from `/proc`). @default {host is "localhost"} */
  isLocal?: (info: InstanceInfo) => boolean;
  /** The procfs mount. @default {"/proc"} */
  procRoot?: string;
}

const LIVE = new Set(["starting", "running", "stopping"]);

interface Kept extends ResourceSample {
  pid: number;
  /** Measured elsewhere (reported): this run is not read from `/proc`. */
  reported: boolean;
}

/**
 * Samples the CPU and memory of every running instance that `instances()`
 * lists. Call {@linkcode ResourceSampler.start} for periodic samples, or
 * {@linkcode ResourceSampler.sample} yourself.
 *
 * @example
 * ```ts ignore
 * import { Launcher } from "./launcher.ts";
 * import { ResourceSampler } from "./resources.ts";
 * const launcher = new Launcher();
 * using sampler = new ResourceSampler(() => launcher.list()).start();
 * // later: sampler.decorate(launcher.list()) has cpu, cpuSeconds and rss
 * ```
 */
export class ResourceSampler implements Disposable {
  readonly #instances: () => readonly InstanceInfo[];
  readonly #interval: number;
  readonly #isLocal: (info: InstanceInfo) => boolean;
  readonly #proc: string;
  readonly #samples = new Map<number, Kept>();
  readonly #system: SystemConstants;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** Creates a sampler of what `instances()` returns (e.g. `() => launcher.list()`). */
  constructor(instances: () => readonly InstanceInfo[], options: ResourceSamplerOptions = {}) {
    const { interval = 2, isLocal = (i) => i.host === "localhost", procRoot = "/proc" } = options;
    if (!(interval > 0)) {
      throw new RangeError(`ResourceSampler interval must be > 0 seconds: got ${interval}`);
    }
    this.#instances = instances;
    this.#interval = interval;
    this.#isLocal = isLocal;
    this.#proc = procRoot;
    this.#system = auxv(procRoot);
  }

  /** Samples every `interval` seconds from now on (the timer does not keep the process alive). */
  start(): this {
    if (this.#timer !== undefined) return this;
    this.sample();
    this.#timer = setInterval(() => this.sample(), this.#interval * 1000);
    Deno.unrefTimer(this.#timer as unknown as number);
    return this;
  }

  /** Stops sampling. */
  [Symbol.dispose](): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Reads `/proc` once and updates the sample of every running local instance. */
  sample(): void {
    const now = Date.now();
    const groups = new Map<number, number>(); // leader pid → instance id
    const live = new Set<number>();
    for (const info of this.#instances()) {
      if (info.pid === undefined || !LIVE.has(info.state)) continue;
      live.add(info.id);
      const kept = this.#samples.get(info.id);
      const reported = kept !== undefined && kept.reported && kept.pid === info.pid;
      if (this.#isLocal(info) && !reported) groups.set(info.pid, info.id);
    }
    for (const id of this.#samples.keys()) if (!live.has(id)) this.#samples.delete(id);
    if (groups.size === 0) return;
    const read = readProcessGroups(groups.keys(), this.#proc, this.#system);
    for (const [pid, g] of read) {
      this.#store(groups.get(pid)!, pid, g.cpuSeconds, g.rss, now, false);
    }
  }

  /**
   * Takes a sample measured elsewhere (a remote agent on its host): the CPU
   * seconds and resident bytes of instance `id`'s process group, run `pid`.
   * That run is then never read from this machine's `/proc`, whatever its
   * host is called.
   *
   * @example Remote instances measured by their agents: the launcher's `instanceResources` events
   * ```ts ignore
   * import { Launcher } from "./launcher.ts";
   * import { ResourceSampler } from "./resources.ts";
   * const launcher: Launcher = new Launcher({
   *   events: { instanceResources: (e) => sampler.report(e.id, e.pid, e) },
   * });
   * const sampler = new ResourceSampler(() => launcher.list()).start();
   * ```
   */
  report(
    id: number,
    pid: number,
    sample: { cpuSeconds: number; rss: number; time?: number },
  ): void {
    this.#store(id, pid, sample.cpuSeconds, sample.rss, sample.time ?? Date.now(), true);
  }

  /** The last sample of instance `id`, if it runs and was measured. */
  get(id: number): ResourceSample | undefined {
    const s = this.#samples.get(id);
    if (s === undefined) return undefined;
    const { pid: _, reported: __, ...sample } = s;
    return sample;
  }

  /** `infos` with `cpu`, `cpuSeconds` and `rss` added to each running instance measured. */
  decorate(infos: readonly InstanceInfo[]): InstanceInfo[] {
    return infos.map((i) => {
      const s = this.#samples.get(i.id);
      if (s === undefined || s.pid !== i.pid || !LIVE.has(i.state)) return i;
      return {
        ...i,
        ...(s.cpu !== undefined ? { cpu: s.cpu } : {}),
        cpuSeconds: s.cpuSeconds,
        rss: s.rss,
      };
    });
  }

  #store(
    id: number,
    pid: number,
    cpuSeconds: number,
    rss: number,
    time: number,
    reported: boolean,
  ): void {
    const prev = this.#samples.get(id);
    const next: Kept = { pid, cpuSeconds, rss, time, reported };
    if (prev !== undefined && prev.pid === pid && time > prev.time) {
      const used = cpuSeconds - prev.cpuSeconds;
      next.cpu = Math.max(0, Math.round((used / ((time - prev.time) / 1000)) * 1000) / 10);
    }
    this.#samples.set(id, next);
  }
}
