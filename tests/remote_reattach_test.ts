// Re-attaching a lost SSH session (adoptWindow): the remote agent keeps its
// instances and their output while no session is up; the master opens a new
// session to it and takes them over, same pids, every line once. Without a
// master to re-attach, nothing outlives the window.
import assert from "node:assert/strict";
import {
  assertAgentDeathRecovered,
  assertNoneLeft,
  type Collector,
  controlDirsOf,
  fixture,
  group,
  marker,
  masterProcess,
  pidAlive,
  pidsWithMarker,
  procCmdline,
  remoteRun,
  waitFor,
} from "./_helpers.ts";
import { createNetns, netnsUnavailable } from "./_netns.ts";
import { descendantsOf, sshdUnavailable, startSshd } from "./_sshd.ts";

const ignore = sshdUnavailable() !== undefined;
/** Slack on time bounds, for a loaded machine. */
const MARGIN = 7000;

/** The numbers of the "tick <n>" lines each instance printed, by instance label. */
function ticks(c: Collector): Map<string, number[]> {
  const by = new Map<string, number[]>();
  for (const r of c.records) {
    const m = /^tick (\d+)$/.exec(r.message);
    if (m === null || r.instance === undefined) continue;
    by.set(r.instance, [...(by.get(r.instance) ?? []), Number(m[1])]);
  }
  return by;
}

/**
 * The local ssh clients of agent sessions (not the ControlMaster, not probes) to the sshd
 * whose known_hosts file is `knownHosts`: test files run in parallel in this process, and
 * other files' ssh clients are descendants of it too.
 */
function sessionClients(knownHosts: string): number[] {
  return descendantsOf(Deno.pid).filter((pid) => {
    const argv = procCmdline(pid) ?? [];
    return /(^|\/)ssh$/.test(argv[0] ?? "") && argv.some((a) => a.includes(knownHosts)) &&
      argv.some((a) => a.includes("--lease=") || a.includes("--connect="));
  });
}

Deno.test({
  name:
    "remote: a killed ssh session or connection is re-attached: same pids, every line once, nothing restarted",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using sshd = await startSshd({ hosts: 1 });
    const mark = marker();
    await using run = remoteRun([
      group("A", "w_count.ts", mark, {
        params: { every: 0.25 },
        timeout: 0,
        processes: [sshd.remoteConfig({ instances: 2 })],
      }),
    ], { sshLease: 5, adoptWindow: 10 });
    const { launcher, log: c } = run;
    const each = (n: number) => () => {
      const t = ticks(c);
      return t.size === 2 && [...t.values()].every((l) => l.length >= n);
    };
    await waitFor(each(4), 60_000, "2 instances ticking");
    const before = launcher.list().map((i) => [i.id, i.pid, i.startedAt]);
    const clients = sessionClients(sshd.knownHostsFile);
    assert.equal(clients.length, 1, "one agent session");
    const seen = Math.max(...[...ticks(c).values()].map((l) => l.length));
    const t0 = Date.now();
    Deno.kill(clients[0]!, "SIGKILL");
    await waitFor(() => c.find(/^re-attached /).length === 1, 30_000, "re-attached")
      .catch((error) => {
        throw new Error(`${error.message}\n${c.dump()}`, { cause: error });
      });
    const reattachMs = Date.now() - t0;
    await waitFor(each(seen + 8), 30_000, "8 more ticks each");
    console.log(`re-attached ${reattachMs} ms after the ssh client was killed`);
    assert.ok(reattachMs < 2000 + MARGIN, `re-attached after ${reattachMs} ms\n${c.dump()}`);
    assert.deepEqual(launcher.list().map((i) => [i.id, i.pid, i.startedAt]), before);
    assert.ok(launcher.list().every((i) => i.state === "running" && i.runs === 1), c.dump());
    assert.equal(c.find(/^lost: /).length, 0, c.dump());
    for (const [label, got] of ticks(c)) {
      const want = Array.from({ length: got.length }, (_, i) => i);
      assert.deepEqual(got, want, `${label}: every tick once, in order`);
    }
    assert.equal(sessionClients(sshd.knownHostsFile).length, 1, "one session again");

    // a connection reset: the ControlMaster (the one connection to the host) dies
    const masters = descendantsOf(Deno.pid).filter((pid) =>
      (procCmdline(pid) ?? []).some((a) => a.includes("exec cat >/dev/null")) &&
      (procCmdline(pid) ?? []).some((a) => a.includes(sshd.knownHostsFile))
    );
    assert.equal(masters.length, 1, "one ControlMaster");
    const again = Math.max(...[...ticks(c).values()].map((l) => l.length));
    const t1 = Date.now();
    Deno.kill(masters[0]!, "SIGKILL");
    await waitFor(() => c.find(/^re-attached /).length === 2, 30_000, "re-attached again")
      .catch((error) => {
        throw new Error(`${error.message}\n${c.dump()}`, { cause: error });
      });
    console.log(`re-attached ${Date.now() - t1} ms after the ControlMaster was killed`);
    await waitFor(each(again + 8), 30_000, "8 more ticks each");
    assert.deepEqual(launcher.list().map((i) => [i.id, i.pid, i.startedAt]), before);
    for (const [label, got] of ticks(c)) {
      const want = Array.from({ length: got.length }, (_, i) => i);
      assert.deepEqual(got, want, `${label}: every tick once, in order, after the reset`);
    }

    // a re-attach that fails (the connector cannot start: its bundle is gone from the host
    // cache) is tried again, and the instances are not given up meanwhile
    const cache = `${sshd.home}/.cache/distarch`;
    const bundles = [...Deno.readDirSync(cache)].map((e) => `${cache}/${e.name}/agent.js`)
      .filter((p) => {
        try {
          return Deno.statSync(p).isFile;
        } catch {
          return false;
        }
      });
    assert.equal(bundles.length, 1, "one agent bundle in the host cache");
    const bundle = bundles[0]!;
    await Deno.rename(bundle, `${bundle}.away`);
    try {
      const clients = sessionClients(sshd.knownHostsFile);
      assert.equal(clients.length, 1, "one agent session");
      Deno.kill(clients[0]!, "SIGKILL");
      await waitFor(
        () => sessionClients(sshd.knownHostsFile).length === 0,
        10_000,
        "the session gone",
      );
      await waitFor(() => c.find(/^re-attach attempt 1 /).length === 1, 10_000, "a failed attempt");
    } finally {
      await Deno.rename(`${bundle}.away`, bundle);
    }
    await waitFor(() => c.find(/^re-attached /).length === 3, 30_000, "re-attached after a retry")
      .catch((error) => {
        throw new Error(`${error.message}\n${c.dump()}`, { cause: error });
      });
    const last = Math.max(...[...ticks(c).values()].map((l) => l.length));
    await waitFor(each(last + 4), 30_000, "4 more ticks each");
    assert.deepEqual(launcher.list().map((i) => [i.id, i.pid, i.startedAt]), before);
    assert.equal(c.find(/^lost: /).length, 0, c.dump());
    for (const [label, got] of ticks(c)) {
      const want = Array.from({ length: got.length }, (_, i) => i);
      assert.deepEqual(got, want, `${label}: every tick once, in order, after a retry`);
    }
    const { summary } = await run.stop();
    assert.deepEqual(summary.instances.map((i) => i.state), ["stopped", "stopped"]);
    await assertNoneLeft(mark, 15_000);
  },
});

Deno.test({
  name: "remote: with no master to re-attach, instances are gone within adoptWindow + grace",
  ignore,
  sanitizeResources: false,
  async fn() {
    await using sshd = await startSshd({ hosts: 1 });
    const mark = marker();
    const adoptWindow = 3;
    const gracePeriod = 1;
    const groups = [
      group("M", "w_ignore_term.ts", mark, {
        processes: [sshd.remoteConfig({ instances: 2 })],
      }),
    ];
    await using master = masterProcess(fixture("r_master.ts"), [], {
      stdin: JSON.stringify({ groups, options: { gracePeriod, sshLease: 3, adoptWindow } }),
      marks: [mark],
    });
    await waitFor(() => pidsWithMarker(mark).length === 2, 60_000, "2 instances running");
    const remote = pidsWithMarker(mark);
    // a master killed with SIGKILL cannot remove its ControlMaster sockets: we do
    master.remove.push(...controlDirsOf(master.child.pid));
    const t0 = Date.now();
    master.child.kill("SIGKILL");
    // they outlive the master for the window (no sleep-as-assertion: checked once they are gone)
    await waitFor(
      () => remote.every((p) => !pidAlive(p)),
      (adoptWindow + gracePeriod) * 1000 + 3 * MARGIN,
      "no remote instance left",
    );
    const goneMs = Date.now() - t0;
    console.log(`remote instances gone ${goneMs} ms after SIGKILL (adoptWindow ${adoptWindow} s)`);
    assert.ok(goneMs >= adoptWindow * 1000, `gone after ${goneMs} ms: before the window ended`);
    assert.ok(
      goneMs <= (adoptWindow + gracePeriod) * 1000 + MARGIN,
      `gone after ${goneMs} ms: over adoptWindow + grace + ${MARGIN} ms`,
    );
    assert.deepEqual((await master.exit()).signal, "SIGKILL");
  },
});

Deno.test({
  name: "remote: a network cut shorter than adoptWindow is re-attached: same pids, every line once",
  ignore: ignore || netnsUnavailable() !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using ns = await createNetns();
    await using far = await startSshd({ addresses: [ns.inside], netns: ns.name });
    const mark = marker();
    const lease = 3;
    await using run = remoteRun([
      group("B", "w_count.ts", mark, {
        params: { every: 0.25 },
        timeout: 0,
        processes: [far.remoteConfig({ instances: 2 })],
      }),
    ], { sshLease: lease, adoptWindow: 30 });
    const { launcher, log: c } = run;
    const each = (n: number) => () => {
      const t = ticks(c);
      return t.size === 2 && [...t.values()].every((l) => l.length >= n);
    };
    await waitFor(each(4), 60_000, "2 instances ticking");
    const before = launcher.list().map((i) => [i.id, i.pid, i.startedAt]);
    let cut = true;
    await ns.cut();
    try {
      // both ends notice the silence (the lease), then the master tries to re-attach
      await waitFor(
        () => c.find(/^lost the SSH session/).length === 1,
        lease * 1000 + 3 * MARGIN,
        "the loss noticed",
      );
      const t0 = Date.now();
      await ns.restore();
      cut = false;
      await waitFor(() => c.find(/^re-attached /).length === 1, 40_000, "re-attached")
        .catch((error) => {
          throw new Error(`${error.message}\n${c.dump()}`, { cause: error });
        });
      console.log(`re-attached ${Date.now() - t0} ms after the link came back`);
      const seen = Math.max(...[...ticks(c).values()].map((l) => l.length));
      await waitFor(each(seen + 4), 30_000, "4 more ticks each");
      assert.deepEqual(launcher.list().map((i) => [i.id, i.pid, i.startedAt]), before);
      assert.equal(c.find(/^lost: /).length, 0, c.dump());
      for (const [label, got] of ticks(c)) {
        const want = Array.from({ length: got.length }, (_, i) => i);
        assert.deepEqual(got, want, `${label}: every tick once, in order`);
      }
      const { summary } = await run.stop();
      assert.deepEqual(summary.instances.map((i) => i.state), ["stopped", "stopped"]);
      await assertNoneLeft(mark, 15_000);
    } finally {
      if (cut) await ns.restore().catch(() => {});
    }
  },
});

Deno.test({
  name:
    "remote: a SIGKILLed agent's instances die with it, are reported lost and run again (adoptWindow)",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using sshd = await startSshd({ hosts: 1 });
    const mark = marker();
    await using run = remoteRun([
      // silent and deaf: neither its stdin's end nor a broken pipe would end it
      group("K", fixture("w_silent.sh"), mark, {
        timeout: 0,
        processes: [sshd.remoteConfig({ instances: 2 })],
      }),
    ], { sshLease: 5, adoptWindow: 10, backoffInitial: 0.2 });
    const { launcher, log: c } = run;
    await waitFor(() => launcher.list().every((i) => i.pid !== undefined), 60_000, "2 running");
    await waitFor(() => c.find(/^ready$/).length === 2, 30_000, "2 instances ready");
    const old = launcher.list().map((i) => i.pid!);
    const agents = descendantsOf(sshd.pid).filter((pid) =>
      (procCmdline(pid) ?? []).some((a) => a.startsWith("--lease="))
    );
    assert.equal(agents.length, 1, "one agent");
    Deno.kill(agents[0]!, "SIGKILL");
    await assertAgentDeathRecovered(run, old);
    await assertNoneLeft(mark, 15_000);
  },
});
