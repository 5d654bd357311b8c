/**
 * Per-instance CPU and memory: a sampler that reads `/proc` every few
 * seconds and sums, for each local instance, every process of its process
 * group (an instance is the leader of a group of its own, so a worker's
 * children count). Remote instances are measured on their host; their
 * samples come in through {@linkcode ResourceSampler.report}.
 *
 * @module
 */

import type { InstanceInfo } from "./events.ts";

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
  readonly #tick: number;
  readonly #page: number;
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
    const aux = auxv(procRoot);
    this.#tick = aux.clockTicks;
    this.#page = aux.pageSize;
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
    const groups = new Map<number, { id: number; cpuTicks: number; rssPages: number }>();
    const live = new Set<number>();
    for (const info of this.#instances()) {
      if (info.pid === undefined || !LIVE.has(info.state)) continue;
      live.add(info.id);
      if (this.#isLocal(info)) groups.set(info.pid, { id: info.id, cpuTicks: 0, rssPages: 0 });
    }
    for (const id of this.#samples.keys()) if (!live.has(id)) this.#samples.delete(id);
    if (groups.size === 0) return;
    for (const entry of Deno.readDirSync(this.#proc)) {
      const c = entry.name.charCodeAt(0);
      if (c < 48 || c > 57) continue; // not a pid
      let stat: string;
      try {
        stat = Deno.readTextFileSync(`${this.#proc}/${entry.name}/stat`);
      } catch {
        continue; // it ended meanwhile
      }
      const f = parseStat(stat);
      if (f === undefined) continue;
      const g = groups.get(f.pgrp);
      if (g === undefined) continue;
      g.cpuTicks += f.cpuTicks;
      g.rssPages += f.rssPages;
    }
    for (const [pid, g] of groups) {
      this.#store(g.id, pid, g.cpuTicks / this.#tick, g.rssPages * this.#page, now);
    }
  }

  /**
   * Takes a sample measured elsewhere (a remote agent on its host): the CPU
   * seconds and resident bytes of instance `id`'s process group, run `pid`.
   */
  report(id: number, pid: number, sample: { cpuSeconds: number; rss: number; time?: number }) {
    this.#store(id, pid, sample.cpuSeconds, sample.rss, sample.time ?? Date.now());
  }

  /** The last sample of instance `id`, if it runs and was measured. */
  get(id: number): ResourceSample | undefined {
    const s = this.#samples.get(id);
    if (s === undefined) return undefined;
    const { pid: _, ...sample } = s;
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

  #store(id: number, pid: number, cpuSeconds: number, rss: number, time: number): void {
    const prev = this.#samples.get(id);
    const next: Kept = { pid, cpuSeconds, rss, time };
    if (prev !== undefined && prev.pid === pid && time > prev.time) {
      const used = cpuSeconds - prev.cpuSeconds;
      next.cpu = Math.max(0, Math.round((used / ((time - prev.time) / 1000)) * 1000) / 10);
    }
    this.#samples.set(id, next);
  }
}

/** The fields of `/proc/<pid>/stat` the sampler needs. */
export interface StatFields {
  /** Process group id. */
  pgrp: number;
  /** utime + stime + cutime + cstime, in clock ticks. */
  cpuTicks: number;
  /** Resident set size, in pages. */
  rssPages: number;
}

/**
 * Parses `/proc/<pid>/stat` (the command name, in parentheses, may hold
 * spaces and parentheses: the fields start after the last `)`).
 *
 * @example
 * ```ts
 * import { parseStat } from "./resources.ts";
 * const line = "42 (a) b) S 1 42 42 0 -1 0 0 0 0 0 7 3 1 1 20 0 1 0 100 1000 25 0";
 * parseStat(line); // { pgrp: 42, cpuTicks: 12, rssPages: 25 }
 * ```
 */
export function parseStat(stat: string): StatFields | undefined {
  const close = stat.lastIndexOf(")");
  if (close < 0) return undefined;
  // fields from 3 (state) on; index 0 here is field 3
  const f = stat.slice(close + 2).split(" ", 22);
  const pgrp = Number(f[2]);
  const cpuTicks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  const rssPages = Number(f[21]);
  if (!Number.isFinite(pgrp) || !Number.isFinite(cpuTicks) || !Number.isFinite(rssPages)) {
    return undefined;
  }
  return { pgrp, cpuTicks, rssPages };
}

/**
 * The clock tick rate (`getconf CLK_TCK`) and page size of this kernel, from
 * the auxiliary vector (AT_CLKTCK, AT_PAGESZ); 100 and 4096 when unreadable.
 */
export function auxv(procRoot = "/proc"): { clockTicks: number; pageSize: number } {
  let clockTicks = 100, pageSize = 4096;
  try {
    const bytes = Deno.readFileSync(`${procRoot}/self/auxv`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
    for (let off = 0; off + 16 <= bytes.length; off += 16) {
      const type = Number(view.getBigUint64(off, le));
      const value = Number(view.getBigUint64(off + 8, le));
      if (type === 6 && value > 0) pageSize = value; // AT_PAGESZ
      if (type === 17 && value > 0) clockTicks = value; // AT_CLKTCK
      if (type === 0) break;
    }
  } catch {
    // no auxv (not Linux, or a 32-bit layout): keep the common values
  }
  return { clockTicks, pageSize };
}
