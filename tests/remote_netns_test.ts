// A silent network cut: a host in its own network namespace loses its link.
import assert from "node:assert/strict";
import {
  assertNoneLeft,
  type Collector,
  group,
  marker,
  pidAlive,
  remoteRun,
  startedPids,
  waitFor,
} from "./_helpers.ts";
import { createNetns, netnsUnavailable } from "./_netns.ts";
import { sshdUnavailable, startSshd } from "./_sshd.ts";

const ignore = sshdUnavailable() !== undefined || netnsUnavailable() !== undefined;
const LEASE = 3;
const GRACE = 1;
/** Slack on every bound below, for a loaded machine. */
const MARGIN = 7000;

/** Labels of the instances on `host` that logged "ready" at index `from` or later. */
function readySince(c: Collector, host: string, from: number): Set<string | undefined> {
  return new Set(
    c.records.slice(from).filter((r) => r.message === "ready" && r.host === host).map((r) =>
      r.instance
    ),
  );
}

Deno.test({
  name:
    "remote: a silent link cut is detected within the lease, the host's instances stop, and run again when the link returns, however long it took",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using ns = await createNetns();
    await using far = await startSshd({ addresses: [ns.inside], netns: ns.name });
    await using near = await startSshd({ hosts: 1 });
    const [farHost, nearHost] = [far.hosts[0]!, near.hosts[0]!];
    const mark = marker();
    await using run = remoteRun([
      group("N", "w_sleep.ts", mark, {
        params: { sleep: 120 },
        processes: [far.remoteConfig({ instances: 2 }), near.remoteConfig({ instances: 1 })],
      }),
    ], {
      sshLease: LEASE,
      gracePeriod: GRACE,
      maxRestarts: 0, // an outage is not a failure of the instances: they are never given up
      backoffInitial: 0.2,
      backoffMax: 1,
    });
    const c = run.log;
    await waitFor(
      () => readySince(c, farHost, 0).size === 2 && readySince(c, nearHost, 0).size === 1,
      60_000,
      "ready",
    );
    const farLabels = [...readySince(c, farHost, 0)].sort();
    const farPids = startedPids(c.records.filter((r) => r.host === farHost));
    const nearPids = startedPids(c.records.filter((r) => r.host === nearHost));
    assert.equal(farPids.length, 2);
    assert.equal(nearPids.length, 1);
    let cut = true;
    await ns.cut();
    try {
      const t0 = Date.now();
      // the master notices (keepalive / no heartbeat) and says which host
      await waitFor(
        () =>
          c.records.some((r) =>
            r.host === farHost && r.level === "warning" && /lost/.test(r.message)
          ),
        LEASE * 1000 + 3 * MARGIN,
        "the loss reported",
      );
      const detectedMs = Date.now() - t0;
      assert.ok(
        detectedMs <= LEASE * 1000 + MARGIN,
        `the loss was reported ${detectedMs} ms after the cut: over the lease (${LEASE} s) + ${MARGIN} ms`,
      );
      // the agent, cut off from its master, stops its instances by itself
      await waitFor(
        () => farPids.every((p) => !pidAlive(p)),
        (LEASE + GRACE) * 1000 + 3 * MARGIN,
        "far instances gone",
      );
      const goneMs = Date.now() - t0;
      assert.ok(
        goneMs <= (LEASE + GRACE) * 1000 + MARGIN,
        `the far instances were gone ${goneMs} ms after the cut: over lease + grace (${
          LEASE + GRACE
        } s) + ${MARGIN} ms`,
      );
      assert.ok(nearPids.every(pidAlive), "the other host was disturbed");
      // the master keeps trying to reach the host while it is cut off
      await waitFor(
        () =>
          c.records.some((r) =>
            r.host === farHost &&
            /^could not be started: .*retrying until it is back$/.test(r.message)
          ),
        30_000,
        "a failed attempt to reach the cut host",
      );
      // nothing on the far host can say "ready" while it is cut off
      const back = c.records.length;
      await ns.restore();
      cut = false;
      // every far instance runs again (however many reconnects that took)
      await waitFor(
        () => readySince(c, farHost, back).size === 2,
        60_000,
        "far instances ready again",
      );
      assert.deepEqual([...readySince(c, farHost, back)].sort(), farLabels);
      assert.deepEqual(
        run.launcher.list().filter((i) => i.host === farHost).map((i) => [i.label, i.state]),
        farLabels.map((l) => [l, "running"]),
      );
      assert.ok(nearPids.every(pidAlive), "the other host was disturbed");
      const { summary } = await run.stop();
      assert.equal(summary.ok, true, c.dump());
      assert.equal(summary.reason, "stopped");
      assert.deepEqual(summary.instances.map((i) => [i.host, i.state, i.lastReason]), [
        [farHost, "stopped", "stopped"],
        [farHost, "stopped", "stopped"],
        [nearHost, "stopped", "stopped"],
      ]);
      await assertNoneLeft(mark, 15_000);
    } finally {
      if (cut) await ns.restore().catch(() => {});
    }
  },
});
