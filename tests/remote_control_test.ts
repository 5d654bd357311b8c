// Control of remote instances through their agent: suspend/resume, graceful
// stop, hung detection, and a killed ssh client (the link, not the host).
import assert from "node:assert/strict";
import {
  assertNoneLeft,
  type Collector,
  group,
  marker,
  pidAlive,
  pidsWithMarker,
  procCmdline,
  remoteRun,
  startedPids,
  waitFor,
} from "./_helpers.ts";
import { descendantsOf, sshdUnavailable, startSshd } from "./_sshd.ts";

const ignore = sshdUnavailable() !== undefined;
/** Slack on time bounds, for a loaded machine. */
const MARGIN = 7000;

function count(c: Collector, message: string, host?: string): number {
  return c.records.filter((r) => r.message === message && (host === undefined || r.host === host))
    .length;
}

Deno.test({
  name: "remote: suspend, resume, stop and hung detection reach remote instances",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await using sshd = await startSshd({ hosts: 2 });
    const [h1, h2] = sshd.hosts as [string, string];

    await t.step(
      "suspendGroup stops them gracefully, resumeGroup starts them with their ids, stop() ends them gracefully",
      async () => {
        const mark = marker();
        await using run = remoteRun([
          group("S", "w_sleep.ts", mark, {
            params: { sleep: 60 },
            processes: [sshd.remoteConfig({ instances: 2 })],
          }),
        ], { gracePeriod: 5 });
        const { launcher, log: c } = run;
        await waitFor(() => count(c, "ready") === 4, 30_000, "4 remote instances ready");
        assert.deepEqual(pidsWithMarker(mark).length, 4);
        const labels = launcher.list().map((i) => `${i.label}@${i.host}`);
        await launcher.suspendGroup("S");
        const woke = c.records.filter((r) => r.message === "woke");
        assert.deepEqual(woke.length, 4, c.dump());
        for (const w of woke) {
          assert.deepEqual(w.context?.stopping, true, "graceful: the worker saw the stop");
        }
        await assertNoneLeft(mark, 5000);
        assert.ok(launcher.list().every((i) => i.state === "suspended"));
        launcher.resumeGroup("S");
        await waitFor(() => count(c, "ready") === 8, 30_000, "4 remote instances ready again");
        assert.deepEqual(launcher.list().map((i) => `${i.label}@${i.host}`), labels);
        for (const h of [h1, h2]) assert.deepEqual(count(c, "ready", h), 4);
        const { summary } = await run.stop();
        assert.ok(summary.ok, c.dump());
        assert.deepEqual(summary.reason, "stopped");
        assert.deepEqual(
          summary.instances.map((i) => [i.state, i.lastReason]),
          Array(4).fill(["stopped", "stopped"]),
        );
        assert.deepEqual(count(c, "woke"), 8);
        await assertNoneLeft(mark, 5000);
      },
    );

    await t.step("a silent remote instance is found hung and killed", async () => {
      const mark = marker();
      await using run = remoteRun([
        group("H", "w_hang.ts", mark, {
          timeout: 2,
          processes: [sshd.remoteConfig({ instances: 1, hosts: [h2] })],
        }),
      ], { maxProcessTimeouts: 1 });
      const { summary, log: c } = await run.done();
      assert.ok(!summary.ok);
      assert.deepEqual(summary.instances.map((i) => [i.host, i.state, i.lastReason]), [
        [h2, "failed", "timeout"],
      ]);
      const hung = c.find(/^hung: no output/);
      assert.deepEqual(hung.map((r) => r.host), [h2], c.dump());
      await assertNoneLeft(mark, 10_000);
    });

    await t.step(
      "killing one host's ssh client stops its instances, reconnects and runs them again; the other host is undisturbed",
      async () => {
        const mark = marker();
        await using run = remoteRun([
          group("K", "w_sleep.ts", mark, {
            params: { sleep: 60 },
            processes: [sshd.remoteConfig({ instances: 2 })],
          }),
        ], { backoffInitial: 0.2 });
        const c = run.log;
        await waitFor(() => count(c, "ready") === 4, 30_000, "4 remote instances ready");
        const pidsOn = (h: string) => startedPids(c.records.filter((r) => r.host === h));
        const before1 = pidsOn(h1);
        const before2 = pidsOn(h2);
        const clients = descendantsOf(Deno.pid).filter((pid) => {
          const argv = procCmdline(pid) ?? [];
          return /(^|\/)ssh$/.test(argv[0] ?? "") && argv.includes(h1) &&
            argv.includes(String(sshd.port)) &&
            argv.some((a) => a.includes("agent.js"));
        });
        assert.deepEqual(clients.length, 1, "one agent session per host");
        const h1Labels = c.records.filter((r) => r.message === "ready" && r.host === h1)
          .map((r) => r.instance).sort();
        const killedAt = c.records.length;
        const t0 = Date.now();
        Deno.kill(clients[0]!, "SIGKILL");
        // the agent's instances are gone within lease + grace (3 s + 1 s), with slack
        await waitFor(() => before1.every((p) => !pidAlive(p)), 20_000, "h1 instances gone");
        const goneMs = Date.now() - t0;
        assert.ok(
          goneMs <= (3 + 1) * 1000 + MARGIN,
          `h1 instances gone ${goneMs} ms after their ssh client was killed: ` +
            `over lease + grace (4 s) + ${MARGIN} ms`,
        );
        await waitFor(
          () =>
            c.records.some((r) => r.level === "warning" && r.host === h1 && /lost/.test(r.message)),
          10_000,
          "the loss reported with the host",
        );
        // each h1 instance runs again, however many reconnects that took
        const readyAgain = () =>
          [
            ...new Set(
              c.records.slice(killedAt).filter((r) => r.message === "ready" && r.host === h1)
                .map((r) => r.instance),
            ),
          ].sort();
        await waitFor(
          () => readyAgain().length === 2,
          30_000,
          "h1 instances ready again",
        );
        assert.deepEqual(readyAgain(), h1Labels);
        const after1 = run.launcher.list().filter((i) => i.host === h1);
        assert.deepEqual(after1.map((i) => i.state), ["running", "running"]);
        for (const i of after1) {
          assert.ok(!before1.includes(i.pid!) && pidAlive(i.pid!), `${i.pid}`);
        }
        assert.ok(before2.every(pidAlive), "the other host was disturbed");
        assert.deepEqual(count(c, "ready", h2), 2);
        const { summary } = await run.stop();
        assert.ok(summary.ok, c.dump());
        await assertNoneLeft(mark, 10_000);
      },
    );
  },
});
