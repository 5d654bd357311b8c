// Hosts that cannot work: clear errors, backoff, no retry storm, and the
// other hosts run normally.
import assert from "node:assert/strict";
import { assertNoneLeft, group, marker, remoteRun } from "./_helpers.ts";
import { sshdUnavailable, startSshd } from "./_sshd.ts";

const ignore = sshdUnavailable() !== undefined;

Deno.test({
  name: "remote: a closed port and a refused key are reported clearly; the good host runs normally",
  ignore,
  sanitizeResources: false,
  async fn() {
    await using sshd = await startSshd({ hosts: 2 });
    const [good, refusing] = sshd.hosts as [string, string];
    const closed = "127.0.0.9";
    const l = Deno.listen({ hostname: closed, port: 0 });
    const closedPort = (l.addr as Deno.NetAddr).port;
    l.close();
    const mark = marker();
    await using run = remoteRun([
      group("G", "w_echo_context.ts", mark, {
        processes: [
          sshd.remoteConfig({ instances: 2, hosts: [good] }),
          sshd.remoteConfig({ instances: 1, hosts: [closed], port: closedPort }),
          sshd.remoteConfig({
            instances: 2,
            hosts: [refusing],
            privateKey: `${sshd.knownHostsFile}.no-such-key`,
          }),
        ],
      }),
    ], { maxRestarts: 3, backoffInitial: 0.1, backoffMax: 1 });
    const { summary, log: c } = await run.done();
    assert.ok(!summary.ok);
    assert.deepEqual(summary.instances.map((i) => [i.host, i.state, i.lastReason]), [
      [good, "ended", "ended"],
      [good, "ended", "ended"],
      [closed, "failed", "start-failed"],
      [refusing, "failed", "start-failed"],
      [refusing, "failed", "start-failed"],
    ]);
    assert.deepEqual(c.records.filter((r) => r.message === "context").map((r) => r.host), [
      good,
      good,
    ]);

    // the closed port: each attempt says where and why, retried with backoff, then given up
    const unreachable = c.records.filter((r) =>
      r.host === closed && /^could not be started/.test(r.message)
    );
    assert.deepEqual(unreachable.length, 4, `${unreachable.length}\n${c.dump()}`); // 1 + maxRestarts
    for (const r of unreachable) {
      assert.ok(r.message.includes(`Cannot reach ${closed} over SSH`), r.message);
      assert.ok(/Connection refused/.test(r.message), r.message);
    }
    const delays = c.records.filter((r) => r.host === closed && /^restarting in/.test(r.message));
    assert.deepEqual(delays.length, 3, c.dump());

    // the refused key: reported once by the transport, no retry at all
    const refused = c.records.filter((r) =>
      r.host === refusing && r.instance === undefined && r.level === "error"
    );
    assert.deepEqual(refused.length, 1, c.dump());
    assert.ok(
      /refused our credentials.*Permission denied/.test(refused[0]!.message),
      refused[0]!.message,
    );
    assert.deepEqual(
      c.records.filter((r) => r.host === refusing && /^restarting in/.test(r.message)),
      [],
    );
    assert.deepEqual(c.find("given up: this cannot work by retrying").map((r) => r.host), [
      refusing,
      refusing,
    ]);
    // no retry storm: sshd saw one connection for the refused key, not one per instance
    const attempts = sshd.log().split("\n").filter((l) => /Connection closed|publickey/.test(l));
    assert.ok(attempts.length <= 2, sshd.log());
    await assertNoneLeft(mark, 10_000);
  },
});
