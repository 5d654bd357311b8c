// Readiness (waitReady, readyTimeout) and start ordering (dependsOn) on real processes:
// every assertion is on the order of events and records, none on elapsed time.
import assert from "node:assert/strict";
import type { LauncherEvent } from "../master/events.ts";
import { assertNoneLeft, group, marker, runGroups, startGroups, waitFor } from "./_helpers.ts";

const READY_SH = "w_ready.sh";

/** Every event, in order, as `kind label` strings (ready, started, stopped). */
function eventLog() {
  const lines: string[] = [];
  const events: LauncherEvent[] = [];
  const push = (e: LauncherEvent) => {
    events.push(e);
    if ("instance" in e) lines.push(`${e.kind} ${e.instance.group}/${e.instance.id}`);
  };
  return {
    lines,
    events,
    handlers: { instanceStarted: push, instanceReady: push, instanceStopped: push },
  };
}

Deno.test("a consumer with dependsOn starts only after every feeder instance said ready", async () => {
  const mark = marker();
  const ev = eventLog();
  const gate = await Deno.makeTempFile({ prefix: "distarch-ready-" });
  await Deno.remove(gate); // the feeders say ready once it exists again
  await using run = startGroups([
    group("consumer", READY_SH, mark, { instances: 2, dependsOn: ["feeder"] }),
    group("feeder", READY_SH, mark, {
      instances: 3,
      waitReady: true,
      env: { READY_AFTER: gate },
    }),
  ], { gracePeriod: 2, events: ev.handlers, remove: [gate] });
  const { launcher, log } = run;
  await waitFor(() => log.find(/^booting /).length === 3, 15_000, "3 feeders booting");
  // the feeders run, none is ready: the consumer has not been started
  assert.deepEqual(
    launcher.list().map((i) => [i.group, i.state, i.ready]),
    [
      ["consumer", "pending", false],
      ["consumer", "pending", false],
      ["feeder", "running", false],
      ["feeder", "running", false],
      ["feeder", "running", false],
    ],
  );
  assert.equal(log.find(/waits for "feeder"/).length, 1, log.dump());
  await Deno.writeTextFile(gate, "");
  await waitFor(() => log.find(/^serving /).length === 5, 15_000, "everyone serving");
  const firstConsumerLine = log.records.findIndex((r) =>
    r.group === "consumer" && r.message.startsWith("booting ")
  );
  const feederReady = log.records.flatMap((r, i) =>
    r.group === "feeder" && r.message.startsWith("ready (after") ? [i] : []
  );
  assert.equal(feederReady.length, 3, log.dump());
  for (const i of feederReady) assert(i < firstConsumerLine, log.dump());
  // in events too: every feeder ready before any consumer started
  const lastFeederReady = Math.max(
    ...ev.lines.flatMap((l, i) => l.startsWith("instanceReady feeder/") ? [i] : []),
  );
  const firstConsumerStart = ev.lines.findIndex((l) => l.startsWith("instanceStarted consumer/"));
  assert(lastFeederReady < firstConsumerStart, ev.lines.join("\n"));
  assert(launcher.list().every((i) => i.ready && i.readyAt !== undefined));
  const { summary } = await run.stop();
  assert.equal(summary.ok, true, log.dump());
  assert.equal(summary.reason, "stopped");
  // stopping goes the other way: every consumer was gone before any feeder was stopped
  const stops = ev.lines.filter((l) => l.startsWith("instanceStopped"));
  assert.deepEqual(stops.map((l) => l.split(" ")[1]!.split("/")[0]), [
    "consumer",
    "consumer",
    "feeder",
    "feeder",
    "feeder",
  ]);
  await assertNoneLeft(mark);
});

Deno.test("an instance that never says ready is killed after readyTimeout and restarted", async () => {
  const mark = marker();
  const { summary, log } = await runGroups([
    group("mute", READY_SH, mark, {
      waitReady: true,
      readyTimeout: 0.5,
      env: { READY: "never" },
    }),
  ], { gracePeriod: 1, maxRestarts: 1, backoffInitial: 0.05, backoffMax: 0.05 });
  assert.equal(summary.ok, false);
  assert.deepEqual(summary.instances.map((i) => [i.state, i.lastReason, i.ready, i.runs]), [
    ["failed", "not-ready", false, 2],
  ]);
  // the records of the instance (stderr lines of sh, at warning, left out), in order
  const messages = log.records.filter((r) => r.group === "mute" && r.level !== "warning").map((
    r,
  ) =>
    r.message.replace(/^restarting in [\d.]+ s/, "restarting in N s").replace(/pid \d+/, "pid P")
  );
  assert.deepEqual(
    messages,
    [
      "started (pid P)",
      "booting 1",
      "not ready within 0.5 s (readyTimeout), killing it: a failed start",
      "restarting in N s (failure 1)",
      "started (pid P)",
      "booting 1",
      "not ready within 0.5 s (readyTimeout), killing it: a failed start",
      "given up after 1 restart (2 failed runs in a row; last: not ready in time)",
    ],
    log.dump(),
  );
  await assertNoneLeft(mark);
});

Deno.test("a dependency that gives up is reported on the waiting group's instances", async () => {
  const mark = marker();
  const { summary, log } = await runGroups([
    group("feeder", READY_SH, mark, {
      instances: 2,
      waitReady: true,
      readyTimeout: 0.3,
      env: { READY: "never" },
    }),
    group("consumer", READY_SH, mark, { instances: 2, dependsOn: ["feeder"] }),
  ], { gracePeriod: 1, maxRestarts: 0 });
  assert.equal(summary.ok, false);
  assert.deepEqual(summary.instances.map((i) => [i.group, i.state, i.lastReason, i.runs]), [
    ["feeder", "failed", "not-ready", 1],
    ["feeder", "failed", "not-ready", 1],
    ["consumer", "failed", "dependency", 0],
    ["consumer", "failed", "dependency", 0],
  ]);
  const blocked = log.records.filter((r) => r.group === "consumer").map((r) => r.message);
  assert.equal(blocked.length, 2, log.dump());
  for (const m of blocked) {
    assert.match(
      m,
      /^not started: group "feeder" it depends on gave up \([12] of 2 instances failed\)$/,
    );
  }
  await assertNoneLeft(mark);
});

Deno.test("resume of a dependent waits for its dependency; resumeAll follows the order", async () => {
  const mark = marker();
  const ev = eventLog();
  await using run = startGroups([
    group("consumer", READY_SH, mark, { dependsOn: ["feeder"] }),
    group("feeder", READY_SH, mark, { waitReady: true }),
  ], { gracePeriod: 1, service: true, events: ev.handlers });
  const { launcher } = run;
  await waitFor(() =>
    launcher.list().length === 2 && launcher.list().every((i) => i.state === "suspended")
  );
  assert.equal(launcher.resumeGroup("consumer"), 1);
  // the feeder is still suspended: the consumer waits, it is not started
  assert.deepEqual(launcher.list().map((i) => i.state), ["pending", "suspended"]);
  assert.equal(launcher.resumeGroup("feeder"), 1);
  await waitFor(() => launcher.list().every((i) => i.state === "running" && i.ready), 15_000);
  const order = ev.lines.filter((l) => !l.startsWith("instanceStopped"));
  assert.deepEqual(order.map((l) => l.replace(/\/\d+$/, "")), [
    "instanceStarted feeder",
    "instanceReady feeder",
    "instanceStarted consumer",
    "instanceReady consumer",
  ]);
  // suspendAll stops the dependent first
  await launcher.suspendAll();
  const stops = ev.lines.filter((l) => l.startsWith("instanceStopped"));
  assert.deepEqual(stops.map((l) => l.replace(/\/\d+$/, "")), [
    "instanceStopped consumer",
    "instanceStopped feeder",
  ]);
  const { summary } = await run.stop();
  assert.equal(summary.reason, "stopped");
  await assertNoneLeft(mark);
});

Deno.test("restartGroup() stops the next instance only once the new run is ready", async () => {
  const mark = marker();
  const ev = eventLog();
  const gate = await Deno.makeTempFile({ prefix: "distarch-ready-" });
  await using run = startGroups([
    group("g", READY_SH, mark, { instances: 2, waitReady: true, env: { READY_AFTER: gate } }),
  ], { gracePeriod: 1, events: ev.handlers, remove: [gate] });
  const { launcher, log } = run;
  await waitFor(() => launcher.list().filter((i) => i.ready).length === 2, 15_000, "both ready");
  const [first, second] = launcher.list();
  await Deno.remove(gate); // new runs will not be ready until it exists again
  const restart = launcher.restartGroup("g");
  await waitFor(() => log.find(`booting ${first!.id}`).length === 2, 15_000, "first rerun");
  const now = launcher.list();
  assert.deepEqual([now[0]!.ready, now[1]!.pid, now[1]!.state], [
    false,
    second!.pid,
    "running",
  ]);
  await Deno.writeTextFile(gate, "");
  await restart;
  const order = ev.lines.filter((l) => !l.startsWith("instanceStarted")).slice(2);
  assert.deepEqual(order, [
    `instanceStopped g/${first!.id}`,
    `instanceReady g/${first!.id}`,
    `instanceStopped g/${second!.id}`,
    `instanceReady g/${second!.id}`,
  ]);
  const { summary } = await run.stop();
  assert.equal(summary.ok, true, log.dump());
  assert.equal(summary.reason, "stopped");
  await assertNoneLeft(mark);
});
