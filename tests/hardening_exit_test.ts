// An instance ends when its process exits, even when a child of it left the
// process group (setsid) and still holds its stdout and stderr: the crash is
// logged and restarted, and stop() ends within the grace period plus a margin.
// One suite, run locally and through the agent on a loopback sshd.
import assert from "node:assert/strict";
import { Launcher, type RunSummary } from "../master/launcher.ts";
import type { ProcessConfig } from "../master/types.ts";
import {
  assertNoneLeft,
  type Collector,
  collector,
  fixture,
  group,
  killMarked,
  marker,
  pidAlive,
  waitFor,
} from "./_helpers.ts";
import { sshdUnavailable, startSshd } from "./_sshd.ts";

const GRACE = 2;
/** Slack over the grace period for stop(): the drain (≤ 1 s), ssh round trips, a loaded box. */
const MARGIN_MS = 4000;

/** Pids of the escaped children the fixture announced ("escaped <pid>"). */
function escapedPids(c: Collector): number[] {
  return c.records.map((r) => /^escaped (\d+)$/.exec(r.message)?.[1])
    .filter((x): x is string => x !== undefined).map(Number);
}

/** Kills the escaped children we started (by pid), then anything else carrying `mark`. */
function cleanup(c: Collector, mark: string): void {
  for (const pid of escapedPids(c)) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  }
  killMarked(mark);
}

async function crashIsSeen(where: string, processes: ProcessConfig[]): Promise<void> {
  const mark = marker();
  const c = collector();
  const launcher = new Launcher({
    logger: c,
    handleSignals: false,
    gracePeriod: GRACE,
    backoffInitial: 0.2,
    maxRestarts: 10,
  });
  let run: Promise<RunSummary> | undefined;
  try {
    run = launcher.run([
      group("E", "t_escapes_group.sh", mark, { env: { ESCAPE_EXIT: "1" }, processes }),
    ]);
    await waitFor(() => c.find(/^crashed \(exit code 1\)$/).length >= 2, 30_000, "two crashes")
      .catch((error) => {
        throw new Error(
          `${where}: ${error.message}; state ${launcher.list()[0]?.state}\n` +
            c.dump(),
          { cause: error },
        );
      });
    const exiting = c.find("exiting")[0]!.time;
    const crashed = c.find(/^crashed/)[0]!.time;
    console.log(`${where}: "crashed" recorded ${crashed - exiting} ms after the worker's exit`);
    assert.ok(crashed - exiting < 3000, `${where}: crash seen ${crashed - exiting} ms after exit`);
    assert.ok(c.find(/^restarting in/).length >= 1, c.dump());
    // the escaped children left the group on purpose: they are not ours to kill
    const escaped = escapedPids(c);
    assert.ok(escaped.length >= 2 && escaped.every(pidAlive), `${where}: ${escaped}`);
    const t0 = Date.now();
    await launcher.stop();
    await run;
    const took = Date.now() - t0;
    console.log(`${where}: stop() took ${took} ms (grace ${GRACE} s)`);
    assert.ok(took < GRACE * 1000 + MARGIN_MS, `${where}: stop() took ${took} ms`);
  } finally {
    if (run !== undefined) {
      const stopping = launcher.stop();
      await Promise.race([stopping, new Promise((r) => setTimeout(r, 15_000))]);
    }
    cleanup(c, mark);
    await assertNoneLeft(mark, 10_000);
  }
}

async function stopIsBounded(where: string, processes: ProcessConfig[]): Promise<void> {
  const mark = marker();
  const c = collector();
  const launcher = new Launcher({ logger: c, handleSignals: false, gracePeriod: GRACE });
  let run: Promise<RunSummary> | undefined;
  try {
    run = launcher.run([group("E", "t_escapes_group.sh", mark, { processes })]);
    await waitFor(() => c.find("ready").length === 1, 30_000, `${where}: worker ready`);
    await waitFor(() => escapedPids(c).length === 1, 5000, `${where}: escaped child`);
    const t0 = Date.now();
    const stopped = launcher.stop().then(() => run);
    const summary = await Promise.race([
      stopped,
      new Promise<undefined>((r) =>
        setTimeout(() => r(undefined), GRACE * 1000 + MARGIN_MS + 5000)
      ),
    ]);
    const took = Date.now() - t0;
    assert.ok(summary !== undefined, `${where}: stop() hangs (${took} ms so far)\n${c.dump()}`);
    console.log(`${where}: stop() took ${took} ms (grace ${GRACE} s)`);
    assert.ok(took < GRACE * 1000 + MARGIN_MS, `${where}: stop() took ${took} ms`);
    assert.deepEqual(summary.instances.map((i) => [i.state, i.lastReason]), [
      ["stopped", "stopped"],
    ]);
    assert.ok(escapedPids(c).every(pidAlive), "the escaped child is not ours to kill");
  } finally {
    cleanup(c, mark);
    await assertNoneLeft(mark, 10_000);
  }
}

Deno.test("local: a worker whose child left its process group crashes, restarts and stops in time", async (t) => {
  const processes: ProcessConfig[] = [{ type: "local", instances: 1 }];
  await t.step("its exit is a crash, logged and restarted", () => crashIsSeen("local", processes));
  await t.step("stop() ends within the grace period", () => stopIsBounded("local", processes));
});

Deno.test({
  name: "remote: a worker whose child left its process group crashes, restarts and stops in time",
  ignore: sshdUnavailable() !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await using sshd = await startSshd({ hosts: 1 });
    const processes = [sshd.remoteConfig({ instances: 1 })];
    await t.step("its exit is a crash, logged and restarted", () => crashIsSeen("ssh", processes));
    await t.step("stop() ends within the grace period", () => stopIsBounded("ssh", processes));
  },
});

Deno.test("SIGTERM to a master whose worker's child left its group: it exits within the grace period", async () => {
  const mark = marker();
  const groups = [group("E", "t_escapes_group.sh", mark)];
  const master = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-check",
      fixture("t_master.ts"),
      JSON.stringify(groups),
      `{"gracePeriod":${GRACE}}`,
    ],
    env: { DISTARCH_TEST_MARK: mark },
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const messages: string[] = [];
  const reading = (async () => {
    for await (const chunk of master.stdout.pipeThrough(new TextDecoderStream())) {
      for (const line of chunk.split("\n")) {
        if (line.startsWith("{")) messages.push(JSON.parse(line).message);
      }
    }
  })();
  const escaped = () =>
    messages.map((m) => /^escaped (\d+)$/.exec(m)?.[1]).filter((x) => x !== undefined).map(Number);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await waitFor(() => messages.includes("ready") && escaped().length === 1, 20_000, "ready");
    const t0 = Date.now();
    master.kill("SIGTERM");
    const status = await Promise.race([
      master.status,
      new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), 20_000)),
    ]);
    const took = Date.now() - t0;
    assert.ok(status !== undefined, `the master did not exit in 20 s:\n${messages.join("\n")}`);
    console.log(`master: exited ${took} ms after SIGTERM (grace ${GRACE} s)`);
    assert.equal(status.code, 0);
    assert.ok(took < GRACE * 1000 + MARGIN_MS, `took ${took} ms`);
  } finally {
    clearTimeout(timer);
    for (const pid of escaped()) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* gone */ }
    }
    try {
      master.kill("SIGKILL");
    } catch { /* exited */ }
    await master.status;
    await reading.catch(() => {});
    killMarked(mark);
    await assertNoneLeft(mark, 10_000);
  }
});
