/**
 * Reading process groups' CPU time and resident memory from Linux's procfs.
 * No import: the remote agent can take it as it is, to measure its host's
 * instances the way the master measures local ones.
 *
 * @module
 */

/** What one process group uses. */
export interface GroupUsage {
  /** CPU seconds (user + system) of its processes, children they reaped included. */
  cpuSeconds: number;
  /** Resident memory of its processes, in bytes. */
  rss: number;
}

/** The kernel's clock tick rate and page size. */
export interface SystemConstants {
  /** Clock ticks a second (`getconf CLK_TCK`). */
  clockTicks: number;
  /** Bytes a page. */
  pageSize: number;
}

/**
 * Sums, for each process group led by one of `leaders`, the CPU time and
 * resident memory of every process in it (one pass over `/proc/<pid>/stat`).
 * Groups with no process left are absent from the result.
 */
export function readProcessGroups(
  leaders: Iterable<number>,
  procRoot = "/proc",
  system: SystemConstants = auxv(procRoot),
): Map<number, GroupUsage> {
  const sums = new Map<number, { ticks: number; pages: number; seen: boolean }>();
  for (const l of leaders) sums.set(l, { ticks: 0, pages: 0, seen: false });
  const out = new Map<number, GroupUsage>();
  if (sums.size === 0) return out;
  for (const entry of Deno.readDirSync(procRoot)) {
    const c = entry.name.charCodeAt(0);
    if (c < 48 || c > 57) continue; // not a pid
    let stat: string;
    try {
      stat = Deno.readTextFileSync(`${procRoot}/${entry.name}/stat`);
    } catch {
      continue; // it ended meanwhile
    }
    const f = parseStat(stat);
    const g = f === undefined ? undefined : sums.get(f.pgrp);
    if (f === undefined || g === undefined) continue;
    g.ticks += f.cpuTicks;
    g.pages += f.rssPages;
    g.seen = true;
  }
  for (const [leader, g] of sums) {
    if (!g.seen) continue;
    out.set(leader, { cpuSeconds: g.ticks / system.clockTicks, rss: g.pages * system.pageSize });
  }
  return out;
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
 * import { parseStat } from "./proc.ts";
 * const line = "42 (a) b) S 1 42 42 0 -1 0 0 0 0 0 7 3 1 1 20 0 1 0 100 1000 25 0";
 * parseStat(line); // { pgrp: 42, cpuTicks: 12, rssPages: 25 }
 * ```
 */
export function parseStat(stat: string): StatFields | undefined {
  const f = fieldsFrom3(stat);
  if (f === undefined) return undefined;
  const pgrp = Number(f[2]);
  const cpuTicks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  const rssPages = Number(f[21]);
  if (!Number.isFinite(pgrp) || !Number.isFinite(cpuTicks) || !Number.isFinite(rssPages)) {
    return undefined;
  }
  return { pgrp, cpuTicks, rssPages };
}

/**
 * The fields of a `/proc/<pid>/stat` line from field 3 (state) on: index 0
 * is field 3. The command name before them may hold spaces and `)`: they
 * start after the last `)`.
 */
function fieldsFrom3(stat: string): string[] | undefined {
  const close = stat.lastIndexOf(")");
  return close < 0 ? undefined : stat.slice(close + 2).split(" ", 22);
}

/**
 * `/proc/<pid>/stat` field 22 (starttime, in clock ticks since boot) of
 * `pid`, or null when unreadable or gone (a zombie counts as gone): with
 * the pid, what tells a process from a later one that reused its pid.
 */
export function processStartTicks(pid: number): number | null {
  if (!Number.isSafeInteger(pid) || pid <= 0) return null;
  let stat: string;
  try {
    stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  } catch {
    return null;
  }
  const f = fieldsFrom3(stat);
  if (f === undefined || f[0] === "Z" || f[0] === "X") return null;
  const ticks = Number(f[19]);
  return f[19] !== undefined && Number.isSafeInteger(ticks) && ticks >= 0 ? ticks : null;
}

/**
 * The clock tick rate (`getconf CLK_TCK`) and page size of this kernel, from
 * the auxiliary vector (AT_CLKTCK, AT_PAGESZ); 100 and 4096 when unreadable.
 */
export function auxv(procRoot = "/proc"): SystemConstants {
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
