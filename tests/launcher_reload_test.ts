// Launcher.apply(): a live reload on real processes. Unchanged instances keep their pids and
// ids, changed ones are replaced one by one (each after its successor is ready), removed ones
// are gone, added ones run, and an invalid config changes nothing.
import assert from "node:assert/strict";
import { ConfigError } from "../master/config.ts";
import type { InstanceInfo, LauncherEvent } from "../master/events.ts";
import type { Launcher } from "../master/launcher.ts";
import type { GroupConfig } from "../master/types.ts";
import {
  assertNoneLeft,
  group,
  marker,
  pidAlive,
  pidsWithMarker,
  startGroups,
  waitFor,
} from "./_helpers.ts";

const READY_SH = "w_ready.sh";

function byGroup(infos: InstanceInfo[], name: string): InstanceInfo[] {
  return infos.filter((i) => i.group === name);
}

function running(launcher: Launcher): number {
  return launcher.list().filter((i) => i.state === "running").length;
}

function who(i: InstanceInfo): [number, number | undefined, number, string] {
  return [i.id, i.pid, i.runs, i.state];
}

Deno.test("apply(): unchanged kept, changed replaced one by one after each successor is ready, removed gone, added run", async () => {
  const mark = marker();
  const goneMark = marker(); // the removed group's own marker, to prove its processes are gone
  const lines: string[] = [];
  const push = (e: LauncherEvent) => {
    if ("instance" in e && e.instance.group === "beta") lines.push(`${e.kind} ${e.instance.id}`);
  };
  const groups: GroupConfig[] = [
    group("alpha", READY_SH, mark, { instances: 2 }),
    group("beta", READY_SH, mark, { instances: 3, waitReady: true, env: { V: "1" } }),
    group("gamma", READY_SH, goneMark, { instances: 2 }),
  ];
  // both markers are in these groups: whatever carries either is killed at the end of the scope
  await using run = startGroups(groups, {
    gracePeriod: 2,
    events: { instanceStarted: push, instanceReady: push, instanceStopped: push },
  });
  const { launcher, log } = run;
  await waitFor(() => launcher.list().filter((i) => i.ready).length === 7, 15_000, "all ready");
  const before = launcher.list();
  const oldBeta = byGroup(before, "beta");
  assert(pidsWithMarker(goneMark).length >= 2); // each sh and its sleep
  lines.length = 0;

  const report = await launcher.apply([
    groups[0]!,
    group("beta", READY_SH, mark, { instances: 3, waitReady: true, env: { V: "2" } }),
    group("delta", READY_SH, mark, { instances: 2 }),
  ]);
  assert.deepEqual(
    report.groups.map((g) => [g.group, g.kind, g.replaced, g.started, g.stopped]),
    [
      ["alpha", "unchanged", 0, 0, 0],
      ["beta", "changed", 3, 0, 0],
      ["delta", "added", 0, 2, 0],
      ["gamma", "removed", 0, 0, 2],
    ],
  );
  const after = launcher.list();
  // unchanged: the same processes, ids and runs
  assert.deepEqual(byGroup(after, "alpha").map(who), byGroup(before, "alpha").map(who));
  // changed: new ids, no id any instance held, each old one stopped after its successor was ready
  const newBeta = byGroup(after, "beta");
  const maxOld = Math.max(...before.map((i) => i.id));
  assert.deepEqual(newBeta.map((i) => i.groupId), [1, 2, 3]);
  assert(newBeta.every((i) => i.id > maxOld && i.state === "running" && i.ready));
  for (const o of oldBeta) assert.equal(pidAlive(o.pid!), false, `old beta ${o.id} is gone`);
  const expected = oldBeta.flatMap((o, k) => {
    const n = newBeta[k]!;
    return [`instanceStarted ${n.id}`, `instanceReady ${n.id}`, `instanceStopped ${o.id}`];
  });
  assert.deepEqual(lines, expected, log.dump());
  // the new beta runs see V=2 (a changed env is what made them change)
  assert.deepEqual(new Set(newBeta.map((i) => i.groupCount)), new Set([3]));
  // removed: no process left; added: running with fresh ids
  await assertNoneLeft(goneMark);
  assert.deepEqual(byGroup(after, "gamma"), []);
  const delta = byGroup(after, "delta");
  assert.equal(delta.length, 2);
  assert(delta.every((i) => i.id > Math.max(...newBeta.map((b) => b.id))));
  await waitFor(() => byGroup(launcher.list(), "delta").every((i) => i.state === "running"));
  assert.deepEqual(launcher.groupNames(), ["alpha", "beta", "delta"]);
  const { summary } = await run.stop();
  assert.equal(summary.ok, true, log.dump());
  assert.equal(summary.reason, "stopped");
  await assertNoneLeft(mark);
});

Deno.test("apply(): an invalid config throws the ConfigError and changes nothing", async () => {
  const mark = marker();
  await using run = startGroups([group("a", READY_SH, mark, { instances: 2 })], {
    gracePeriod: 1,
  });
  const { launcher } = run;
  await waitFor(() => running(launcher) === 2, 15_000);
  const before = launcher.list().map(who);
  await assert.rejects(
    launcher.apply([
      group("a", READY_SH, mark, { instances: 3, dependsOn: ["b"] }),
      group("b", READY_SH, mark, { dependsOn: ["a"] }),
    ]),
    (e) => e instanceof ConfigError && e.message === "groups[0].dependsOn: cycle a → b → a",
  );
  assert.deepEqual(launcher.list().map(who), before);
  assert.deepEqual(launcher.groupNames(), ["a"]);
  const { summary } = await run.stop();
  assert.deepEqual([summary.ok, summary.reason], [true, "stopped"]);
  await assertNoneLeft(mark);
});

Deno.test("apply(): scaling keeps the running instances; all-at-once stops the old ones first", async () => {
  const mark = marker();
  const lines: string[] = [];
  const push = (e: LauncherEvent) => {
    if ("instance" in e) lines.push(`${e.kind} ${e.instance.id}`);
  };
  await using run = startGroups([group("s", READY_SH, mark, { instances: 2 })], {
    gracePeriod: 1,
    events: { instanceStarted: push, instanceStopped: push },
  });
  const { launcher } = run;
  await waitFor(() => running(launcher) === 2, 15_000);
  const before = launcher.list();
  const scaled = await launcher.apply([group("s", READY_SH, mark, { instances: 3 })]);
  assert.deepEqual(scaled.groups.map((g) => [g.kind, g.started]), [["scaled", 1]]);
  const after = launcher.list();
  assert.deepEqual(after.slice(0, 2).map(who), before.map(who));
  assert.deepEqual(after.map((i) => [i.id, i.groupId]), [[1, 1], [2, 2], [3, 3]]);
  await waitFor(() => running(launcher) === 3, 15_000);
  lines.length = 0;
  const changed = await launcher.apply(
    [group("s", READY_SH, mark, { instances: 3, params: { v: 2 } })],
    { mode: "all-at-once" },
  );
  assert.deepEqual(changed.groups.map((g) => [g.kind, g.mode, g.replaced]), [
    ["changed", "all-at-once", 3],
  ]);
  assert.deepEqual(lines.map((l) => l.split(" ")[0]), [
    "instanceStopped",
    "instanceStopped",
    "instanceStopped",
    "instanceStarted",
    "instanceStarted",
    "instanceStarted",
  ]);
  const { summary } = await run.stop();
  assert.deepEqual([summary.ok, summary.reason], [true, "stopped"]);
  await assertNoneLeft(mark);
});

Deno.test("apply(): a successor that is not ready halts the rolling replacement; the rest keep running", async () => {
  const mark = marker();
  const config = (env: Record<string, string>) => [
    group("h", READY_SH, mark, { instances: 2, waitReady: true, readyTimeout: 0.3, env }),
  ];
  await using run = startGroups(config({}), { gracePeriod: 1, maxRestarts: 0 });
  const { launcher } = run;
  await waitFor(() => launcher.list().filter((i) => i.ready).length === 2, 15_000);
  const before = launcher.list().map(who);
  const report = await launcher.apply(config({ READY: "never" }));
  const [h] = report.groups;
  assert.equal(h?.kind, "changed");
  assert.match(
    h?.halted ?? "",
    /^w_ready\.sh\/3\/1 on localhost ended before it was ready \(failed, not-ready\)$/,
  );
  // the successor was given up and removed; both old instances still run, untouched
  assert.deepEqual(launcher.list().map(who), before);
  // scaling the group afterwards still finds every instance (old and new slots alike)
  await launcher.scaleGroup("h", 1);
  assert.deepEqual(launcher.list().map((i) => i.id), [1]);
  const { summary } = await run.stop();
  assert.deepEqual([summary.ok, summary.reason], [true, "stopped"]);
  await assertNoneLeft(mark);
});

Deno.test("apply(): two reloads at once are applied one after the other", async () => {
  const mark = marker();
  await using run = startGroups([group("q", READY_SH, mark, { instances: 1 })], {
    gracePeriod: 1,
  });
  const { launcher } = run;
  const [first, second] = await Promise.all([
    launcher.apply([group("q", READY_SH, mark, { instances: 2 })]),
    launcher.apply([group("q", READY_SH, mark, { instances: 3 })]),
  ]);
  assert.deepEqual([first.groups[0]!.started, second.groups[0]!.started], [1, 1]);
  assert.deepEqual(launcher.list().map((i) => [i.id, i.groupId]), [[1, 1], [2, 2], [3, 3]]);
  const { summary } = await run.stop();
  assert.deepEqual([summary.ok, summary.reason], [true, "stopped"]);
  await assertNoneLeft(mark);
});
