import assert from "node:assert/strict";
import { auxv, parseStat, readProcessGroups } from "./proc.ts";

Deno.test("parseStat reads the fields after the last parenthesis of the command name", () => {
  const line = "42 (a) b) S 1 42 42 0 -1 0 0 0 0 0 7 3 1 1 20 0 1 0 100 1000 25 0";
  assert.deepEqual(parseStat(line), { pgrp: 42, cpuTicks: 12, rssPages: 25 });
  assert.equal(parseStat("garbage"), undefined);
});

Deno.test("readProcessGroups measures a live group and leaves out a leader with no process", async () => {
  const child = new Deno.Command("sleep", { args: ["30"], detached: true }).spawn();
  try {
    // just spawned, it may still be between fork and exec (no resident page yet): poll
    let read = readProcessGroups([child.pid, 2 ** 22 + 7]);
    for (let i = 0; i < 100 && !(read.get(child.pid)!.rss > 0); i++) {
      await new Promise((r) => setTimeout(r, 20));
      read = readProcessGroups([child.pid, 2 ** 22 + 7]);
    }
    assert.deepEqual([...read.keys()], [child.pid]);
    assert.ok(read.get(child.pid)!.rss > 0);
    assert.ok(read.get(child.pid)!.cpuSeconds >= 0);
    assert.equal(readProcessGroups([]).size, 0);
    assert.ok(auxv().clockTicks > 0);
  } finally {
    child.kill("SIGKILL");
    await child.status;
  }
});
