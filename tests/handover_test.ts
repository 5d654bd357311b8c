// Handover: a master that dies (SIGKILL) leaves its local and remote instances
// to their agents for adoptWindow; a new master with the same state directory
// adopts them (same pids, every line once); with none, they are gone after
// the window. A state file that is not exactly ours is refused.
import assert from "node:assert/strict";
import { delay } from "../_shared/delay.ts";
import { tempDir } from "../cli/_testing.ts";
import { Launcher } from "../master/launcher.ts";
import {
  assertAgentDeathRecovered,
  assertNoneLeft,
  collector,
  controlDirsOf,
  fixture,
  group,
  killMarked,
  marker,
  masterProcess,
  pidAlive,
  pidsWithMarker,
  procCmdline,
  startGroups,
  waitFor,
} from "./_helpers.ts";
import {
  descendantsOf,
  ensureUser,
  type SshdFixture,
  sshdUnavailable,
  startSshd,
  TEST_USER,
} from "./_sshd.ts";
import type { GroupConfig } from "../master/types.ts";

const ignore = sshdUnavailable() !== undefined;
/** Slack on time bounds, for a loaded machine. */
const MARGIN = 7000;

type Record = { message: string; instance?: string };

function pathExists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The "tick <n>" numbers in `records`, by instance label. */
function ticks(records: Record[]): Map<string, number[]> {
  const by = new Map<string, number[]>();
  for (const r of records) {
    const m = /^tick (\d+)$/.exec(r.message);
    if (m === null || r.instance === undefined) continue;
    by.set(r.instance, [...(by.get(r.instance) ?? []), Number(m[1])]);
  }
  return by;
}

/** The pid each instance said it started (or was adopted) with, by label. */
function pidsOf(records: Record[], word: "started" | "adopted"): Map<string, number> {
  const by = new Map<string, number>();
  for (const r of records) {
    const m = new RegExp(`^${word} \\(pid (\\d+)`).exec(r.message);
    if (m !== null && r.instance !== undefined) by.set(r.instance, Number(m[1]));
  }
  return by;
}

/** 2 local instances and 2 on `sshd`'s host, printing "tick <n>" every 0.25 s. */
function twoAndTwo(sshd: SshdFixture, mark: string): GroupConfig[] {
  const remote = [sshd.remoteConfig({ instances: 2 })];
  return [
    group("L", "w_count.ts", mark, { timeout: 0, instances: 2 }),
    group("R", "w_count.ts", mark, { timeout: 0, processes: remote }),
  ];
}

function master(groups: GroupConfig[], options: object, mark: string) {
  return masterProcess(fixture("r_master.ts"), [], {
    stdin: JSON.stringify({ groups, options }),
    marks: [mark],
  });
}

Deno.test({
  name:
    "handover: a new master adopts the 2 local and 2 remote instances of a SIGKILLed one: same pids, every line once",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using sshd = await startSshd({ hosts: 1 });
    using stateTemp = tempDir({ prefix: "distarch-state-" });
    const stateDir = stateTemp.path;
    const mark = marker();
    const groups = twoAndTwo(sshd, mark);
    const options = { gracePeriod: 1, sshLease: 3, adoptWindow: 20, stateDir };
    await using a = master(groups, options, mark);
    const each = (records: () => Record[], n: number) => () => {
      const t = ticks(records());
      return t.size === 4 && [...t.values()].every((l) => l.length >= n);
    };
    await waitFor(each(() => a.records(), 4), 60_000, "4 instances ticking");
    const started = pidsOf(a.records(), "started");
    a.remove.push(...controlDirsOf(a.child.pid));
    a.child.kill("SIGKILL");
    await a.exit();
    const firstLines = a.records();
    // the instances print on while no master is there (what the agents keep)
    await delay(1000);
    assert.deepEqual(
      [...started.values()].filter((p) => !pidAlive(p)),
      [],
      "every instance outlived its master",
    );

    await using b = master(groups, options, mark);
    await waitFor(
      () => pidsOf(b.records(), "adopted").size === 4,
      60_000,
      "4 instances adopted",
    ).catch((error) => {
      throw new Error(`${error}\n${b.lines.join("\n")}`);
    });
    assert.deepEqual(pidsOf(b.records(), "adopted"), started, "same pids, same instances");
    const seenByA = Math.max(...[...ticks(firstLines).values()].map((l) => l.at(-1)!));
    await waitFor(
      () => [...ticks(b.records()).values()].every((l) => l.at(-1)! >= seenByA + 4),
      30_000,
      "ticking on under the new master",
    );
    b.child.kill("SIGTERM");
    await b.exit(30_000);
    assert.equal(b.summary()?.reason, "signal", "stopped by SIGTERM");
    // every numbered line, in order, across both masters; the only repeat allowed is the
    // documented one: the last line(s) A wrote in the milliseconds before its SIGKILL
    const byA = ticks(firstLines);
    const byB = ticks(b.records());
    assert.equal(byB.size, 4);
    let repeated = 0;
    for (const [label, fromB] of byB) {
      const fromA = byA.get(label) ?? [];
      const lastOfA = fromA.at(-1) ?? -1;
      const again = fromB.filter((n) => n <= lastOfA);
      assert.ok(again.length <= 1, `${label}: repeated ${again.join(", ")}`);
      if (again.length === 1) assert.equal(again[0], lastOfA, `${label}: only A's last line`);
      repeated += again.length;
      const all = [...fromA, ...fromB.filter((n) => n > lastOfA)];
      const expected = Array.from({ length: all.length }, (_, i) => i);
      assert.deepEqual(all, expected, `${label}: every tick, in order, none lost`);
    }
    console.log(`lines repeated after the SIGKILL: ${repeated}`);
    await waitFor(() => pidsWithMarker(mark).length === 0, 15_000, "every instance stopped");
    // a run that ended leaves no state behind
    assert.deepEqual([...Deno.readDirSync(stateDir)].map((e) => e.name), []);
  },
});

Deno.test({
  name:
    "handover: with no new master, every local and remote instance is gone within adoptWindow + gracePeriod",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using sshd = await startSshd({ hosts: 1 });
    using stateTemp = tempDir({ prefix: "distarch-state-" });
    const stateDir = stateTemp.path;
    const mark = marker();
    const adoptWindow = 3, gracePeriod = 1;
    const groups = twoAndTwo(sshd, mark);
    await using a = master(groups, { gracePeriod, sshLease: 3, adoptWindow, stateDir }, mark);
    await waitFor(() => pidsOf(a.records(), "started").size === 4, 60_000, "4 started");
    const pids = [...pidsOf(a.records(), "started").values()];
    a.remove.push(...controlDirsOf(a.child.pid));
    const t0 = Date.now();
    a.child.kill("SIGKILL");
    await waitFor(
      () => pids.every((p) => !pidAlive(p)),
      (adoptWindow + gracePeriod) * 1000 + 3 * MARGIN,
      "no instance left",
    );
    const goneMs = Date.now() - t0;
    console.log(`local + remote instances gone ${goneMs} ms after SIGKILL`);
    assert.ok(goneMs >= adoptWindow * 1000, `gone after ${goneMs} ms: before the window ended`);
    assert.ok(
      goneMs <= (adoptWindow + gracePeriod + 2) * 1000 + MARGIN,
      `gone after ${goneMs} ms: over adoptWindow + grace + 2 s + ${MARGIN} ms`,
    );
  },
});

Deno.test({
  name:
    "handover: a SIGKILLed local agent's instances die with it, are reported lost and run again",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const stateDir = await Deno.makeTempDir({ prefix: "distarch-state-" });
    const mark = marker();
    const cleanup: string[] = [];
    try {
      await using run = startGroups([
        // silent and deaf: neither its stdin's end nor a broken pipe would end it
        group("K", fixture("w_silent.sh"), mark, { timeout: 0, instances: 2 }),
      ], { adoptWindow: 10, stateDir, backoffInitial: 0.2, gracePeriod: 1, within: 60_000 });
      const { launcher, log: c } = run;
      await waitFor(() => c.find(/^ready$/).length === 2, 30_000, "2 instances ready");
      const old = launcher.list().map((i) => i.pid!);
      // the run's local agent: its socket (run id/agent id) is in the state file
      const read = () => JSON.parse(Deno.readTextFileSync(`${stateDir}/state.json`));
      await waitFor(() => read().agents[0]?.instances.length === 2, 10_000, "the state written");
      const state = read();
      const socket: string = state.agents[0].socket;
      const agents = descendantsOf(Deno.pid).filter((pid) =>
        (procCmdline(pid) ?? []).some((a) => a.endsWith(`:${socket}`))
      );
      assert.equal(agents.length, 1, "one local agent");
      assert.deepEqual(
        state.agents[0].instances.map((i: { pid: number }) => i.pid).sort(),
        [...old].sort(),
        "the state file names the instances' pids",
      );
      Deno.kill(agents[0]!, "SIGKILL");
      // a SIGKILLed agent cannot remove its socket: we do
      const runDir = `${Deno.env.get("HOME")}/.cache/distarch/run/${socket.split("/")[0]}`;
      cleanup.push(runDir);
      await assertAgentDeathRecovered(run, old);
      // the connector found the dead agent's socket refusing and removed it
      const [runId, agentId] = socket.split("/");
      assert.equal(
        pathExists(`${Deno.env.get("HOME")}/.cache/distarch/run/${runId}/${agentId}.sock`),
        false,
      );
      await assertNoneLeft(mark, 15_000);
      assert.deepEqual([...Deno.readDirSync(stateDir)], [], "no state left after the stop");
    } finally {
      for (const path of cleanup) await Deno.remove(path, { recursive: true }).catch(() => {});
      await Deno.remove(stateDir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "handover: a tampered state file is refused with what is wrong; a master with another secret cannot adopt",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    using stateTemp = tempDir({ prefix: "distarch-state-" });
    const stateDir = stateTemp.path;
    const mark = marker();
    const groups = [group("L", "w_count.ts", mark, { timeout: 0, instances: 2 })];
    const adoptWindow = 4, gracePeriod = 1;
    await using a = master(groups, { gracePeriod, adoptWindow, stateDir }, mark);
    await waitFor(() => pidsOf(a.records(), "started").size === 2, 30_000, "2 started");
    const old = [...pidsOf(a.records(), "started").values()];
    const file = `${stateDir}/state.json`;
    // the state is written within 25 ms of a start
    await waitFor(
      () => JSON.parse(Deno.readTextFileSync(file)).agents[0]?.instances.length === 2,
      10_000,
      "both instances in the state file",
    );
    a.child.kill("SIGKILL");
    await a.exit();
    const options = { adoptWindow, gracePeriod, stateDir, handleSignals: false };

    // readable by others: refused before anything starts, saying why and what to do
    Deno.chmodSync(file, 0o644);
    await assert.rejects(
      () => new Launcher({ ...options, logger: collector() }).run(groups),
      (error: Error) => {
        assert.match(error.message, /^refusing the state file .*state\.json: /);
        assert.match(error.message, /644/);
        assert.match(error.message, /chmod 600/);
        return true;
      },
    );
    // a field that is not what a master writes: refused, naming the field
    Deno.chmodSync(file, 0o600);
    const state = JSON.parse(Deno.readTextFileSync(file));
    Deno.writeTextFileSync(file, JSON.stringify({ ...state, agents: [{ host: 1 }] }));
    await assert.rejects(
      () => new Launcher({ ...options, logger: collector() }).run(groups),
      /agents\[0\]\.(target|host): /,
    );
    // a well-formed file with another secret: the agent refuses it, nothing is adopted
    const other = { ...state, secret: "0".repeat(64) };
    Deno.writeTextFileSync(file, JSON.stringify(other), { mode: 0o600 });
    await using b = startGroups(groups, { ...options, within: 30_000 });
    await waitFor(
      () => {
        const list = b.launcher.list();
        return list.length === 2 &&
          list.every((i) => i.pid !== undefined && !old.includes(i.pid));
      },
      30_000,
      "2 new instances",
    ).catch((error) => {
      throw new Error(`${error.message}\n${b.log.dump()}`, { cause: error });
    });
    assert.equal(b.log.find(/the agent refused: /).length, 1, b.log.dump());
    assert.equal(b.log.find(/^adopted \(pid/).length, 0);
    // the old ones are stopped by their agent when its window ends
    await waitFor(
      () => old.every((p) => !pidAlive(p)),
      (adoptWindow + gracePeriod) * 1000 + 3 * MARGIN,
      "the instances nobody adopted gone",
    );
    await b.stop();
  },
});

Deno.test({
  name:
    "handover: where the local agent cannot run (no writable cache), local instances run as the master's children, said once",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "distarch-state-" });
    const mark = marker();
    try {
      Deno.mkdirSync(`${dir}/home`);
      Deno.writeTextFileSync(`${dir}/home/.cache`, ""); // a file where the cache directory would go
      const groups = [group("L", "w_count.ts", mark, { timeout: 0, instances: 2 })];
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-check", fixture("r_master.ts")],
        env: {
          HOME: `${dir}/home`,
          DENO_DIR: Deno.env.get("DENO_DIR") ?? `${Deno.env.get("HOME")}/.cache/deno`,
        },
        stdin: "piped",
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(JSON.stringify({
        groups,
        options: { adoptWindow: 10, gracePeriod: 1, stateDir: `${dir}/state`, maxRunningTime: 2 },
      })));
      await w.close();
      const out = new TextDecoder().decode((await child.output()).stdout);
      const records: Record[] = out.split("\n").filter((l) => l.startsWith("{")).map((l) =>
        JSON.parse(l)
      );
      const warnings = records.filter((r) => r.message.startsWith("cannot run local instances"));
      assert.equal(warnings.length, 1, out);
      assert.match(warnings[0]!.message, /not writable/);
      assert.equal(pidsOf(records, "started").size, 2, out);
      assert.ok(ticks(records).size === 2, "both ran and printed");
      await assertNoneLeft(mark, 10_000);
    } finally {
      killMarked(mark);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "handover: a state file that cannot be written is said at once, and the run goes on",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = Deno.makeTempDirSync({ prefix: "distarch-full-" });
    const mount = await new Deno.Command("mount", {
      args: ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir],
      stderr: "piped",
    }).output();
    const mark = marker();
    try {
      assert.equal(mount.code, 0, "mount (these tests need root)");
      Deno.mkdirSync(`${dir}/state`, { mode: 0o700 });
      // fill the disk: the state file cannot be written
      try {
        Deno.writeFileSync(`${dir}/filler`, new Uint8Array(256 * 1024));
      } catch { /* full */ }
      await using run = startGroups(
        [group("L", "w_count.ts", mark, { timeout: 0, instances: 2 })],
        { adoptWindow: 5, gracePeriod: 1, stateDir: `${dir}/state` },
      );
      await waitFor(() => ticks(run.log.records).size === 2, 30_000, "both running");
      const errors = run.log.find(/^cannot write the state file /);
      assert.equal(errors.length, 1, run.log.dump());
      const { summary } = await run.stop();
      assert.deepEqual(summary.instances.map((i) => i.state), ["stopped", "stopped"]);
      await assertNoneLeft(mark, 10_000);
    } finally {
      killMarked(mark);
      if (mount.code === 0) {
        const umount = await new Deno.Command("umount", { args: [dir] }).output();
        if (umount.code !== 0) await new Deno.Command("umount", { args: ["-l", dir] }).output();
      }
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "handover: another user's master cannot take over the state directory (nor read it)",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { uid, gid } = await ensureUser();
    const stateDir = await Deno.makeTempDir({ prefix: "distarch-state-" });
    const denoDir = await Deno.makeTempDir({ prefix: "distarch-deno-" });
    const mark = marker();
    const groups = [group("L", "w_count.ts", mark, { timeout: 0, instances: 1 })];
    try {
      Deno.chownSync(denoDir, uid, gid);
      await using a = master(groups, { gracePeriod: 1, adoptWindow: 5, stateDir }, mark);
      await waitFor(() => pidsOf(a.records(), "started").size === 1, 30_000, "1 started");
      const [pid] = [...pidsOf(a.records(), "started").values()];
      a.child.kill("SIGKILL");
      await a.exit();
      // the same master, run as the test user, given root's state directory
      const child = new Deno.Command("su", {
        args: [
          TEST_USER,
          "-s",
          "/bin/sh",
          "-c",
          `DENO_DIR=${denoDir} exec ${Deno.execPath()} run -A --no-check ${fixture("r_master.ts")}`,
        ],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(JSON.stringify({
        groups,
        options: { gracePeriod: 1, adoptWindow: 5, stateDir },
      })));
      await w.close();
      const out = await child.output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.notEqual(out.code, 0, "the other user's master did not run");
      assert.match(stderr, /owned by uid 0/, stderr);
      assert.ok(pidAlive(pid!), "the instance is still the first master's, for its adopt window");
      await waitFor(() => !pidAlive(pid!), 5000 + 1000 + MARGIN, "its agent stopped it");
    } finally {
      killMarked(mark);
      await Deno.remove(stateDir, { recursive: true }).catch(() => {});
      await Deno.remove(denoDir, { recursive: true }).catch(() => {});
    }
  },
});
