// Live reload of a remote process config on the loopback sshd: a host added to `hosts` starts only
// that host's instances, a host taken out stops only its own; the other host's keep their pids.
import { deepEqual as eq, ok } from "node:assert/strict";
import type { GroupConfig } from "../master/types.ts";
import { assertNoneLeft, fixture, group, marker, remoteRun, waitFor } from "./_helpers.ts";
import { sshdUnavailable, startSshd } from "./_sshd.ts";

Deno.test({
  name:
    "remote: reload adds and removes hosts of a process config, touching no other host, and replaces changed ones",
  ignore: sshdUnavailable() !== undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using sshd = await startSshd({ hosts: 2 });
    const [h1, h2] = sshd.hosts as [string, string];
    const mark = marker();
    const config = (hosts: string[], v = "1"): GroupConfig[] => [
      group("R", fixture("w_ready.sh"), mark, {
        waitReady: true,
        env: { V: v },
        processes: [sshd.remoteConfig({ hosts, instances: 2 })],
      }),
    ];
    await using run = remoteRun(config([h1]), { gracePeriod: 2, sshLease: 5 });
    const { launcher, log } = run;
    const ready = () => launcher.list().filter((i) => i.ready).length;
    await waitFor(() => ready() === 2, 60_000, "2 ready on h1");
    const onH1 = launcher.list().map((i) => [i.id, i.pid, i.host]);

    const added = await launcher.apply(config([h1, h2]));
    eq(added.groups.map((g) => [g.group, g.kind, g.started, g.stopped]), [["R", "scaled", 2, 0]]);
    await waitFor(() => ready() === 4, 60_000, "2 more ready on h2");
    const both = launcher.list();
    eq(both.filter((i) => i.host === h1).map((i) => [i.id, i.pid, i.host]), onH1);
    eq(both.filter((i) => i.host === h2).map((i) => [i.id, i.groupId]), [[3, 3], [4, 4]]);

    const removed = await launcher.apply(config([h2]));
    eq(removed.groups.map((g) => [g.kind, g.started, g.stopped]), [["scaled", 0, 2]]);
    const left = launcher.list();
    eq(
      left.map((i) => [i.id, i.pid, i.host]),
      both.filter((i) => i.host === h2).map((i) => [i.id, i.pid, i.host]),
    );
    ok(log.find(/^stopped \(/).every((r) => r.host === h1), log.dump());

    // a changed env replaces the host's instances one by one, through a session of their own
    const changed = await launcher.apply(config([h2], "2"));
    eq(changed.groups.map((g) => [g.kind, g.replaced, g.fields, g.halted]), [
      ["changed", 2, ["env"], undefined],
    ]);
    const now = launcher.list();
    eq(now.map((i) => [i.groupId, i.host, i.state, i.ready]), [
      [3, h2, "running", true],
      [4, h2, "running", true],
    ]);
    ok(now.every((i) => i.id > 4 && !left.some((o) => o.pid === i.pid)));
    const { summary } = await run.stop();
    eq([summary.ok, summary.reason], [true, "stopped"], log.dump());
    await assertNoneLeft(mark, 10_000);
  },
});
