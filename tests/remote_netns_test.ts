// A silent network cut: a host in its own network namespace loses its link.
import { ok as assert } from "node:assert/strict";
import { Launcher, type RunSummary } from "../master/launcher.ts";
import {
  assertNoneLeft,
  type Collector,
  collector,
  group,
  marker,
  pidAlive,
  startedPids,
  waitFor,
} from "./_helpers.ts";
import { createNetns, netnsUnavailable } from "./_netns.ts";
import { sshdUnavailable, startSshd } from "./_sshd.ts";

const ignore = sshdUnavailable() !== undefined || netnsUnavailable() !== undefined;
const LEASE = 3;
const GRACE = 1;

function ready(c: Collector, host: string): number {
  return c.records.filter((r) => r.message === "ready" && r.host === host).length;
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
    const c = collector();
    const launcher = new Launcher({
      sshLease: LEASE,
      logger: c,
      handleSignals: false,
      gracePeriod: GRACE,
      maxRestarts: 0, // an outage is not a failure of the instances: they are never given up
      backoffInitial: 0.2,
      backoffMax: 1,
    });
    let run: Promise<RunSummary> | undefined;
    let cut = false;
    try {
      run = launcher.run([
        group("N", "w_sleep.ts", mark, {
          params: { sleep: 120 },
          processes: [far.remoteConfig({ instances: 2 }), near.remoteConfig({ instances: 1 })],
        }),
      ]);
      await waitFor(() => ready(c, farHost) === 2 && ready(c, nearHost) === 1, 60_000, "ready");
      const farPids = startedPids(c.records.filter((r) => r.host === farHost));
      const nearPids = startedPids(c.records.filter((r) => r.host === nearHost));
      await ns.cut();
      cut = true;
      const t0 = Date.now();
      // the master notices (keepalive / no heartbeat) and says which host
      await waitFor(
        () =>
          c.records.some((r) =>
            r.host === farHost && r.level === "warning" && /lost/.test(r.message)
          ),
        LEASE * 1000 + 10_000,
        "the loss reported",
      );
      const detectedMs = Date.now() - t0;
      // the agent, cut off from its master, stops its instances by itself
      await waitFor(
        () => farPids.every((p) => !pidAlive(p)),
        (LEASE + GRACE) * 1000 + 10_000,
        "far instances gone",
      );
      const goneMs = Date.now() - t0;
      assert(nearPids.every(pidAlive), "the other host was disturbed");
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
      await ns.restore();
      cut = false;
      const t1 = Date.now();
      await waitFor(() => ready(c, farHost) === 4, 60_000, "far instances ready again");
      console.log(
        `link cut: loss reported after ${detectedMs} ms, far instances gone after ${goneMs} ms; ` +
          `link back: running again after ${Date.now() - t1} ms`,
      );
      assert(nearPids.every(pidAlive), "the other host was disturbed");
      await launcher.stop();
      assert((await run).ok, c.dump());
    } finally {
      if (cut) await ns.restore().catch(() => {});
      await launcher.stop();
      await run?.catch(() => {});
      await assertNoneLeft(mark, 15_000);
    }
  },
});
