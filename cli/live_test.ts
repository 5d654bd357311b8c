import { deepStrictEqual as eq, ok } from "node:assert/strict";
import type { InstanceInfo, InstanceState } from "../master/events.ts";
import { countByGroup, LiveView, renderSummary, resourcesByGroup } from "./live.ts";

function inst(group: string, state: InstanceState, id = 1): InstanceInfo {
  return {
    id,
    groupId: id,
    groupCount: 1,
    group,
    host: "localhost",
    label: "w",
    state,
    restarts: 0,
    runs: 1,
    ready: state === "running",
  };
}

Deno.test("countByGroup() folds instance states into summary columns", () => {
  const counts = countByGroup([
    inst("a", "running"),
    inst("a", "pending"),
    inst("b", "ended"),
    inst("a", "failed"),
    inst("b", "stopped"),
  ]);
  eq([...counts.keys()], ["a", "b"]);
  eq(counts.get("a")?.running, 1);
  eq(counts.get("a")?.ready, 1);
  eq(counts.get("a")?.starting, 1);
  eq(counts.get("a")?.failed, 1);
  eq(counts.get("b")?.done, 2);
});

Deno.test("renderSummary() shows a header, a title and one line per group", () => {
  const lines = renderSummary([inst("First Group", "running"), inst("Second", "suspended")], {
    now: 61_000,
    startedAt: 0,
    note: "socket /s",
  });
  eq(lines[0], "distarch · up 1m01s · 2 instances · socket /s");
  ok(lines[1]?.startsWith("GROUP       RUNNING READY STARTING"), lines[1]);
  ok(/^First Group\s+1\s+1\s+0/.test(lines[2]!), lines[2]);
  ok(/^Second\s+0\s+0\s+0\s+0\s+0\s+0\s+1\s+0\s+-\s+-$/.test(lines[3]!), lines[3]);
});

Deno.test("renderSummary() cuts lines to the terminal width", () => {
  const lines = renderSummary([inst("g", "running")], { now: 0, startedAt: 0, width: 12 });
  for (const l of lines) ok(l.length <= 12, l);
});

Deno.test("LiveView sets a scroll region, redraws on change only, and resets it on close", () => {
  let out = "";
  const writer = {
    writeSync(p: Uint8Array) {
      out += new TextDecoder().decode(p);
      return p.length;
    },
  };
  const list = [inst("g", "running")];
  const view = new LiveView(() => list, Date.now(), {
    writer,
    size: () => ({ columns: 80, rows: 24 }),
    interval: 60_000,
    color: false,
  });
  ok(out.includes("\x1b[5;24r"), JSON.stringify(out));
  ok(out.includes("GROUP"));
  const before = out.length;
  view.draw();
  eq(out.length, before);
  list[0] = inst("g", "failed");
  view.draw();
  ok(out.length > before);
  view.close();
  ok(out.endsWith("\x1b[r\x1b[24;1H\n"), JSON.stringify(out.slice(-20)));
});

Deno.test("renderSummary() shows each group's CPU and memory totals, - where unmeasured", () => {
  const base = { groupCount: 2, host: "localhost", restarts: 0, runs: 1, ready: true } as const;
  const instances = [
    {
      ...base,
      id: 1,
      groupId: 1,
      group: "a",
      label: "a/1/1",
      state: "running",
      cpu: 10,
      rss: 1024 ** 2,
    },
    {
      ...base,
      id: 2,
      groupId: 2,
      group: "a",
      label: "a/2/2",
      state: "running",
      cpu: 2.5,
      rss: 1024 ** 2,
    },
    { ...base, id: 3, groupId: 1, group: "b", label: "b/3/1", state: "running" },
  ] as const;
  eq(resourcesByGroup(instances).map((r) => [r.group, r.cpu, r.rss]), [
    ["a", 12.5, 2 * 1024 ** 2],
    ["b", undefined, undefined],
  ]);
  const lines = renderSummary(instances, { now: 0, startedAt: 0 });
  eq(lines[1]?.endsWith("CPU        MEM"), true, lines[1]);
  eq(lines[2]?.endsWith("12.5%    2.0 MiB"), true, lines[2]);
  eq(lines[3]?.endsWith("-          -"), true, lines[3]);
});
