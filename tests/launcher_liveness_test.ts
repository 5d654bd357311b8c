import assert from "node:assert/strict";
import type { EventOf, LauncherEvent } from "../master/events.ts";
import {
  assertNoneLeft,
  group,
  marker,
  pidAlive,
  runGroups,
  sleep,
  startedPids,
  startGroups,
  waitFor,
} from "./_helpers.ts";

function ofKind<K extends LauncherEvent["kind"]>(events: LauncherEvent[], kind: K): EventOf<K>[] {
  return events.filter((e): e is EventOf<K> => e.kind === kind);
}

Deno.test("Launcher kills a hung worker's whole tree, restarts it, and gives up after maxProcessTimeouts", async () => {
  const mark = marker();
  const t0 = Date.now();
  const { summary, log, events } = await runGroups(
    [group("H", "t_hang_tree.ts", mark, { permissions: ["--allow-run"] })],
    { timeout: 1, checkInterval: 0.2, gracePeriod: 0.3, maxProcessTimeouts: 2, within: 30_000 },
  );
  const elapsed = Date.now() - t0;
  const timedOut = ofKind(events, "instanceTimedOut");
  const stopped = ofKind(events, "instanceStopped");
  assert.equal(summary.ok, false, log.dump());
  assert.equal(summary.instances[0]?.state, "failed");
  assert.equal(summary.instances[0]?.lastReason, "timeout");
  assert.equal(summary.instances[0]?.restarts, 1);
  assert.equal(log.find(/^hung: no output for [\d.]+ s \(timeout 1 s\)/).length, 2, log.dump());
  assert.equal(log.find("given up: hung 2 times in a row").length, 1, log.dump());
  assert.equal(timedOut.length, 2);
  for (const e of timedOut) assert.ok(e.silentFor >= 1000, `silentFor ${e.silentFor}`);
  assert.deepEqual(stopped.map((e) => [e.reason, e.willRestart]), [
    ["timeout", true],
    ["timeout", false],
  ]);
  // each run took at least the timeout
  assert.ok(elapsed >= 2000, `elapsed ${elapsed}`);
  const workers = startedPids(log.records);
  const grandchildren = log.find("grandchild started").map((r) => r.context?.pid as number);
  assert.equal(workers.length, 2);
  assert.equal(grandchildren.length, 2);
  for (const pid of [...workers, ...grandchildren]) {
    assert.equal(pidAlive(pid), false, `pid ${pid} is gone`);
  }
  await assertNoneLeft(mark);
});

Deno.test("Launcher does not kill a worker that keeps pinging", async () => {
  const mark = marker();
  const { summary, log, events } = await runGroups(
    [group("P", "w_ping.ts", mark, { params: { seconds: 3.5 } })],
    { timeout: 2, checkInterval: 0.2 },
  );
  assert.equal(summary.ok, true, log.dump());
  assert.deepEqual(ofKind(events, "instanceTimedOut"), []);
  assert.deepEqual(summary.instances.map((i) => [i.state, i.lastReason, i.restarts]), [
    ["ended", "ended", 0],
  ]);
  assert.equal(log.records.filter((r) => r.message === "done").length, 1, log.dump());
  assert.ok(!log.records.some((r) => /ping/.test(r.message)), "pings are not logged");
  await assertNoneLeft(mark);
});

Deno.test("a timeout of 0 disables the liveness check (group setting over launcher's)", async () => {
  const mark = marker();
  await using run = startGroups([
    group("Z", "w_hang.ts", mark, { timeout: 0 }),
    group("Y", "w_hang.ts", mark, { processes: [{ type: "local", instances: 1, timeout: 0 }] }),
  ], { timeout: 0.5, checkInterval: 0.1, gracePeriod: 0.3 });
  const { launcher, log, events } = run;
  await waitFor(() => log.find("about to hang").length === 2, 15_000, "workers up");
  await sleep(1500);
  assert.deepEqual(ofKind(events, "instanceTimedOut"), [], log.dump());
  assert.deepEqual(launcher.list().map((i) => i.state), ["running", "running"]);
  const { summary } = await run.stop();
  assert.equal(summary.reason, "stopped");
  assert.deepEqual(summary.instances.map((i) => [i.state, i.lastReason]), [
    ["stopped", "stopped"],
    ["stopped", "stopped"],
  ]);
  assert.equal(log.find("hung").length, 0);
  await assertNoneLeft(mark);
});
