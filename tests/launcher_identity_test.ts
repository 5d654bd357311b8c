import assert from "node:assert/strict";
import {
  assertNoneLeft,
  group,
  marker,
  procCmdline,
  runGroups,
  startedPids,
  startGroups,
  waitFor,
} from "./_helpers.ts";

type Ids = { id: number; groupId: number; groupCount: number; host: string; group: string };

function idsOf(records: { message: string; context?: Record<string, unknown> }[]): Ids[] {
  return records.filter((r) => r.message === "ids").map((r) => r.context as unknown as Ids);
}

Deno.test("Launcher gives ids 1…N across groups in launch order and groupIds 1…groupCount", async () => {
  const mark = marker();
  const { summary, log } = await runGroups([
    group("A", "t_ids.ts", mark, {
      processes: [{ type: "local", instances: 2 }, { type: "local", instances: 1 }],
    }),
    group("B", "t_ids.ts", mark, { instances: 2 }),
  ], { timeout: 5 });
  assert.equal(summary.ok, true, log.dump());
  const ids = idsOf(log.records).sort((a, b) => a.id - b.id);
  assert.deepEqual(ids, [
    { id: 1, groupId: 1, groupCount: 3, host: "localhost", group: "A" },
    { id: 2, groupId: 2, groupCount: 3, host: "localhost", group: "A" },
    { id: 3, groupId: 3, groupCount: 3, host: "localhost", group: "A" },
    { id: 4, groupId: 1, groupCount: 2, host: "localhost", group: "B" },
    { id: 5, groupId: 2, groupCount: 2, host: "localhost", group: "B" },
  ]);
  // each record of the worker is tagged with its own label
  for (const r of log.records.filter((r) => r.message === "ids")) {
    const c = r.context as unknown as Ids;
    assert.equal(r.instance, `t_ids.ts/${c.id}/${c.groupId}`);
    assert.equal(r.id, c.id);
    assert.equal(r.groupId, c.groupId);
    assert.equal(r.group, c.group);
  }
  assert.deepEqual(summary.instances.map((i) => [i.id, i.groupId, i.groupCount, i.label]), [
    [1, 1, 3, "t_ids.ts/1/1"],
    [2, 2, 3, "t_ids.ts/2/2"],
    [3, 3, 3, "t_ids.ts/3/3"],
    [4, 1, 2, "t_ids.ts/4/1"],
    [5, 2, 2, "t_ids.ts/5/2"],
  ]);
  await assertNoneLeft(mark);
});

Deno.test("Launcher restarts an instance with the same id and groupId", async () => {
  const mark = marker();
  const { summary, log } = await runGroups([
    group("A", "t_ids.ts", mark, { instances: 2, params: { crash: true } }),
  ], { maxRestarts: 2, backoffInitial: 0.05 });
  assert.equal(summary.ok, false);
  const ids = idsOf(log.records);
  assert.equal(ids.length, 6, log.dump()); // 2 instances × (1 run + 2 restarts)
  for (const i of ids) assert.equal(i.groupId, i.id, JSON.stringify(i));
  assert.equal(ids.filter((i) => i.id === 1).length, 3);
  assert.equal(ids.filter((i) => i.id === 2).length, 3);
  assert.deepEqual(summary.instances.map((i) => [i.id, i.groupId, i.restarts, i.state]), [
    [1, 1, 2, "failed"],
    [2, 2, 2, "failed"],
  ]);
  await assertNoneLeft(mark);
});

Deno.test("Launcher passes params intact through stdin, never on the command line", async () => {
  const mark = marker();
  const secret = `PARAM${mark}`;
  const big = "0123456789abcdef".repeat(65_536); // 1 MiB
  const small = {
    secret,
    unicode: "héllo ✓ 日本語 😀 \u2028\u2029",
    quotes: `'single' "double" \\back\\slash`,
    shell: "$(touch /tmp/pwned) `id` ${HOME} $HOME; rm -rf / && echo | cat",
    newlines: "line1\nline2\r\nline3\n",
    nested: { list: [1, 2.5, true, null, "x"], empty: {} },
  };
  const params = { ...small, big };
  await using run = startGroups([group("P", "t_params.ts", mark, { params, instances: 2 })], {
    timeout: 10,
  });
  const log = run.log;
  await waitFor(() => log.find("params").length === 2, 15_000, "params records");
  const json = JSON.stringify(params);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(json));
  const sha256 = [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
  for (const r of log.find("params")) {
    assert.deepEqual(r.context, { sha256, length: json.length, small });
  }
  const pids = startedPids(log.records);
  assert.equal(pids.length, 2);
  for (const pid of pids) {
    const argv = procCmdline(pid);
    assert.ok(argv !== undefined, `worker ${pid} is running`);
    assert.ok(!argv.join(" ").includes(secret), `argv has no param: ${argv.join(" ")}`);
    assert.ok(!argv.join(" ").includes("0123456789abcdef"), "argv has no big param");
  }
  const { summary } = await run.stop();
  assert.equal(summary.ok, true, log.dump());
  assert.deepEqual(summary.instances.map((i) => [i.state, i.lastReason]), [
    ["stopped", "stopped"],
    ["stopped", "stopped"],
  ]);
  await assertNoneLeft(mark);
});
