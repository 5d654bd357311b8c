/**
 * Whether this system can hold more local instances: the open-files and
 * process limits of the master, read from /proc on Linux (elsewhere nothing
 * is known and nothing is refused).
 *
 * @module
 */

/** A resource limit and how much of it is in use. */
export interface Usage {
  /** The soft limit. */
  limit: number;
  /** In use now. */
  used: number;
}

/** What {@linkcode readCapacity} finds; a missing field is unknown or unlimited. */
export interface Capacity {
  /** File descriptors of the master (`ulimit -n`). */
  openFiles?: Usage;
  /** Processes of the user (`ulimit -u`); not enforced for root. */
  processes?: Usage;
}

/** File descriptors the master holds per local instance: stdin, stdout and stderr pipes, a pidfd. */
export const FDS_PER_LOCAL_INSTANCE = 4;

function softLimit(limits: string, name: string): number | undefined {
  const m = limits.match(new RegExp(`^${name}\\s+(\\d+|unlimited)`, "m"));
  return m === null || m[1] === "unlimited" ? undefined : Number(m[1]);
}

function countProcessesOf(uid: number): number {
  let n = 0;
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      if (Deno.statSync(`/proc/${e.name}`).uid === uid) n++;
    } catch {
      // ended meanwhile
    }
  }
  return n;
}

/** Reads the master's limits and usage; `{}` where /proc cannot tell. */
export function readCapacity(): Capacity {
  let limits: string;
  try {
    limits = Deno.readTextFileSync("/proc/self/limits");
  } catch {
    return {};
  }
  const capacity: Capacity = {};
  const files = softLimit(limits, "Max open files");
  if (files !== undefined) {
    capacity.openFiles = { limit: files, used: [...Deno.readDirSync("/proc/self/fd")].length };
  }
  const procs = softLimit(limits, "Max processes");
  const uid = Deno.uid();
  if (procs !== undefined && uid !== null && uid !== 0) {
    capacity.processes = { limit: procs, used: countProcessesOf(uid) };
  }
  return capacity;
}

/**
 * Why `capacity` cannot hold `localInstances` more local instances, or
 * `undefined` when it can (as far as is known: each instance needs at least
 * one process, and Deno workers have several threads, which count too).
 *
 * @example
 * ```ts
 * import { capacityProblem } from "./_limits.ts";
 * capacityProblem({ openFiles: { limit: 256, used: 40 } }, 100);
 * // "they need 400 more file descriptors, but the limit of open files (ulimit -n) is 256 and 40 are in use: …"
 * ```
 */
export function capacityProblem(capacity: Capacity, localInstances: number): string | undefined {
  if (localInstances <= 0) return undefined;
  const { openFiles, processes } = capacity;
  const fds = localInstances * FDS_PER_LOCAL_INSTANCE;
  if (openFiles !== undefined && openFiles.used + fds > openFiles.limit) {
    return `they need ${fds} more file descriptors (${FDS_PER_LOCAL_INSTANCE} per local ` +
      `instance), but the limit of open files (ulimit -n) is ${openFiles.limit} and ` +
      `${openFiles.used} are in use: raise it (ulimit -n, or LimitNOFILE= in a systemd unit) ` +
      `before starting the master, or scale to fewer`;
  }
  if (processes !== undefined && processes.used + localInstances > processes.limit) {
    return `they need at least ${localInstances} more processes, but the limit of processes ` +
      `(ulimit -u) is ${processes.limit} and this user runs ${processes.used}: raise it ` +
      `(ulimit -u, or LimitNPROC= in a systemd unit), or scale to fewer`;
  }
  return undefined;
}
