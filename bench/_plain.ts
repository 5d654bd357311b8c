/**
 * The baseline: what a plain Deno script does with `Deno.Command` and nothing
 * else. It runs the same fixture workers as the launcher, with the same argv
 * and the same context line on stdin.
 *
 * @module
 */

import { PROTOCOL_VERSION, type WorkerContext } from "../protocol/worker.ts";

/** A fixture worker's absolute path. */
export function fixture(name: string): string {
  return new URL(`./fixtures/${name}`, import.meta.url).pathname;
}

/** The context line the master would send instance `id` of `count`. */
export function contextLine(
  script: string,
  id: number,
  count: number,
  params: Record<string, unknown> = {},
): string {
  const context: WorkerContext = {
    v: PROTOCOL_VERSION,
    id,
    groupId: id,
    groupCount: count,
    host: "localhost",
    group: { name: "bench", command: script, params },
  };
  return JSON.stringify(context) + "\n";
}

const encoder = new TextEncoder();

/** A plainly spawned worker: its process, and its stdin kept open like the master does. */
export interface PlainChild {
  /** The process. */
  child: Deno.ChildProcess;
  /** Its stdin writer, closed once it has exited. */
  stdin: WritableStreamDefaultWriter<Uint8Array>;
}

/** Spawns `script` with Deno (own process group, stdout piped) and writes its context line. */
export function spawnPlain(
  script: string,
  id: number,
  count: number,
  params: Record<string, unknown> = {},
): PlainChild {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
    // as the launcher does; here, a Deno child in its own process group also starts ~2× faster
    detached: true,
  }).spawn();
  const stdin = child.stdin.getWriter();
  stdin.write(encoder.encode(contextLine(script, id, count, params))).catch(() => {});
  return { child, stdin };
}

/**
 * Reads the child's stdout up to its first newline, then keeps draining the
 * rest in the background (so its pipe never fills); resolves at the newline.
 */
export async function firstLine(c: PlainChild): Promise<void> {
  const reader = c.child.stdout.getReader();
  while (true) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`pid ${c.child.pid} ended before its first line`);
    if (value.includes(0x0a)) break;
  }
  void (async () => {
    try {
      while (!(await reader.read()).done) { /* drain */ }
    } catch { /* gone */ }
  })();
}

/** Sends SIGTERM to every child and resolves once all have exited. */
export async function stopAll(children: readonly PlainChild[]): Promise<void> {
  for (const c of children) {
    try {
      c.child.kill("SIGTERM");
    } catch { /* already gone */ }
  }
  await Promise.all(children.map(async (c) => {
    await c.child.status;
    await c.stdin.close().catch(() => {});
  }));
}

/** Kills whatever is still running (cleanup after a failure). */
export async function killAll(children: readonly PlainChild[]): Promise<void> {
  for (const c of children) {
    try {
      c.child.kill("SIGKILL");
    } catch { /* already gone */ }
  }
  await Promise.allSettled(children.map((c) => c.child.status));
}

/**
 * Counts the lines of a child's stdout the plain way: decode each chunk,
 * split it on newlines, carry the partial last line over. Calls `onFirst`
 * once the first line is in.
 */
export async function countLines(
  stream: ReadableStream<Uint8Array>,
  onFirst: () => void = () => {},
): Promise<number> {
  const decoder = new TextDecoder();
  let partial = "";
  let count = 0;
  for await (const chunk of stream) {
    const parts = (partial + decoder.decode(chunk, { stream: true })).split("\n");
    partial = parts.pop() ?? "";
    if (count === 0 && parts.length > 0) onFirst();
    count += parts.length;
  }
  if (partial !== "") count++;
  return count;
}
