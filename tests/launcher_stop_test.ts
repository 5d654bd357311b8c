import assert from "node:assert/strict";
import type { EventOf } from "../master/events.ts";
import { Launcher } from "../master/launcher.ts";
import {
  assertNoneLeft,
  collector,
  fixture,
  group,
  killMarked,
  pidAlive,
  pidsWithMarker,
  runWithin,
  startedPids,
  waitFor,
  withMarker,
} from "./_helpers.ts";

Deno.test("Launcher.stop() sends SIGTERM that a Handler sees through mustStop and its signal", async () => {
  await withMarker(async (mark) => {
    const log = collector();
    const stopped: EventOf<"processStopped">[] = [];
    const launcher = new Launcher({
      logger: log,
      handleSignals: false,
      gracePeriod: 5,
      events: { processStopped: (e) => stopped.push(e) },
    });
    const run = launcher.run([group("S", "w_sleep.ts", mark, { instances: 2 })]);
    await waitFor(() => log.find("ready").length === 2, 15_000, "workers ready");
    const t0 = Date.now();
    await launcher.stop();
    const took = Date.now() - t0;
    const summary = await run;
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
    assert.deepEqual(stopped.map((e) => [e.reason, e.willRestart]), [
      ["stopped", false],
      ["stopped", false],
    ]);
    await assertNoneLeft(mark);
  });
});

Deno.test("Launcher.stop() sends SIGKILL to the whole process group after the grace period", async () => {
  await withMarker(async (mark) => {
    const log = collector();
    const stopped: EventOf<"processStopped">[] = [];
    const launcher = new Launcher({
      logger: log,
      handleSignals: false,
      gracePeriod: 1,
      events: { processStopped: (e) => stopped.push(e) },
    });
    const run = launcher.run([
      group("T", "w_ignore_term.ts", mark),
      group("G", "w_grandchild.ts", mark, { permissions: ["--allow-run"] }),
      group("Sh", "t_term_tree.sh", mark, { binPath: "sh" }),
    ]);
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
    await launcher.stop();
    const took = Date.now() - t0;
    const summary = await runWithin(launcher, run, 10_000);
    assert.ok(took >= 900 && took < 5000, `stop took ${took} ms with a 1 s grace period`);
    assert.equal(summary.reason, "stopped");
    assert.ok(log.find("stop requested, ignoring it").length === 1, log.dump());
    // the two that ignore SIGTERM get SIGKILL; the grandchild one ends on SIGTERM
    const byLabel = new Map(stopped.map((e) => [e.instance.label, e]));
    assert.equal(byLabel.get("w_ignore_term.ts/1/1")?.signal, "SIGKILL");
    assert.equal(byLabel.get("t_term_tree.sh/3/1")?.signal, "SIGKILL");
    assert.equal(log.find("sending SIGKILL").length, 2, log.dump());
    for (const pid of [...workers, ...grandchildren]) {
      assert.equal(pidAlive(pid), false, `pid ${pid} is gone`);
    }
    assert.deepEqual(pidsWithMarker(mark), []);
    await assertNoneLeft(mark);
  });
});

Deno.test("an instance that exits takes what it left running in its process group with it", async () => {
  await withMarker(async (mark) => {
    const log = collector();
    const launcher = new Launcher({ logger: log, handleSignals: false });
    const summary = await runWithin(
      launcher,
      launcher.run([group("L", "t_leaves_child.sh", mark)]),
      20_000,
    );
    assert.equal(summary.ok, true, log.dump());
    const child = Number(log.find(/^child \d+$/)[0]?.message.slice(6));
    assert.ok(child > 0, log.dump());
    await waitFor(() => !pidAlive(child), 5_000, "the leftover sleep is gone");
    await assertNoneLeft(mark);
  });
});

Deno.test("maxRunningTime stops everything gracefully when reached", async () => {
  await withMarker(async (mark) => {
    const log = collector();
    const launcher = new Launcher({
      logger: log,
      handleSignals: false,
      maxRunningTime: 1,
      checkInterval: 0.2,
      gracePeriod: 5,
    });
    const t0 = Date.now();
    const summary = await runWithin(
      launcher,
      launcher.run([group("M", "w_sleep.ts", mark, { instances: 2 })]),
      20_000,
    );
    const took = Date.now() - t0;
    assert.equal(summary.reason, "max-running-time");
    assert.equal(summary.ok, true);
    assert.ok(took >= 1000 && took < 5000, `took ${took} ms`);
    assert.equal(log.find("maximum running time of 1 s reached").length, 1);
    const woke = log.records.filter((r) => r.message === "woke");
    assert.equal(woke.length, 2, log.dump());
    for (const r of woke) assert.equal(r.context?.slept, false);
    await assertNoneLeft(mark);
  });
});

// ------------------------------------------------------------ a master in its own process

interface Master {
  child: Deno.ChildProcess;
  lines: string[];
  done: Promise<Deno.CommandStatus>;
}

function startMaster(groups: unknown, options: unknown, mark: string): Master {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-check",
      fixture("t_master.ts"),
      JSON.stringify(groups),
      JSON.stringify(options),
    ],
    env: { DISTARCH_TEST_MARK: mark },
    stdin: "null",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines: string[] = [];
  const reading = (async () => {
    let rest = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop() ?? "";
      lines.push(...parts);
    }
    if (rest) lines.push(rest);
  })();
  const done = Promise.all([child.status, reading]).then(([s]) => s);
  return { child, lines, done };
}

function messages(m: Master): { message: string; instance?: string; context?: unknown }[] {
  return m.lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}

/** Waits until `n` workers of the master said "ready"; returns the pids it started. */
async function readyWorkers(m: Master, n: number): Promise<number[]> {
  await waitFor(
    () => messages(m).filter((r) => r.message === "ready").length === n,
    20_000,
    "workers ready",
  ).catch((e) => {
    throw new Error(`${e.message}:\n${m.lines.join("\n")}`);
  });
  return messages(m)
    .map((r) => /^started \(pid (\d+)\)$/.exec(r.message)?.[1])
    .filter((x) => x !== undefined).map(Number);
}

async function timed<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, rej) => timer = setTimeout(() => rej(new Error(what)), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

for (const sig of ["SIGTERM", "SIGINT"] as const) {
  Deno.test(`${sig} to a master process stops every instance and the master exits`, async () => {
    await withMarker(async (mark) => {
      const m = startMaster(
        [group("S", "w_sleep.ts", mark, { instances: 2 })],
        { gracePeriod: 5 },
        mark,
      );
      try {
        const workers = await readyWorkers(m, 2);
        m.child.kill(sig);
        const status = await timed(m.done, 10_000, "master did not exit");
        assert.equal(status.code, 0);
        const summaryLine = m.lines.find((l) => l.startsWith("SUMMARY "));
        const summary = JSON.parse(summaryLine?.slice(8) ?? "{}");
        assert.equal(summary.reason, "signal");
        assert.deepEqual(summary.instances.map((i: { state: string }) => i.state), [
          "stopped",
          "stopped",
        ]);
        const woke = messages(m).filter((r) => r.message === "woke");
        assert.equal(woke.length, 2, m.lines.join("\n"));
        assert.ok(messages(m).some((r) => r.message.startsWith(`received ${sig}, stopping`)));
        for (const pid of workers) assert.equal(pidAlive(pid), false);
        await assertNoneLeft(mark);
      } finally {
        try {
          m.child.kill("SIGKILL");
        } catch { /* exited */ }
        await m.done.catch(() => {});
      }
    });
  });
}

Deno.test("SIGKILL of a master process: its Handler workers see stdin close and end by themselves", async () => {
  await withMarker(async (mark) => {
    const m = startMaster([group("K", "w_sleep.ts", mark, { instances: 2 })], {}, mark);
    try {
      const workers = await readyWorkers(m, 2);
      assert.equal(workers.length, 2);
      m.child.kill("SIGKILL");
      await timed(m.done, 5_000, "master did not die");
      // nobody signals them: the end of their stdin is the only news that the master is gone
      await waitFor(() => workers.every((pid) => !pidAlive(pid)), 10_000, "workers ended");
      await assertNoneLeft(mark);
    } finally {
      await killMarked(mark);
      await m.done.catch(() => {});
    }
  });
});

Deno.test("a second SIGINT to a master process kills every instance at once", async () => {
  await withMarker(async (mark) => {
    const m = startMaster(
      [group("T", "w_ignore_term.ts", mark, { instances: 2 })],
      { gracePeriod: 30 },
      mark,
    );
    try {
      await readyWorkers(m, 2);
      m.child.kill("SIGINT");
      await waitFor(
        () => messages(m).filter((r) => r.message === "stop requested, ignoring it").length === 2,
        10_000,
        "SIGTERM reached the workers",
      );
      const t0 = Date.now();
      m.child.kill("SIGINT");
      const status = await timed(m.done, 10_000, "master did not exit after a second SIGINT");
      assert.ok(Date.now() - t0 < 5000);
      assert.equal(status.code, 0);
      assert.ok(messages(m).some((r) => r.message.startsWith("received SIGINT again")));
      const summary = JSON.parse(m.lines.find((l) => l.startsWith("SUMMARY "))?.slice(8) ?? "{}");
      assert.equal(summary.reason, "signal");
      await assertNoneLeft(mark);
    } finally {
      try {
        m.child.kill("SIGKILL");
      } catch { /* exited */ }
      await m.done.catch(() => {});
    }
  });
});

Deno.test("Launcher.stop() called right after run() stops the instances it then starts", async () => {
  await withMarker(async (mark) => {
    const log = collector();
    // restart "never", so that the cleanup below can end run() if stop() is lost
    const launcher = new Launcher({
      logger: log,
      handleSignals: false,
      gracePeriod: 1,
      restart: "never",
    });
    const run = launcher.run([group("S", "w_sleep.ts", mark, { params: { sleep: 30 } })]);
    const stopping = launcher.stop();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const lost = new Promise<"lost">((r) => timer = setTimeout(() => r("lost"), 5000));
    const first = await Promise.race([run, lost]);
    clearTimeout(timer);
    if (first === "lost") {
      const states = JSON.stringify(launcher.list().map((i) => i.state));
      await waitFor(() => (killMarked(mark), log.find("started").length > 0), 10_000, "start");
      await run;
      await stopping;
      assert.fail(`stop() was lost: run() still going 5 s later, states ${states}`);
    }
    await stopping;
    assert.equal(first.reason, "stopped");
    assert.notEqual(first.instances[0]?.state, "ended");
    await assertNoneLeft(mark);
  });
});
