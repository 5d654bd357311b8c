import assert from "node:assert/strict";
import { writerLogger } from "../master/log.ts";
import { STDERR_LEVEL } from "../protocol/worker.ts";
import {
  assertNoneLeft,
  group,
  marker,
  ROOT,
  runGroups,
  startedPids,
  startGroups,
  waitFor,
} from "./_helpers.ts";

Deno.test("Launcher logs stdout lines as info records in the seed's text format", async () => {
  const mark = marker();
  const chunks: Uint8Array[] = [];
  const writer = {
    writeSync(p: Uint8Array) {
      chunks.push(p.slice());
      return p.length;
    },
  };
  const text = writerLogger(writer); // the text logger, with its raw fast path
  const { summary } = await runGroups([
    group("First Group", ROOT + "examples/script1.ts", mark, {
      instances: 2,
      params: { message: "Hello World!", iterations: 1 },
    }),
  ], { logger: text });
  text.flush();
  assert.equal(summary.ok, true);
  const out = new TextDecoder().decode(
    new Uint8Array(chunks.flatMap((c) => [...c])),
  );
  const lines = out.split("\n");
  for (
    const want of [
      "info - [First Group] [localhost] [script1.ts/1/1] My ID : 1",
      "info - [First Group] [localhost] [script1.ts/1/1] My Group ID : 1",
      "info - [First Group] [localhost] [script1.ts/2/2] My ID : 2",
      "info - [First Group] [localhost] [script1.ts/2/2] Hello World!",
      'info - [First Group] [localhost] [script1.ts/2/2] There are a total of 2 processes in my group named "First Group"',
      'notice - [First Group] [localhost] [script1.ts/1/1] all steps done {"steps":1}',
    ]
  ) assert.ok(lines.includes(want), `missing ${JSON.stringify(want)} in:\n${out}`);
  await assertNoneLeft(mark);
});

Deno.test("Launcher keeps h.logger levels and context, and relays stderr at warning", async () => {
  const mark = marker();
  const { log } = await runGroups([
    group("L", "w_levels.ts", mark),
    group("C", "w_crash.ts", mark, { params: { lines: 1 } }),
  ], { restart: "never" });
  const levels = log.of("w_levels.ts/1/1");
  for (
    const [n, level] of ["debug", "info", "notice", "warning", "error", "critical"].entries()
  ) {
    const r = levels.find((r) => r.message === `${level} message`);
    assert.ok(r, `${level} record:\n${log.dump()}`);
    assert.equal(r.level, level);
    assert.deepEqual(r.context, { level, n, text: 'héllo ✓ "q"' });
  }
  const none = levels.find((r) => r.message === "no context");
  assert.equal(none?.level, "notice");
  assert.equal(none?.context, undefined);
  assert.equal(levels.find((r) => r.message === "two\nlines")?.level, "warning");
  const plain = levels.find((r) => r.message === "plain line");
  assert.deepEqual(
    plain && [plain.level, plain.group, plain.host, plain.instance, plain.id, plain.groupId],
    ["info", "L", "localhost", "w_levels.ts/1/1", 1, 1],
  );
  assert.ok(!levels.some((r) => r.message.includes("@distarch/")), "no protocol line logged");
  const err = log.of("w_crash.ts/2/1").find((r) => r.message === "crashing now");
  assert.equal(err?.level, STDERR_LEVEL);
  assert.equal(STDERR_LEVEL, "warning");
  await assertNoneLeft(mark);
});

Deno.test("Launcher relays 4 × 50,000 concurrent lines whole and in order per instance", async () => {
  const mark = marker();
  const N = 50_000;
  const width = 60;
  const next = new Map<string, number>();
  const bad: string[] = [];
  const pad = "x".repeat(width);
  const { summary } = await runGroups(
    [group("F", "w_flood.ts", mark, { instances: 4, params: { lines: N, width } })],
    {
      logger: {
        log(r) {
          if (r.instance === undefined || !r.message.startsWith("flood ")) return;
          const want = next.get(r.instance) ?? 1;
          if (r.message !== `flood ${want} ${pad}` || r.level !== "info") {
            if (bad.length < 5) bad.push(`${r.instance}: want ${want}, got ${r.message}`);
          }
          next.set(r.instance, want + 1);
        },
      },
      timeout: 20,
      within: 40_000,
    },
  );
  assert.deepEqual(bad, []);
  assert.equal(summary.ok, true);
  assert.deepEqual(
    [...next].sort(),
    [1, 2, 3, 4].map((i) => [`w_flood.ts/${i}/${i}`, N + 1]),
  );
  await assertNoneLeft(mark);
});

Deno.test("Launcher keeps the last lines printed right before an exit, newline or not", async () => {
  const mark = marker();
  const { summary, log } = await runGroups([group("X", "t_exit_lines.ts", mark, { instances: 2 })]);
  assert.equal(summary.ok, true, log.dump());
  for (const label of ["t_exit_lines.ts/1/1", "t_exit_lines.ts/2/2"]) {
    const lines = log.of(label).map((r) => r.message).filter((m) => /^bye |^tail/.test(m));
    const want = [...Array.from({ length: 2000 }, (_, i) => `bye ${i + 1}`), "tail"];
    assert.deepEqual(lines, want);
  }
  await assertNoneLeft(mark);
});

Deno.test("Launcher keeps the last lines printed right before a SIGKILL", async () => {
  const mark = marker();
  await using run = startGroups([
    group("K", "t_last_lines.ts", mark, { instances: 2, params: { lines: 3000 } }),
  ], { gracePeriod: 0.3 });
  const log = run.log;
  await waitFor(
    () => log.records.filter((r) => r.message === "last 3000").length === 2,
    15_000,
    "both workers printed",
  );
  const { summary } = await run.stop();
  assert.equal(summary.ok, true, log.dump());
  assert.deepEqual(summary.instances.map((i) => [i.state, i.lastReason]), [
    ["stopped", "stopped"],
    ["stopped", "stopped"],
  ]);
  assert.ok(log.find("sending SIGKILL").length === 2, log.dump());
  for (const label of ["t_last_lines.ts/1/1", "t_last_lines.ts/2/2"]) {
    const lines = log.of(label).map((r) => r.message).filter((m) => /^last |^unterm/.test(m));
    const want = [...Array.from({ length: 3000 }, (_, i) => `last ${i + 1}`), "unterminated"];
    assert.deepEqual(lines, want);
  }
  await assertNoneLeft(mark);
});

Deno.test("Launcher survives binary garbage and splits a 10 MB line into parts", async () => {
  const mark = marker();
  const { summary, log } = await runGroups([group("G", "t_garbage.sh", mark, { binPath: "sh" })], {
    timeout: 20,
    within: 30_000,
  });
  assert.equal(summary.ok, true, log.dump());
  const recs = log.of("t_garbage.sh/1/1");
  const msgs = recs.map((r) => r.message);
  assert.ok(msgs.includes("first line"));
  assert.ok(msgs.includes("bad \ufffd\ufffd\ufffd\ufffd utf8"), msgs.slice(0, 3).join("\n"));
  assert.ok(msgs.includes("after long line"), "the line after the long one arrives");
  for (const letter of ["a", "b"]) {
    const parts = recs.filter((r) => r.part !== undefined && r.message[0] === letter);
    assert.equal(parts.length, 160, `${letter}: 10 MiB in parts of 64 KiB`);
    assert.deepEqual(parts.map((r) => r.part), Array.from({ length: 160 }, (_, i) => i + 1));
    assert.deepEqual(parts.map((r) => r.lastPart), parts.map((_, i) => i === 159));
    assert.equal(parts.reduce((n, r) => n + r.message.length, 0), 10_485_760, "no byte lost");
  }
  const order = recs.filter((r) => r.message === "after long line" || r.lastPart === true);
  assert.deepEqual(order.map((r) => r.message[0]), ["a", "a", "b"]);
  await assertNoneLeft(mark);
});

Deno.test("the text logger's fast path survives binary garbage and a 10 MB line", async () => {
  const mark = marker();
  let bytes = 0;
  const kept: string[] = [];
  const dec = new TextDecoder();
  const text = writerLogger({
    writeSync(p) {
      bytes += p.length;
      for (const l of dec.decode(p).split("\n")) if (l.length < 200) kept.push(l);
      return p.length;
    },
  });
  const { summary } = await runGroups([group("G", "t_garbage.sh", mark, { binPath: "sh" })], {
    logger: text,
    timeout: 20,
    within: 30_000,
  });
  text.flush();
  assert.equal(summary.ok, true);
  assert.ok(kept.includes("info - [G] [localhost] [t_garbage.sh/1/1] first line"));
  assert.ok(kept.includes("info - [G] [localhost] [t_garbage.sh/1/1] after long line"));
  assert.ok(bytes > 20_971_520, `the 10 MB lines are relayed in parts (${bytes} bytes written)`);
  await assertNoneLeft(mark);
});

Deno.test("a sh worker gets levels and pings through documented lines", async () => {
  const mark = marker();
  // pings every second keep it alive despite a 1.5 s timeout and no other output
  const { summary, log } = await runGroups([
    group("S", ROOT + "examples/worker.sh", mark, { env: { ITERATIONS: "3" }, instances: 2 }),
  ], { timeout: 1.5, checkInterval: 0.2 });
  assert.equal(summary.ok, true, log.dump());
  assert.deepEqual(summary.instances.map((i) => [i.state, i.lastReason]), [
    ["ended", "ended"],
    ["ended", "ended"],
  ]);
  const r1 = log.of("worker.sh/1/1");
  assert.equal(r1.find((r) => r.message === "My ID : 1")?.level, "info");
  assert.ok(r1.some((r) => r.message === "My Group ID : 1 of 2"), log.dump());
  assert.equal(
    r1.find((r) => r.message === "this worker is written in sh")?.level,
    "warning",
  );
  assert.equal(r1.find((r) => r.message === "done after 3 steps")?.level, "notice");
  assert.ok(!log.records.some((r) => /ping|@distarch/.test(r.message)), "pings are not logged");
  assert.equal(log.find("hung").length, 0);
  await assertNoneLeft(mark);
});

Deno.test("a python worker gets levels, context and pings through documented lines", async () => {
  const mark = marker();
  // python3 may be a slow pyenv shim: a generous timeout, pings every second
  const { summary, log } = await runGroups([
    group("Py", ROOT + "examples/worker.py", mark, {
      binPath: "python3",
      params: { iterations: 2, "ünï": "✓" },
    }),
  ], { timeout: 5, checkInterval: 0.2 });
  assert.equal(summary.ok, true, log.dump());
  const r = log.of("worker.py/1/1");
  assert.ok(r.some((x) => x.message === "My ID : 1 (DISTARCH_ID=1)"), log.dump());
  const params = r.find((x) => x.message === "params");
  assert.deepEqual(params?.context, { params: { iterations: 2, "ünï": "✓" } });
  assert.equal(r.find((x) => x.message === "done after 2 steps")?.level, "notice");
  assert.deepEqual(summary.instances.map((i) => [i.state, i.lastReason]), [["ended", "ended"]]);
  assert.equal(log.find("hung").length, 0);
  await assertNoneLeft(mark);
});

Deno.test("Launcher.list() shows the pid of a running worker", async () => {
  // sanity check of the helper used by other tests: pids in "started" records are the workers
  const mark = marker();
  await using run = startGroups([group("I", "t_ids.ts", mark, { params: { stay: true } })]);
  const { launcher, log } = run;
  await waitFor(() => log.find("staying").length === 1, 15_000, "worker up");
  const [pid] = startedPids(log.records);
  assert.equal(launcher.list()[0]?.pid, pid);
  await run.stop();
  await assertNoneLeft(mark);
});
