import assert from "node:assert/strict";
import type { LauncherEvent } from "../master/events.ts";
import {
  assertNoneLeft,
  type Collector,
  group,
  marker,
  pidAlive,
  runGroups,
  sleep,
  startedPids,
  startGroups,
  waitFor,
} from "./_helpers.ts";

const stay = { params: { stay: true } };

function idsRecords(log: Collector, label: string) {
  return log.of(label).filter((r) => r.message === "ids").map((r) => r.context);
}

Deno.test("suspendGroup() stops a group's instances and resumeGroup() starts them with their ids", async () => {
  const mark = marker();
  await using run = startGroups([
    group("A", "t_ids.ts", mark, { instances: 2, ...stay }),
    group("B", "t_ids.ts", mark, stay),
  ], { gracePeriod: 5 });
  const { launcher, log } = run;
  await waitFor(() => log.find("staying").length === 3, 15_000, "workers up");
  const before = startedPids(log.records);
  await launcher.suspendGroup("A");
  assert.deepEqual(launcher.list().map((i) => i.state), ["suspended", "suspended", "running"]);
  assert.equal(pidAlive(before[0]!), false);
  assert.equal(pidAlive(before[1]!), false);
  assert.equal(pidAlive(before[2]!), true, "group B keeps running");
  launcher.resumeGroup("A");
  await waitFor(() => log.find("staying").length === 5, 15_000, "group A back");
  assert.deepEqual(launcher.list().map((i) => [i.id, i.groupId, i.state]), [
    [1, 1, "running"],
    [2, 2, "running"],
    [3, 1, "running"],
  ]);
  for (
    const [label, id, groupId] of [["t_ids.ts/1/1", 1, 1], ["t_ids.ts/2/2", 2, 2]] as const
  ) {
    const ids = idsRecords(log, label);
    assert.equal(ids.length, 2);
    for (const c of ids) assert.deepEqual([c?.id, c?.groupId, c?.groupCount], [id, groupId, 2]);
  }
  const { summary } = await run.stop();
  assert.equal(summary.ok, true);
  assert.equal(summary.reason, "stopped");
  await assertNoneLeft(mark);
});

Deno.test("suspendGroup({ force: true }) kills at once, without the grace period", async () => {
  const mark = marker();
  await using run = startGroups([group("T", "w_ignore_term.ts", mark, { instances: 2 })], {
    gracePeriod: 30,
  });
  const { launcher, log } = run;
  await waitFor(() => log.find("ready").length === 2, 15_000, "workers up");
  const t0 = Date.now();
  await launcher.suspendGroup("T", { force: true });
  assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
  assert.deepEqual(launcher.list().map((i) => i.state), ["suspended", "suspended"]);
  for (const pid of startedPids(log.records)) assert.equal(pidAlive(pid), false);
  await run.stop();
  await assertNoneLeft(mark);
});

Deno.test("suspendAll() and resumeAll() act on every group; run() waits while suspended", async () => {
  const mark = marker();
  await using run = startGroups([
    group("A", "t_ids.ts", mark, stay),
    group("B", "t_ids.ts", mark, stay),
  ], { gracePeriod: 5 });
  const { launcher, log } = run;
  await waitFor(() => log.find("staying").length === 2, 15_000, "workers up");
  await launcher.suspendAll();
  assert.deepEqual(launcher.list().map((i) => i.state), ["suspended", "suspended"]);
  await sleep(300);
  assert.equal(run.returned, false, "run() keeps going while everything is suspended");
  launcher.resumeAll();
  await waitFor(() => log.find("staying").length === 4, 15_000, "workers back");
  assert.deepEqual(launcher.list().map((i) => [i.id, i.state]), [
    [1, "running"],
    [2, "running"],
  ]);
  const { summary } = await run.stop();
  assert.equal(summary.reason, "stopped");
  assert.equal(summary.ok, true);
  await assertNoneLeft(mark);
});

Deno.test("suspendGroup() of an unknown group throws, naming the groups", async () => {
  const mark = marker();
  await using run = startGroups([group("A", "t_ids.ts", mark)], { service: true });
  const { launcher } = run;
  await waitFor(() => launcher.list().length === 1, 5000, "planned");
  await assert.rejects(() => launcher.suspendGroup("nope"), /no group named "nope".*A/);
  assert.throws(() => launcher.resumeGroup("nope"), /no group named "nope"/);
  await run.stop();
});

Deno.test("service mode starts everything suspended and run() returns only on stop()", async () => {
  const mark = marker();
  await using run = startGroups([group("A", "t_ids.ts", mark)], { service: true, within: 5000 });
  const { launcher, log } = run;
  await waitFor(() => launcher.list().length === 1, 5000, "planned");
  await sleep(500);
  assert.deepEqual(launcher.list().map((i) => i.state), ["suspended"]);
  assert.equal(log.find("started (pid").length, 0);
  launcher.resumeGroup("A");
  // t_ids.ts ends by itself: the launcher keeps going in service mode
  await waitFor(() => launcher.list()[0]?.state === "ended", 15_000, "ended");
  await sleep(300);
  assert.equal(run.returned, false);
  const { summary } = await run.stop();
  assert.equal(summary.reason, "stopped");
  assert.equal(run.returned, true);
  assert.deepEqual(summary.instances.map((i) => [i.state, i.lastReason]), [["ended", "ended"]]);
  await assertNoneLeft(mark);
});

Deno.test("Launcher emits its events in order, with pid, line and stop reason", async () => {
  const mark = marker();
  const { summary, events } = await runGroups(
    [group("E", "w_crash.ts", mark, { params: { lines: 2 } })],
    // the run lasts ~0.1 s: ticks must fall inside it
    { checkInterval: 0.01, restart: "never", collectSeen: true },
  );
  assert.equal(summary.ok, false);
  const kinds = events.map((e) => e.kind).filter((k) => k !== "check");
  assert.deepEqual(kinds, [
    "launcherStarting",
    "instanceCreated",
    "launcherStarted",
    "instanceStarted",
    "instanceSeen",
    "instanceSeen",
    "instanceSeen",
    "instanceStopped",
    "launcherStopped",
  ]);
  const first = <K extends LauncherEvent["kind"]>(k: K) =>
    events.find((e) => e.kind === k) as Extract<LauncherEvent, { kind: K }>;
  assert.equal(first("launcherStarting").instances, 1);
  assert.equal(first("instanceCreated").instance.label, "w_crash.ts/1/1");
  assert.ok(first("instanceStarted").pid > 0);
  assert.deepEqual(
    events.filter((e) => e.kind === "instanceSeen").slice(0, 3).map((e) =>
      e.kind === "instanceSeen" ? e.line : ""
    ),
    ["line 1", "line 2", "crashing now"],
  );
  const stopped = first("instanceStopped");
  assert.deepEqual([stopped.reason, stopped.code, stopped.signal, stopped.willRestart], [
    "crashed",
    3,
    null,
    false,
  ]);
  assert.ok(events.some((e) => e.kind === "check" && e.time > 0), "check ticks");
  await assertNoneLeft(mark);
});

Deno.test("a throwing event handler does not break the launcher", async () => {
  const mark = marker();
  const { summary, events } = await runGroups([group("E", "t_ids.ts", mark)], {
    events: {
      instanceStarted: () => {
        throw new Error("hook");
      },
      instanceSeen: () => {
        throw new Error("hook");
      },
    },
    within: 15_000,
  });
  assert.equal(summary.ok, true);
  assert.deepEqual(summary.instances.map((i) => [i.state, i.lastReason]), [["ended", "ended"]]);
  assert.deepEqual(events.map((e) => e.kind).filter((k) => k !== "check"), [
    "launcherStarting",
    "instanceCreated",
    "launcherStarted",
    "instanceStarted",
    "instanceStopped",
    "launcherStopped",
  ], "events go on after a hook threw");
});
