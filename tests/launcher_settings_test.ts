import assert from "node:assert/strict";
import { tempDir } from "../cli/_testing.ts";
import {
  assertNoneLeft,
  collector,
  fixture,
  group,
  marker,
  procStat,
  runGroups,
  startedPids,
  startGroups,
  waitFor,
} from "./_helpers.ts";

function lines(log: ReturnType<typeof collector>, label: string): string[] {
  return log.of(label).map((r) => r.message);
}

Deno.test("path, env and binPath reach the worker, process settings winning over group ones", async () => {
  const mark = marker();
  using tmpA = tempDir({ prefix: "distarch-a-" });
  using tmpB = tempDir({ prefix: "distarch-b-" });
  const [dirA, dirB] = [tmpA.path, tmpB.path];
  const { summary, log } = await runGroups([
    group("S", fixture("t_env.sh"), mark, {
      binPath: "sh",
      path: dirA,
      env: { A: "group-a", B: "group-b" },
      processes: [
        { type: "local", instances: 1 },
        { type: "local", instances: 1, path: dirB, env: { B: "proc-b", C: "proc-c" } },
      ],
    }),
  ], { within: 15_000 });
  assert.equal(summary.ok, true, log.dump());
  const one = lines(log, "t_env.sh/1/1");
  const two = lines(log, "t_env.sh/2/2");
  assert.ok(one.includes(`cwd=${Deno.realPathSync(dirA)}`), one.join("\n"));
  assert.ok(one.includes("A=group-a B=group-b C=unset"), one.join("\n"));
  assert.ok(one.includes("ids=1/1/2 protocol=1"), one.join("\n"));
  assert.ok(two.includes(`cwd=${Deno.realPathSync(dirB)}`), two.join("\n"));
  assert.ok(two.includes("A=group-a B=proc-b C=proc-c"), two.join("\n"));
  assert.ok(two.includes("ids=2/2/2 protocol=1"), two.join("\n"));
  await assertNoneLeft(mark);
});

Deno.test("a relative command is found in the configured path", async () => {
  const mark = marker();
  const g = group("R", "t_env.sh", mark, { binPath: "sh", path: fixture("") });
  g.command = "t_env.sh";
  const { summary, log } = await runGroups([g], { within: 15_000 });
  assert.equal(summary.ok, true, log.dump());
  assert.ok(lines(log, "t_env.sh/1/1").some((l) => l.startsWith("cwd=")), log.dump());
});

Deno.test("priority sets the nice value of the worker, process priority winning", async () => {
  const mark = marker();
  await using run = startGroups([
    group("N", "t_ids.ts", mark, {
      priority: 5,
      params: { stay: true },
      processes: [{ type: "local", instances: 1 }, { type: "local", instances: 1, priority: 9 }],
    }),
  ]);
  const { log } = run;
  await waitFor(() => log.find("staying").length === 2, 15_000, "workers up");
  const [p1, p2] = [
    startedPids(log.records, "t_ids.ts/1/1")[0]!,
    startedPids(
      log.records,
      "t_ids.ts/2/2",
    )[0]!,
  ];
  const base = Number(procStat(Deno.pid)[16]);
  // nice -n adds to the master's own niceness (capped at 19)
  assert.equal(Number(procStat(p1)[16]), Math.min(19, base + 5));
  assert.equal(Number(procStat(p2)[16]), Math.min(19, base + 9));
  await run.stop();
  await assertNoneLeft(mark);
});

Deno.test("a Deno worker gets exactly the permissions given, process permissions winning", async () => {
  const mark = marker();
  using tmp = tempDir({ prefix: "distarch-perm-" });
  const file = `${tmp.path}/data`;
  Deno.writeTextFileSync(file, "12345");
  const params = { path: file };
  const { summary, log } = await runGroups(
    [
      group("None", "w_permission.ts", mark, { params }),
      group("Group", "w_permission.ts", mark, {
        params,
        permissions: [`--allow-read=${file}`],
      }),
      group("ProcOff", "w_permission.ts", mark, {
        params,
        permissions: ["--allow-read"],
        processes: [{ type: "local", instances: 1, permissions: [] }],
      }),
      group("ProcOn", "w_permission.ts", mark, {
        params,
        permissions: [],
        processes: [{ type: "local", instances: 1, permissions: ["--allow-read"] }],
      }),
    ],
  );
  assert.equal(summary.ok, true, log.dump());
  const result = (g: string) =>
    log.records.find((r) => r.group === g && r.message.startsWith("read "));
  assert.equal(result("None")?.message, "read denied", log.dump());
  assert.equal(result("None")?.level, "error");
  assert.equal(result("Group")?.message, "read allowed");
  assert.equal(result("Group")?.context?.bytes, 5);
  assert.equal(result("ProcOff")?.message, "read denied");
  assert.equal(result("ProcOn")?.message, "read allowed");
  await assertNoneLeft(mark);
});

Deno.test("a command that cannot be started is logged and handled by the restart policy", async () => {
  const mark = marker();
  const { summary, log, events } = await runGroups([
    group("Bad", "t_env.sh", mark, { binPath: "/nonexistent/distarch-no-such-binary" }),
    group("Good", "t_ids.ts", mark),
  ], { backoffInitial: 0.05, maxRestarts: 2, within: 15_000 });
  assert.equal(summary.ok, false);
  const bad = summary.instances[0];
  assert.equal(bad?.state, "failed");
  assert.equal(bad?.lastReason, "start-failed");
  const why = log.find("could not be started");
  assert.ok(why.length >= 1, log.dump());
  assert.equal(why[0]?.level, "error");
  assert.match(why[0]!.message, /distarch-no-such-binary/);
  assert.match(why[0]!.message, /No such file|not found|NotFound/i);
  assert.equal(summary.instances[1]?.state, "ended", "the other group is unaffected");
  const stops = events.flatMap((e) =>
    e.kind === "instanceStopped" ? [[e.instance.group, e.reason, e.willRestart]] : []
  );
  assert.deepEqual(stops.filter(([g]) => g === "Bad"), [
    ["Bad", "start-failed", true],
    ["Bad", "start-failed", true],
    ["Bad", "start-failed", false],
  ]);
  assert.ok(log.find("given up").length === 1, log.dump());
  await assertNoneLeft(mark);
});
