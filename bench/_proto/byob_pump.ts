/**
 * Prototype for master/transports/local.ts `pump()`: read a child's stream
 * with a BYOB reader whose buffer starts small (4 KiB) and doubles, up to
 * 64 KiB, only while reads fill it. The default reader of a Deno child
 * stream keeps a 64 KiB buffer allocated for every pending read, i.e. 128 KiB
 * per idle instance (stdout + stderr).
 *
 * Run: `deno run -A --v8-flags=--expose-gc bench/_proto/byob_pump.ts <default|byob> [n]`
 * (one reader per process: freed memory is not given back, so a second
 * measure in the same process would read low); prints the master's RSS per
 * idle instance.
 *
 * @module
 */

import { contextLine, fixture } from "../_plain.ts";

/** Reads `stream` chunk by chunk with a small, growing BYOB buffer. */
export async function pumpByob(
  stream: ReadableStream<Uint8Array>,
  onChunk: (chunk: Uint8Array) => void,
  options: { initial?: number; max?: number } = {},
): Promise<void> {
  const { initial = 4096, max = 65536 } = options;
  const reader = stream.getReader({ mode: "byob" });
  let buffer = new ArrayBuffer(initial);
  try {
    while (true) {
      const { done, value } = await reader.read(new Uint8Array(buffer));
      if (done || value === undefined) return;
      onChunk(value); // valid until the next read, as LineSplitter needs
      buffer = value.buffer as ArrayBuffer;
      if (value.length === buffer.byteLength && buffer.byteLength < max) {
        buffer = new ArrayBuffer(buffer.byteLength * 2);
      }
    }
  } catch {
    // the pipe broke: the process is gone
  } finally {
    reader.releaseLock();
  }
}

async function pumpDefault(
  stream: ReadableStream<Uint8Array>,
  onChunk: (chunk: Uint8Array) => void,
): Promise<void> {
  try {
    for await (const chunk of stream) onChunk(chunk);
  } catch { /* gone */ }
}

async function settle(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 100));
  }
  return Deno.memoryUsage().rss;
}

async function measure(n: number, byob: boolean): Promise<number> {
  const script = fixture("ready.ts");
  const pump = byob ? pumpByob : pumpDefault;
  const before = await settle();
  const children: Deno.ChildProcess[] = [];
  const ready: Promise<void>[] = [];
  const encoder = new TextEncoder();
  for (let i = 1; i <= n; i++) {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", script],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      detached: true,
    }).spawn();
    child.stdin.getWriter().write(encoder.encode(contextLine(script, i, n))).catch(() => {});
    children.push(child);
    void pump(child.stderr, () => {});
    ready.push(new Promise((resolve) => void pump(child.stdout, () => resolve())));
  }
  await Promise.all(ready);
  await new Promise((r) => setTimeout(r, 500));
  const after = await settle();
  for (const c of children) {
    try {
      Deno.kill(-c.pid, "SIGKILL");
    } catch { /* gone */ }
  }
  await Promise.all(children.map((c) => c.status));
  return (after - before) / 1024 / n;
}

if (import.meta.main) {
  const [mode = "byob", count = "100"] = Deno.args;
  const kb = await measure(Number(count), mode === "byob");
  console.log(`${mode} reader: ${kb.toFixed(1)} KB RSS/instance (${count} instances)`);
}
