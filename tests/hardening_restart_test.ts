/**
 * Hardening of restarts (issue 7 §8, issue 8 §6): backoff for clean exits
 * under `restart: "always"`, what `maxRestarts` means, a crash's last lines
 * shown once and decoded, and what `restarts` counts.
 */

import assert from "node:assert/strict";
import {
  assertNoneLeft,
  group,
  marker,
  runGroups,
  sleep,
  startGroups,
  waitFor,
} from "./_helpers.ts";

Deno.test('restart: "always" backs off a worker that exits 0 at once', async () => {
  const mark = marker();
  await using run = startGroups([group("T", "/bin/true", mark)], {
    restart: "always",
    backoffInitial: 0.02,
    backoffMax: 1,
  });
  const log = run.log;
  await sleep(3000);
  const { summary } = await run.stop();
  const starts = log.find("started (pid").length;
  // 10–20 ms, 20–40, 40–80 … capped at 0.5–1 s: about 10 runs in 3 s, not hundreds
  assert.ok(starts >= 4 && starts <= 16, `${starts} runs in 3 s`);
  const info = summary.instances[0];
  assert.equal(info?.restarts, 0, "clean ends are not failures");
  assert.ok(info?.runs === starts || info?.runs === starts + 1, `runs ${info?.runs}`);
  await assertNoneLeft(mark);
});

Deno.test("maxRestarts is the number of restarts: given up after maxRestarts + 1 failed runs, said once, decoded", async () => {
  const mark = marker();
  const { summary, log } = await runGroups([
    group("C", "w_throw.ts", mark, { params: { message: "kaboom" } }),
  ], { maxRestarts: 2, backoffInitial: 0.05, within: 30_000 });
  assert.equal(summary.ok, false);
  assert.deepEqual(
    summary.instances.map((i) => [i.state, i.restarts, i.runs]),
    [["failed", 2, 3]],
  );
  const recs = log.of("w_throw.ts/1/1");
  const given = recs.filter((r) => r.message.startsWith("given up"));
  assert.deepEqual(given.map((r) => r.message), [
    "given up after 2 restarts (3 failed runs in a row; last: exit code 1)",
  ]);
  assert.equal(given[0]?.context, undefined, "the last lines are not repeated");
  const crashed = recs.filter((r) => r.message === "crashed (exit code 1)");
  assert.equal(crashed.length, 3);
  const last = crashed[2]?.context?.lastLines as string[];
  assert.ok(Array.isArray(last), log.dump());
  assert.ok(last.includes("before the throw"), last.join("\n"));
  assert.ok(last.some((l) => /^critical: .*kaboom/s.test(l)), last.join("\n"));
  assert.ok(!last.some((l) => l.startsWith("@distarch/")), "protocol lines are decoded");
  await assertNoneLeft(mark);
});

Deno.test("restarts counts only restarts after a failure; runs counts every run", async () => {
  const mark = marker();
  await using run = startGroups([group("S", "w_sleep.ts", mark)], { gracePeriod: 2 });
  const { launcher, log } = run;
  await waitFor(() => log.find("ready").length >= 1, 15_000, "the first run");
  await launcher.suspendGroup("S");
  launcher.resumeGroup("S");
  await waitFor(() => log.find("ready").length >= 2, 15_000, "the run after resume");
  await launcher.restartGroup("S");
  await waitFor(() => log.find("ready").length >= 3, 15_000, "the rolling restart");
  assert.deepEqual(
    launcher.list().map((i) => [i.state, i.restarts, i.runs]),
    [["running", 0, 3]],
  );
  await run.stop();
  await assertNoneLeft(mark);
});
