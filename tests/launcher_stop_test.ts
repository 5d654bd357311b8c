import assert from "node:assert/strict";
import type { EventOf, LauncherEvent } from "../master/events.ts";
import type { LauncherOptions } from "../master/launcher.ts";
import type { GroupConfig } from "../master/types.ts";
import {
  assertNoneLeft,
  fixture,
  group,
  marker,
  type MasterProcess,
  masterProcess,
  pidAlive,
  pidsWithMarker,
  runGroups,
  startedPids,
  startGroups,
  waitFor,
} from "./_helpers.ts";

function stoppedEvents(events: LauncherEvent[]): EventOf<"instanceStopped">[] {
  return events.filter((e): e is EventOf<"instanceStopped"> => e.kind === "instanceStopped");
}

Deno.test("Launcher.stop() sends SIGTERM that a Handler sees through mustStop and its signal", async () => {
  const mark = marker();
  await using run = startGroups([group("S", "w_sleep.ts", mark, { instances: 2 })], {
    gracePeriod: 5,
  });
  const log = run.log;
  await waitFor(() => log.find("ready").length === 2, 15_000, "workers ready");
  const t0 = Date.now();
  await run.launcher.stop();
  const took = Date.now() - t0;
  const { summary, events } = await run.done();
  assert.ok(took < 4000, `stopped by SIGTERM well before the grace period (${took} ms)`);
  assert.equal(summary.ok, true);
  assert.equal(summary.reason, "stopped");
  assert.deepEqual(summary.instances.map((i) => [i.state, i.lastReason]), [
    ["stopped", "stopped"],
    ["stopped", "stopped"],
  ]);
  const woke = log.records.filter((r) => r.message === "woke");
  assert.equal(woke.length, 2, log.dump());
  for (const r of woke) {
    assert.equal(r.level, "notice");
    assert.deepEqual(r.context, {
      slept: false,
      mustStop: true,
      stopping: true,
      aborted: true,
      reason: "stop requested: SIGTERM",
      sleepAfterStop: false,
    });
  }
  assert.equal(log.find("sending SIGKILL").length, 0);
  assert.deepEqual(stoppedEvents(events).map((e) => [e.reason, e.willRestart]), [
    ["stopped", false],
    ["stopped", false],
  ]);
  await assertNoneLeft(mark);
});

Deno.test("Launcher.stop() sends SIGKILL to the whole process group after the grace period", async () => {
  const mark = marker();
  await using run = startGroups([
    group("T", "w_ignore_term.ts", mark),
    group("G", "w_grandchild.ts", mark, { permissions: ["--allow-run"] }),
    group("Sh", "t_term_tree.sh", mark, { binPath: "sh" }),
  ], { gracePeriod: 1, within: 10_000 });
  const log = run.log;
  await waitFor(
    () =>
      log.find("ready").length === 1 && log.find("grandchild started").length === 1 &&
      log.find(/^grandchild \d+$/).length === 1,
    15_000,
    "workers ready",
  );
  const workers = startedPids(log.records);
  const grandchildren = [
    log.find("grandchild started")[0]?.context?.pid as number,
    Number(log.find(/^grandchild \d+$/)[0]?.message.split(" ")[1]),
  ];
  assert.equal(workers.length, 3);
  for (const pid of [...workers, ...grandchildren]) assert.ok(pidAlive(pid), `${pid} runs`);
  const t0 = Date.now();
  await run.launcher.stop();
  const took = Date.now() - t0;
  const { summary, events } = await run.done();
  assert.ok(took >= 900 && took < 5000, `stop took ${took} ms with a 1 s grace period`);
  assert.equal(summary.reason, "stopped");
  assert.deepEqual(summary.instances.map((i) => [i.label, i.state, i.lastReason]), [
    ["w_ignore_term.ts/1/1", "stopped", "stopped"],
    ["w_grandchild.ts/2/1", "stopped", "stopped"],
    ["t_term_tree.sh/3/1", "stopped", "stopped"],
  ]);
  assert.ok(log.find("stop requested, ignoring it").length === 1, log.dump());
  // the two that ignore SIGTERM get SIGKILL; the grandchild one ends on SIGTERM
  const byLabel = new Map(stoppedEvents(events).map((e) => [e.instance.label, e]));
  assert.equal(byLabel.get("w_ignore_term.ts/1/1")?.signal, "SIGKILL");
  assert.equal(byLabel.get("t_term_tree.sh/3/1")?.signal, "SIGKILL");
  assert.equal(log.find("sending SIGKILL").length, 2, log.dump());
  for (const pid of [...workers, ...grandchildren]) {
    assert.equal(pidAlive(pid), false, `pid ${pid} is gone`);
  }
  assert.deepEqual(pidsWithMarker(mark), []);
  await assertNoneLeft(mark);
});

Deno.test("an instance that exits takes what it left running in its process group with it", async () => {
  const mark = marker();
  const { summary, log } = await runGroups([group("L", "t_leaves_child.sh", mark)]);
  assert.equal(summary.ok, true, log.dump());
  assert.deepEqual(summary.instances.map((i) => [i.state, i.lastReason]), [["ended", "ended"]]);
  const child = Number(log.find(/^child \d+$/)[0]?.message.slice(6));
  assert.ok(child > 0, log.dump());
  await waitFor(() => !pidAlive(child), 5_000, "the leftover sleep is gone");
  await assertNoneLeft(mark);
});

Deno.test("maxRunningTime stops everything gracefully when reached", async () => {
  const mark = marker();
  const t0 = Date.now();
  const { summary, log } = await runGroups(
    [group("M", "w_sleep.ts", mark, { instances: 2 })],
    { maxRunningTime: 1, checkInterval: 0.2, gracePeriod: 5 },
  );
  const took = Date.now() - t0;
  assert.equal(summary.reason, "max-running-time");
  assert.equal(summary.ok, true);
  assert.deepEqual(summary.instances.map((i) => [i.state, i.lastReason]), [
    ["stopped", "stopped"],
    ["stopped", "stopped"],
  ]);
  assert.ok(took >= 1000 && took < 5000, `took ${took} ms`);
  assert.equal(log.find("maximum running time of 1 s reached").length, 1);
  const woke = log.records.filter((r) => r.message === "woke");
  assert.equal(woke.length, 2, log.dump());
  for (const r of woke) assert.equal(r.context?.slept, false);
  await assertNoneLeft(mark);
});

// ------------------------------------------------------------ a master in its own process

/** t_master.ts running `groups` with launcher `options`, its workers tagged with `mark`. */
function tMaster(groups: GroupConfig[], options: LauncherOptions, mark: string): MasterProcess {
  return masterProcess(fixture("t_master.ts"), [JSON.stringify(groups), JSON.stringify(options)], {
    marks: [mark],
  });
}

/** Waits until `n` workers of the master said "ready"; returns the pids it started. */
async function readyWorkers(m: MasterProcess, n: number): Promise<number[]> {
  await waitFor(
    () => m.records().filter((r) => r.message === "ready").length === n,
    20_000,
    "workers ready",
  ).catch((e) => {
    throw new Error(`${e.message}:\n${m.lines.join("\n")}`);
  });
  return startedPids(m.records());
}

for (const sig of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`${sig} to a master process stops every instance and the master exits`, async () => {
    const mark = marker();
    await using m = tMaster(
      [group("S", "w_sleep.ts", mark, { instances: 2 })],
      { gracePeriod: 5 },
      mark,
    );
    const workers = await readyWorkers(m, 2);
    m.child.kill(sig);
    const status = await m.exit(10_000);
    assert.equal(status.code, 0);
    const summary = m.summary();
    assert.equal(summary?.reason, "signal");
    assert.equal(summary?.signal, sig);
    assert.deepEqual(summary?.instances.map((i) => [i.state, i.lastReason]), [
      ["stopped", "stopped"],
      ["stopped", "stopped"],
    ]);
    const woke = m.records().filter((r) => r.message === "woke");
    assert.equal(woke.length, 2, m.lines.join("\n"));
    for (const r of woke) assert.equal(r.context?.reason, "stop requested: SIGTERM");
    assert.ok(m.records().some((r) => r.message.startsWith(`received ${sig}, stopping`)));
    for (const pid of workers) assert.equal(pidAlive(pid), false);
    await assertNoneLeft(mark);
  });
}

Deno.test("SIGKILL of a master process: its Handler workers see stdin close and end by themselves", async () => {
  const mark = marker();
  await using m = tMaster([group("K", "w_sleep.ts", mark, { instances: 2 })], {}, mark);
  const workers = await readyWorkers(m, 2);
  assert.equal(workers.length, 2);
  m.child.kill("SIGKILL");
  assert.equal((await m.exit(5_000)).signal, "SIGKILL");
  // nobody signals them: the end of their stdin is the only news that the master is gone
  await waitFor(() => workers.every((pid) => !pidAlive(pid)), 10_000, "workers ended");
  await assertNoneLeft(mark);
});

Deno.test("a second SIGINT to a master process kills every instance at once", async () => {
  const mark = marker();
  await using m = tMaster(
    [group("T", "w_ignore_term.ts", mark, { instances: 2 })],
    { gracePeriod: 30 },
    mark,
  );
  await readyWorkers(m, 2);
  m.child.kill("SIGINT");
  await waitFor(
    () => m.records().filter((r) => r.message === "stop requested, ignoring it").length === 2,
    10_000,
    "SIGTERM reached the workers",
  );
  const t0 = Date.now();
  m.child.kill("SIGINT");
  const status = await m.exit(10_000);
  assert.ok(Date.now() - t0 < 5000);
  assert.equal(status.code, 0);
  assert.ok(m.records().some((r) => r.message.startsWith("received SIGINT again")));
  const summary = m.summary();
  assert.equal(summary?.reason, "signal");
  assert.deepEqual(summary?.instances.map((i) => [i.state, i.lastReason]), [
    ["stopped", "stopped"],
    ["stopped", "stopped"],
  ]);
  await assertNoneLeft(mark);
});

Deno.test("Launcher.stop() called right after run() starts nothing and marks every instance stopped", async () => {
  const mark = marker();
  // within 5 s: a lost stop() fails the test with "run() did not return within 5000 ms"
  await using run = startGroups(
    [group("S", "w_sleep.ts", mark, { instances: 2, params: { sleep: 30 } })],
    { gracePeriod: 1, restart: "never", within: 5000 },
  );
  const { summary, log, events } = await run.stop();
  assert.equal(summary.ok, true);
  assert.equal(summary.reason, "stopped");
  // stopped while pending: never run, so no stop reason of their own
  assert.deepEqual(summary.instances.map((i) => [i.state, i.lastReason, i.runs, i.pid]), [
    ["stopped", undefined, 0, undefined],
    ["stopped", undefined, 0, undefined],
  ]);
  assert.deepEqual(events.map((e) => e.kind).filter((k) => k !== "check"), [
    "launcherStarting",
    "launcherStarted",
    "launcherStopped",
  ]);
  assert.equal(log.find("started (pid").length, 0, log.dump());
  await assertNoneLeft(mark);
});
