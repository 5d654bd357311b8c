// After scaleGroup() or a reload that scales a group (apply() with only `instances` or `hosts`
// changed), the instances still running are told the group's new size: a Handler worker logs
// each change of h.groupCount, locally and through the SSH agent; list() agrees.
import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Launcher, type RunSummary } from "../master/launcher.ts";
import type { LogRecord, ProcessConfig } from "../master/types.ts";
import {
  assertNoneLeft,
  type Collector,
  group,
  type LauncherRun,
  marker,
  remoteRun,
  startGroups,
  waitFor,
} from "./_helpers.ts";
import { sshdUnavailable, startSshd } from "./_sshd.ts";

const worker = new URL("./fixtures/s_suite.ts", import.meta.url).pathname;

/** Waits for `cond` (the shared `waitFor`, named for what it waits for). */
const until = (what: string, cond: () => boolean, ms = 30_000) =>
  waitFor(cond, ms, what).then(() => {});

/** The id of the instance a record is about (its tag is `command/id/groupId`). */
function idOf(r: LogRecord): number | undefined {
  const id = r.instance?.split("/").at(-2);
  return id === undefined ? undefined : Number(id);
}

async function scaleTellsTheGroup(processes: ProcessConfig[]): Promise<void> {
  const records: LogRecord[] = [];
  const launcher = new Launcher({
    logger: { log: (r) => void records.push(r) },
    handleSignals: false,
    gracePeriod: 2,
  });
  /** What instance `id` printed about its count, in order. */
  const counts = (id: number) =>
    records.filter((r) => idOf(r) === id && r.message.startsWith("count "))
      .map((r) => r.message);
  const hosts = processes.reduce((n, p) => n + (p.type === "local" ? 1 : p.hosts.length), 0);
  let run: Promise<RunSummary> | undefined;
  try {
    run = launcher.run([{ name: "S", command: worker, params: { mode: "count" }, processes }]);
    const first = Array.from({ length: hosts }, (_, i) => i + 1);
    await until("the first instances up", () => first.every((id) => counts(id).length === 1));
    for (const id of first) assertEquals(counts(id), [`count ${hosts}`]);

    await launcher.scaleGroup("S", 2); // up: the first ones hear it, the new ones start with it
    await until("the first ones told", () => first.every((id) => counts(id).length === 2));
    for (const id of first) {
      assertEquals(counts(id), [`count ${hosts}`, `count ${2 * hosts} was ${hosts}`]);
    }
    const added = launcher.list().filter((i) => !first.includes(i.id)).map((i) => i.id);
    assertEquals(added.length, hosts);
    await until("new ones up", () => added.every((id) => counts(id).length === 1));
    for (const id of added) assertEquals(counts(id), [`count ${2 * hosts}`]);
    assertEquals(launcher.list().map((i) => i.groupCount), launcher.list().map(() => 2 * hosts));

    await launcher.scaleGroup("S", 1); // down: the survivors hear it once the others stopped
    const survivors = launcher.list().map((i) => i.id);
    assertEquals(survivors.length, hosts);
    const told = `count ${hosts} was ${2 * hosts}`;
    await until("survivors told", () => survivors.every((id) => counts(id).at(-1) === told));
    for (const id of survivors) assertEquals(counts(id).filter((c) => c === told).length, 1);
    assertEquals(
      launcher.list().map((i) => [i.groupCount, i.state]),
      survivors.map(() => [hosts, "running"]),
    );
  } catch (error) {
    const dump = records.map((r) => `${r.level} ${r.instance ?? "-"} ${r.message}`).join("\n");
    throw new Error(`${(error as Error).message}\n${dump}`, { cause: error });
  } finally {
    await launcher.stop();
    await run;
  }
  assert(records.every((r) => r.level !== "critical"));
}

Deno.test("scaleGroup(): running local instances are told the new groupCount, up and down", async () => {
  await scaleTellsTheGroup([{ type: "local", instances: 1 }]);
});

Deno.test({
  name: "scaleGroup(): running remote instances are told the new groupCount, up and down",
  ignore: sshdUnavailable() !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using sshd = await startSshd({ hosts: 2 });
    await scaleTellsTheGroup([sshd.remoteConfig({ instances: 1 })]);
  },
});

// ------------------------------------------------------------ the same through a reload

/** What instance `id` printed about its count, in order. */
function countLines(log: Collector, id: number): string[] {
  return log.records.filter((r) => idOf(r) === id && r.message.startsWith("count "))
    .map((r) => r.message);
}

/** The group of the reload tests: one "count" worker per slot. */
function counting(mark: string, processes: ProcessConfig[]) {
  return [group("S", worker, mark, { params: { mode: "count" }, processes })];
}

/**
 * Reloads `run` to `processes` (a scaled group) and checks that the kept instances were told
 * `count <groupCount> was <was>`, once, and that the new ones started with `groupCount`.
 */
async function reloadTo(
  run: LauncherRun,
  mark: string,
  processes: ProcessConfig[],
  counts: { groupCount: number; was: number },
): Promise<void> {
  const { launcher, log } = run;
  const { groupCount, was } = counts;
  const before = launcher.list().map((i) => i.id);
  const report = await launcher.apply(counting(mark, processes));
  assertEquals(report.groups.map((g) => [g.group, g.kind, g.halted]), [["S", "scaled", undefined]]);
  const after = launcher.list().map((i) => i.id);
  const kept = after.filter((id) => before.includes(id));
  const added = after.filter((id) => !before.includes(id));
  assert(kept.length > 0, "a scaled group keeps some instances");
  const told = `count ${groupCount} was ${was}`;
  await waitFor(
    () => kept.every((id) => countLines(log, id).at(-1) === told),
    15_000,
    `kept instances ${kept.join(", ")} told "${told}"`,
  ).catch((e) => {
    throw new Error(`${(e as Error).message}\n${log.dump()}`, { cause: e });
  });
  for (const id of kept) assertEquals(countLines(log, id).filter((c) => c === told), [told]);
  await waitFor(() => added.every((id) => countLines(log, id).length === 1), 15_000, "new ones up");
  for (const id of added) assertEquals(countLines(log, id), [`count ${groupCount}`]);
  assertEquals(
    launcher.list().map((i) => [i.id, i.groupCount, i.state]),
    after.map((id) => [id, groupCount, "running"]),
  );
}

Deno.test("apply(): a reload that scales a group tells the kept local instances the new groupCount, up and down", async () => {
  const mark = marker();
  const local = (instances: number): ProcessConfig[] => [{ type: "local", instances }];
  await using run = startGroups(counting(mark, local(1)), { gracePeriod: 2 });
  await waitFor(() => countLines(run.log, 1).length === 1, 15_000, "the first instance up");
  assertEquals(countLines(run.log, 1), ["count 1"]);
  await reloadTo(run, mark, local(2), { groupCount: 2, was: 1 });
  await reloadTo(run, mark, local(1), { groupCount: 1, was: 2 });
  assertEquals(countLines(run.log, 1), ["count 1", "count 2 was 1", "count 1 was 2"]);
  const { summary } = await run.stop();
  assertEquals([summary.ok, summary.reason], [true, "stopped"]);
  assert(run.log.records.every((r) => r.level !== "critical"), run.log.dump());
  await assertNoneLeft(mark);
});

Deno.test({
  name:
    "apply(): a reload that scales a group tells the kept remote instances the new groupCount (instances and hosts)",
  ignore: sshdUnavailable() !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using sshd = await startSshd({ hosts: 2 });
    const [h1, h2] = sshd.hosts as [string, string];
    const mark = marker();
    const on = (hosts: string[], instances: number) => [sshd.remoteConfig({ hosts, instances })];
    await using run = remoteRun(counting(mark, on([h1], 1)), { gracePeriod: 2 });
    await waitFor(() => countLines(run.log, 1).length === 1, 60_000, "the first instance up");
    assertEquals(countLines(run.log, 1), ["count 1"]);
    await reloadTo(run, mark, on([h1, h2], 1), { groupCount: 2, was: 1 }); // a host added
    await reloadTo(run, mark, on([h1, h2], 2), { groupCount: 4, was: 2 }); // more per host
    await reloadTo(run, mark, on([h2], 2), { groupCount: 2, was: 4 }); // a host taken out
    assertEquals(run.launcher.list().map((i) => i.host), [h2, h2]);
    const { summary } = await run.stop();
    assertEquals([summary.ok, summary.reason], [true, "stopped"]);
    assert(run.log.records.every((r) => r.level !== "critical"), run.log.dump());
    await assertNoneLeft(mark, 10_000);
  },
});
