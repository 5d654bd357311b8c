// After scaleGroup(), the instances still running are told the group's new size: a Handler
// worker logs each change of h.groupCount, locally and through the SSH agent; list() agrees.
import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Launcher, type RunSummary } from "../master/launcher.ts";
import type { LogRecord, ProcessConfig } from "../master/types.ts";
import { sshdUnavailable, startSshd } from "./_sshd.ts";

const worker = new URL("./fixtures/s_suite.ts", import.meta.url).pathname;

async function until(what: string, cond: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

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
