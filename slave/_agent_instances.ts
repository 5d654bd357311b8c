/**
 * The agent's instance table, and what it does to all of them: resolving a
 * start command's argv against the host cache, measuring their process
 * groups, and stopping them (SIGTERM, `grace` ms, SIGKILL).
 *
 * @module
 */

import { delay } from "../_shared/delay.ts";
import { readProcessGroups } from "../_shared/proc.ts";
import type { RunningInstance } from "../_shared/spawn.ts";
import type { ResourceRow } from "../protocol/agent.ts";

/** The running instances by key, each with a promise of its exit being sent. */
export type Running = Map<number, { instance: RunningInstance; done: Promise<void> }>;

const CACHED = /^@cache\/([0-9a-f]{64}\/[\w.-]+)$/;

/** `argv` with `@deno` (as the program) and `@cache/<sha256>/<name>` words resolved. */
export function resolveArgv(argv: readonly string[], cache: string): string[] {
  return argv.map((word, i) => {
    // Linux names a replaced executable "<path> (deleted)"; the cache put the same bytes there
    if (i === 0 && word === "@deno") return Deno.execPath().replace(/ \(deleted\)$/, "");
    const m = CACHED.exec(word);
    return m === null ? word : `${cache}/${m[1]}`;
  });
}

/**
 * One procfs pass over every running instance's process group: its key,
 * pid, CPU seconds and resident memory. Throws where there is no procfs.
 */
export function resourceRows(running: Running): ResourceRow[] {
  const keys = new Map<number, number>(); // pid (group leader) → key
  for (const [key, r] of running) keys.set(r.instance.pid, key);
  const read = readProcessGroups(keys.keys());
  const v: ResourceRow[] = [];
  for (const [pid, g] of read) v.push([keys.get(pid)!, pid, g.cpuSeconds, g.rss]);
  return v;
}

/**
 * Sends SIGTERM to every running instance, SIGKILL to those still there
 * after `grace` ms, and waits up to 2 s more for them to be gone.
 */
export async function stopInstances(running: Running, grace: number): Promise<void> {
  const all = () => Promise.all([...running.values()].map((r) => r.done));
  if (running.size > 0) {
    for (const { instance } of running.values()) instance.kill("SIGTERM");
    let timeout: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([all(), new Promise((r) => timeout = setTimeout(r, grace))]);
    clearTimeout(timeout);
    for (const { instance } of running.values()) instance.kill("SIGKILL");
    await Promise.race([all(), delay(2000)]);
  }
}
