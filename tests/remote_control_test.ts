// Control of remote instances through their agent: suspend/resume, graceful
// stop, hung detection, and a killed ssh client (the link, not the host).
import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Launcher, type RunSummary } from "../master/launcher.ts";
import {
  assertNoneLeft,
  type Collector,
  collector,
  group,
  marker,
  pidAlive,
  pidsWithMarker,
  procCmdline,
  startedPids,
  waitFor,
} from "./_helpers.ts";
import { descendantsOf, sshdUnavailable, startSshd } from "./_sshd.ts";

const ignore = sshdUnavailable() !== undefined;

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
        const c = collector();
        const launcher = new Launcher({
          sshLease: 3,
          logger: c,
          handleSignals: false,
          gracePeriod: 5,
        });
        let run: Promise<RunSummary> | undefined;
        try {
          run = launcher.run([
            group("S", "w_sleep.ts", mark, {
              params: { sleep: 60 },
              processes: [sshd.remoteConfig({ instances: 2 })],
            }),
          ]);
          await waitFor(() => count(c, "ready") === 4, 30_000, "4 remote instances ready");
          assertEquals(pidsWithMarker(mark).length, 4);
          const labels = launcher.list().map((i) => `${i.label}@${i.host}`);
          await launcher.suspendGroup("S");
          const woke = c.records.filter((r) => r.message === "woke");
          assertEquals(woke.length, 4, c.dump());
          for (const w of woke) {
            assertEquals(w.context?.stopping, true, "graceful: the worker saw the stop");
          }
          await assertNoneLeft(mark, 5000);
          assert(launcher.list().every((i) => i.state === "suspended"));
          launcher.resumeGroup("S");
          await waitFor(() => count(c, "ready") === 8, 30_000, "4 remote instances ready again");
          assertEquals(launcher.list().map((i) => `${i.label}@${i.host}`), labels);
          for (const h of [h1, h2]) assertEquals(count(c, "ready", h), 4);
          await launcher.stop();
          const summary = await run;
          assert(summary.ok, c.dump());
          assertEquals(summary.reason, "stopped");
          assertEquals(count(c, "woke"), 8);
          await assertNoneLeft(mark, 5000);
        } finally {
          await launcher.stop();
          await run?.catch(() => {});
          await assertNoneLeft(mark, 10_000);
        }
      },
    );

    await t.step("a silent remote instance is found hung and killed", async () => {
      const mark = marker();
      const c = collector();
      const launcher = new Launcher({
        sshLease: 3,
        logger: c,
        handleSignals: false,
        gracePeriod: 1,
        maxProcessTimeouts: 1,
      });
      try {
        const summary = await launcher.run([
          group("H", "w_hang.ts", mark, {
            timeout: 2,
            processes: [sshd.remoteConfig({ instances: 1, hosts: [h2] })],
          }),
        ]);
        assert(!summary.ok);
        assertEquals(summary.instances.map((i) => [i.host, i.state]), [[h2, "failed"]]);
        const hung = c.find(/^hung: no output/);
        assertEquals(hung.map((r) => r.host), [h2], c.dump());
      } finally {
        await launcher.stop();
        await assertNoneLeft(mark, 10_000);
      }
    });

    await t.step(
      "killing one host's ssh client stops its instances, reconnects and runs them again; the other host is undisturbed",
      async () => {
        const mark = marker();
        const c = collector();
        const launcher = new Launcher({
          sshLease: 3,
          logger: c,
          handleSignals: false,
          gracePeriod: 1,
          backoffInitial: 0.2,
        });
        let run: Promise<RunSummary> | undefined;
        try {
          run = launcher.run([
            group("K", "w_sleep.ts", mark, {
              params: { sleep: 60 },
              processes: [sshd.remoteConfig({ instances: 2 })],
            }),
          ]);
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
          assertEquals(clients.length, 1, "one agent session per host");
          const t0 = Date.now();
          Deno.kill(clients[0]!, "SIGKILL");
          // the agent's instances are gone within lease + grace (3 s + 1 s), with slack
          await waitFor(() => before1.every((p) => !pidAlive(p)), 15_000, "h1 instances gone");
          const goneMs = Date.now() - t0;
          await waitFor(
            () =>
              c.records.some((r) =>
                r.level === "warning" && r.host === h1 && /lost/.test(r.message)
              ),
            10_000,
            "the loss reported with the host",
          );
          await waitFor(() => count(c, "ready", h1) === 4, 30_000, "h1 instances ready again");
          assert(before2.every(pidAlive), "the other host was disturbed");
          assertEquals(count(c, "ready", h2), 2);
          assertEquals(pidsOn(h1).length, 4);
          console.log(`instances gone ${goneMs} ms after their ssh client was killed`);
          await launcher.stop();
          assert((await run).ok, c.dump());
        } finally {
          await launcher.stop();
          await run?.catch(() => {});
          await assertNoneLeft(mark, 10_000);
        }
      },
    );
  },
});
