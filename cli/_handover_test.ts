import { deepStrictEqual as eq, rejects } from "node:assert/strict";
import { Handover, liveInstances } from "./_handover.ts";
import type { InstanceInfo, InstanceState } from "../master/events.ts";

function info(state: InstanceState, id = 1): InstanceInfo {
  return {
    id,
    groupId: id,
    groupCount: 1,
    group: "g",
    host: "localhost",
    label: "g",
    state,
    ready: false,
    restarts: 0,
    runs: 1,
  };
}

const ALL: InstanceState[] = [
  "pending",
  "starting",
  "running",
  "stopping",
  "restarting",
  "suspended",
  "ended",
  "stopped",
  "failed",
];

function fakeLauncher(leave: () => Promise<void>, states = ALL) {
  let calls = 0;
  return {
    launcher: {
      list: () => states.map((s, i) => info(s, i + 1)),
      leave: () => (calls++, leave()),
    },
    calls: () => calls,
  };
}

Deno.test("liveInstances() counts the instances that have a process", () => {
  eq(liveInstances(ALL.map((s) => info(s))), 4);
  eq(liveInstances([]), 0);
});

Deno.test("Handover.leave() reports what it left; left() tells run it ended that way", async () => {
  const { launcher, calls } = fakeLauncher(() => Promise.resolve());
  const h = new Handover(launcher, 30);
  eq(await h.left(), undefined);
  const [a, b] = await Promise.all([h.leave(), h.leave()]);
  eq(a, { instances: 4, adoptWindow: 30 });
  eq(b, a);
  eq(calls(), 1, "one leave() while one is pending");
  eq(await h.left(), { instances: 4, adoptWindow: 30 });
});

Deno.test("Handover.leave() rejects with the launcher's error and can be asked again", async () => {
  let refuse = true;
  const { launcher, calls } = fakeLauncher(() =>
    refuse ? Promise.reject(new Error("adoption is off (adoptWindow 0)")) : Promise.resolve()
  );
  const h = new Handover(launcher, 0);
  await rejects(h.leave(), /adoption is off \(adoptWindow 0\)/);
  eq(await h.left(), undefined, "a refused leave is no way out");
  refuse = false;
  eq(await h.leave(), { instances: 4, adoptWindow: 0 });
  eq(calls(), 2);
});

Deno.test("Handover.left() waits for a leave in progress", async () => {
  const gate = Promise.withResolvers<void>();
  const { launcher } = fakeLauncher(() => gate.promise, ["running"]);
  const h = new Handover(launcher, 10);
  const leaving = h.leave();
  const left = h.left();
  gate.resolve();
  eq(await left, { instances: 1, adoptWindow: 10 });
  await leaving;
});
