import assert from "node:assert/strict";
import type { EventOf } from "../master/events.ts";
import { assertNoneLeft, group, marker, runGroups, startGroups, waitFor } from "./_helpers.ts";

Deno.test("Launcher restarts a crashing worker with growing delays, then gives up with its last lines", async () => {
  const mark = marker();
  const { summary, log, events } = await runGroups([group("C", "w_crash.ts", mark)], {
    backoffInitial: 0.3,
    maxRestarts: 3,
    within: 30_000,
  });
  assert.equal(summary.ok, false);
  const info = summary.instances[0];
  assert.equal(info?.state, "failed");
  assert.equal(info?.lastReason, "crashed");
  assert.equal(info?.restarts, 3);
  const recs = log.of("w_crash.ts/1/1");
  const starts = recs.filter((r) => r.message.startsWith("started (pid"));
  const crashes = recs.filter((r) => r.message.startsWith("crashed (exit code 3)"));
  assert.equal(starts.length, 4, log.dump());
  assert.equal(crashes.length, 4);
  // the announced delays double (jitter within 50–100 %)
  const announced = recs
    .map((r) => /^restarting in ([\d.]+) s \(failure (\d)\)$/.exec(r.message))
    .filter((m) => m !== null)
    .map((m) => [Number(m[1]), Number(m[2])]);
  assert.deepEqual(announced.map(([, n]) => n), [1, 2, 3]);
  for (const [delay, n] of announced) {
    const base = 0.3 * 2 ** (n! - 1);
    assert.ok(delay! >= base / 2 - 0.05 && delay! <= base + 0.05, `delay ${delay} for ${n}`);
  }
  // and so do the real gaps between a crash and the next start
  const gaps = [1, 2, 3].map((i) => starts[i]!.time - crashes[i - 1]!.time);
  for (const [i, gap] of gaps.entries()) {
    const base = 300 * 2 ** i;
    assert.ok(gap >= base / 2 - 20, `gap ${i + 1} = ${gap} ms ≥ ${base / 2}`);
  }
  assert.ok(gaps[2]! > gaps[0]!, `gaps grow: ${gaps.join(", ")}`);
  const given = recs.find((r) => r.message.startsWith("given up after"));
  assert.equal(given?.level, "error");
  assert.equal(
    given?.message,
    "given up after 3 restarts (4 failed runs in a row; last: exit code 3)",
  );
  assert.deepEqual(crashes[3]?.context, {
    lastLines: ["line 1", "line 2", "line 3", "crashing now"],
  });
  const stopped = events.filter((e): e is EventOf<"instanceStopped"> =>
    e.kind === "instanceStopped"
  );
  assert.deepEqual(
    stopped.map((e) => [e.reason, e.code, e.willRestart]),
    [["crashed", 3, true], ["crashed", 3, true], ["crashed", 3, true], ["crashed", 3, false]],
  );
  await assertNoneLeft(mark);
});

Deno.test("Launcher does not restart a worker that exits cleanly (restart: on-failure)", async () => {
  const mark = marker();
  const { summary, log } = await runGroups(
    [group("E", "w_echo_context.ts", mark, { instances: 2 })],
    { backoffInitial: 0.05 },
  );
  assert.equal(summary.ok, true);
  assert.equal(summary.reason, "finished");
  assert.deepEqual(summary.instances.map((i) => [i.state, i.lastReason, i.restarts]), [
    ["ended", "ended", 0],
    ["ended", "ended", 0],
  ]);
  assert.equal(log.find("started (pid").length, 2);
  await assertNoneLeft(mark);
});

Deno.test('restart: "always" restarts a worker that exits cleanly', async () => {
  const mark = marker();
  await using run = startGroups([group("A", "w_echo_context.ts", mark)], {
    restart: "always",
    backoffInitial: 0.05,
  });
  await waitFor(() => run.log.find("started (pid").length >= 3, 15_000, "3 starts");
  const { summary, log } = await run.stop();
  assert.ok(log.find(/^ended \(exit code 0\)$/).length >= 2, log.dump());
  assert.ok((summary.instances[0]?.runs ?? 0) >= 3);
  assert.equal(summary.instances[0]?.restarts, 0, "a clean end is not a failure");
  assert.equal(summary.instances[0]?.id, 1);
  await assertNoneLeft(mark);
});

Deno.test('restart: "never" does not restart a crashed worker', async () => {
  const mark = marker();
  const { summary, log } = await runGroups(
    [group("N", "w_throw.ts", mark, { params: { message: "kaboom" } })],
    { restart: "never", backoffInitial: 0.05 },
  );
  assert.equal(summary.ok, false);
  assert.deepEqual(summary.instances.map((i) => [i.state, i.restarts, i.lastReason]), [
    ["failed", 0, "crashed"],
  ]);
  assert.equal(log.find("started (pid").length, 1);
  const critical = log.find("worker failed: kaboom")[0];
  assert.equal(critical?.level, "critical");
  assert.equal(log.find("crashed (exit code 1)")[0]?.level, "error");
  await assertNoneLeft(mark);
});
