/**
 * The master memory case: the RSS a master adds per supervised idle
 * instance, measured in fresh processes (one for distarch, one for the plain
 * baseline) so that the other cases do not pollute it.
 *
 * @module
 */

import type { Row } from "./_table.ts";

interface Sample {
  before: Deno.MemoryUsage;
  after: Deno.MemoryUsage;
}

async function sample(mode: "distarch" | "plain", n: number): Promise<Sample> {
  const script = new URL("./_memory_child.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--expose-gc", script, mode, String(n)],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) throw new Error(`memory child (${mode}) failed with code ${out.code}: ${text}`);
  const last = text.split("\n").pop() ?? "";
  return JSON.parse(last) as Sample;
}

/** KB of RSS (and of V8 heap, as a note) per instance, distarch and plain. */
export async function memoryRows(n: number): Promise<Row[]> {
  const d = await sample("distarch", n);
  const p = await sample("plain", n);
  const per = (s: Sample, k: "rss" | "heapUsed") => (s.after[k] - s.before[k]) / 1024 / n;
  const dk = per(d, "rss");
  return [{
    name: `master RSS, ${n} idle instances`,
    distarch: dk,
    baseline: per(p, "rss"),
    unit: "KB/instance",
    goal: "< 100 KB/instance",
    met: dk < 100,
    note:
      `V8 heap: ${per(d, "heapUsed").toFixed(1)} vs ${
        per(p, "heapUsed").toFixed(1)
      } KB/instance; ` +
      `runtime footprint ${(d.before.rss / 1048576).toFixed(0)} MB`,
  }];
}
