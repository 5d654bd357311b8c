/**
 * Run by the memory case in a process of its own:
 * `deno run -A --v8-flags=--expose-gc bench/_memory_child.ts <distarch|plain> <n>`.
 * Measures its own RSS before starting `n` idle ready workers and once all of
 * them are up, stops them, and prints one JSON line `{ before, after }`.
 *
 * @module
 */

import { launch, ReadyLogger, within } from "./_distarch.ts";
import { firstLine, fixture, killAll, type PlainChild, spawnPlain, stopAll } from "./_plain.ts";

const READY = fixture("ready.ts");

async function settle(): Promise<Deno.MemoryUsage> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 100));
  }
  return Deno.memoryUsage();
}

async function distarch(n: number): Promise<[Deno.MemoryUsage, Deno.MemoryUsage]> {
  const logger = new ReadyLogger(n);
  const before = await settle();
  const { launcher, done } = launch(READY, n, logger);
  try {
    await within(logger.ready, 120_000, `launching ${n} instances`);
    await new Promise((r) => setTimeout(r, 500));
    return [before, await settle()];
  } finally {
    await launcher.stop();
    await done;
  }
}

async function plain(n: number): Promise<[Deno.MemoryUsage, Deno.MemoryUsage]> {
  const before = await settle();
  const children: PlainChild[] = [];
  try {
    for (let i = 1; i <= n; i++) children.push(spawnPlain(READY, i, n));
    await within(Promise.all(children.map(firstLine)), 120_000, `plain launch of ${n}`);
    await new Promise((r) => setTimeout(r, 500));
    const after = await settle();
    await stopAll(children);
    return [before, after];
  } finally {
    await killAll(children);
  }
}

if (import.meta.main) {
  const [mode, count] = Deno.args;
  const n = Number(count);
  if (!(Number.isInteger(n) && n > 0) || (mode !== "distarch" && mode !== "plain")) {
    throw new TypeError(`usage: _memory_child.ts <distarch|plain> <n>: got ${Deno.args.join(" ")}`);
  }
  const [before, after] = mode === "distarch" ? await distarch(n) : await plain(n);
  console.log(JSON.stringify({ before, after }));
}
