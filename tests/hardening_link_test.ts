// A frozen or half-dead SSH link is detected: a SIGSTOPped agent makes its
// instances `lost` within about the lease (not stuck in `stopping`), and they
// run again on a new agent; a killed ssh client is noticed at once, not after
// the lease.
import assert from "node:assert/strict";
import { Launcher, type RunSummary } from "../master/launcher.ts";
import {
  assertNoneLeft,
  type Collector,
  collector,
  group,
  killMarked,
  marker,
  procCmdline,
  waitFor,
} from "./_helpers.ts";
import { descendantsOf, type SshdFixture, sshdUnavailable, startSshd } from "./_sshd.ts";

const ignore = sshdUnavailable() !== undefined;

function count(c: Collector, message: string | RegExp): number {
  return c.find(message).filter((r) => typeof message !== "string" || r.message === message)
    .length;
}

/** The pids of the agents running under `sshd` (`deno run … agent.js --lease=…`). */
function agentPids(sshd: SshdFixture): number[] {
  return descendantsOf(sshd.pid).filter((pid) =>
    (procCmdline(pid) ?? []).some((a) => a.startsWith("--lease="))
  );
}

/**
 * Runs `body` against a launcher running 2 instances of `command` (default
 * `w_sleep.ts`, sleeping) on one host; cleans everything up.
 */
async function withTwo(
  sshd: SshdFixture,
  options: { lease: number; grace?: number; command?: string; timeout?: number },
  body: (launcher: Launcher, c: Collector, run: Promise<RunSummary>) => Promise<void>,
): Promise<void> {
  const { lease, grace = 1, command = "w_sleep.ts", timeout = 0 } = options;
  const mark = marker();
  const c = collector();
  const launcher = new Launcher({
    sshLease: lease,
    adoptWindow: 0, // what happens without a window: the instances are lost at once
    logger: c,
    handleSignals: false,
    gracePeriod: grace,
    backoffInitial: 0.2,
  });
  const run = launcher.run([
    group("F", command, mark, {
      params: { sleep: 120 },
      timeout,
      processes: [sshd.remoteConfig({ instances: 2 })],
    }),
  ]);
  try {
    await waitFor(() => count(c, "ready") === 2, 30_000, "2 remote instances ready");
    await body(launcher, c, run);
  } finally {
    await Promise.race([launcher.stop(), new Promise((r) => setTimeout(r, 20_000))]);
    await run.catch(() => {});
    await assertNoneLeft(mark, 15_000).finally(() => killMarked(mark));
  }
}

/** Rejects when `p` has not settled within `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done after ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** SIGSTOPs the (single) agent, runs `body` (for 60 s at most), and always SIGCONTs it. */
async function frozen(sshd: SshdFixture, body: (t0: number) => Promise<void>): Promise<void> {
  const agents = agentPids(sshd);
  assert.equal(agents.length, 1, `one agent: ${agents}`);
  const agent = agents[0]!;
  Deno.kill(agent, "SIGSTOP");
  try {
    await within(body(Date.now()), 60_000, "with a frozen agent");
  } finally {
    try {
      Deno.kill(agent, "SIGCONT"); // it then finds its stdin closed and stops its instances
    } catch { /* gone */ }
  }
}

Deno.test({
  name: "remote: a frozen agent's instances are lost within the lease, then run again",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await using sshd = await startSshd({ hosts: 1 });
    const lease = 2;

    await t.step(
      "they are lost, not stuck in stopping, and start again on a new agent",
      () =>
        withTwo(sshd, { lease }, async (launcher, c) => {
          await frozen(sshd, async (t0) => {
            await waitFor(() => count(c, /^lost: /) === 2, lease * 1000 + 8000, "2 lost records")
              .catch((error) => {
                const states = launcher.list().map((i) => i.state);
                throw new Error(`${error.message}; states ${states}\n${c.dump()}`, {
                  cause: error,
                });
              });
            const ms = Date.now() - t0;
            console.log(`frozen agent: instances lost ${ms} ms after SIGSTOP (lease ${lease} s)`);
            assert.ok(launcher.list().every((i) => i.state !== "stopping"), c.dump());
            await waitFor(() => count(c, "ready") === 4, 30_000, "2 instances ready again");
            assert.equal(agentPids(sshd).length, 2, "a new agent beside the frozen one");
          });
        }),
    );

    await t.step("hung instances being killed through the frozen agent leave stopping", () =>
      // the silence timeout (2 s) comes first: SIGTERM and SIGKILL go to the frozen agent
      withTwo(sshd, { lease: 5, timeout: 2 }, async (launcher, c) => {
        await frozen(sshd, async (t0) => {
          await waitFor(() => count(c, /^hung: /) >= 2, 10_000, "2 hung records");
          await waitFor(
            () =>
              count(c, /^started /) >= 4 && launcher.list().every((i) => i.state !== "stopping"),
            5000 + 8000,
            "both started again",
          ).catch((error) => {
            const states = launcher.list().map((i) => i.state);
            throw new Error(`${error.message}; states ${states}\n${c.dump()}`, { cause: error });
          });
          const ms = Date.now() - t0;
          console.log(
            `frozen agent: hung instances started again ${ms} ms after SIGSTOP (lease 5 s)`,
          );
        });
      }));

    await t.step(
      "stop() does not wait on the frozen agent longer than the lease",
      () =>
        withTwo(sshd, { lease }, async (launcher, c, run) => {
          await frozen(sshd, async (t0) => {
            const summary = await within(launcher.stop().then(() => run), 20_000, "stop()")
              .catch((error) => {
                const states = launcher.list().map((i) => i.state);
                throw new Error(`${error.message}; states ${states}\n${c.dump()}`, {
                  cause: error,
                });
              });
            const ms = Date.now() - t0;
            console.log(`frozen agent: stop() took ${ms} ms (lease ${lease} s, grace 1 s)`);
            assert.ok(ms < lease * 1000 + 8000, `stop() took ${ms} ms\n${c.dump()}`);
            assert.deepEqual(summary.instances.map((i) => i.state), ["stopped", "stopped"]);
          });
        }),
    );
  },
});

Deno.test({
  name: "remote: a killed ssh session client is noticed at once, not after the lease",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using sshd = await startSshd({ hosts: 1 });
    const lease = 8;
    await withTwo(sshd, { lease }, async (_launcher, c) => {
      const clients = descendantsOf(Deno.pid).filter((pid) => {
        const argv = procCmdline(pid) ?? [];
        return /(^|\/)ssh$/.test(argv[0] ?? "") && argv.some((a) => a.includes("--lease=")) &&
          argv.some((a) => a.includes(sshd.knownHostsFile)); // other test files run in this process
      });
      assert.equal(clients.length, 1, "one agent session");
      // a half-dead link: while its agent cannot answer, the session's channel stays open and
      // the ControlMaster keeps its copies of the session's pipes
      await frozen(sshd, async () => {
        const t0 = Date.now();
        Deno.kill(clients[0]!, "SIGKILL");
        await waitFor(() => count(c, /^lost: /) === 2, lease * 1000 + 5000, "2 lost records");
        const ms = Date.now() - t0;
        console.log(`killed ssh client: instances lost ${ms} ms after (lease ${lease} s)`);
        assert.ok(ms < 3000, `noticed after ${ms} ms (lease ${lease} s)\n${c.dump()}`);
        await waitFor(() => count(c, "ready") === 4, 30_000, "2 instances ready again");
      });
    });
  },
});

Deno.test({
  name:
    "remote: instances the agent stopped because its lease ran out are lost and run again, never ended",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using sshd = await startSshd({ hosts: 1 });
    const lease = 2;
    await withTwo(sshd, { lease }, async (launcher, c) => {
      // the master's event loop blocked (as by a blocking log sink): no heartbeat goes out, the
      // agent's lease runs out, it stops the workers, which end cleanly (exit 0) on SIGTERM
      const end = Date.now() + lease * 1000 + 3000;
      while (Date.now() < end) { /* blocked */ }
      await waitFor(() => count(c, /^lost: /) === 2, 10_000, "2 lost records").catch((error) => {
        throw new Error(`${error.message}\n${c.dump()}`, { cause: error });
      });
      assert.equal(count(c, /^ended /), 0, c.dump());
      await waitFor(() => count(c, "ready") === 4, 30_000, "2 instances ready again");
      assert.ok(launcher.list().every((i) => i.state === "running"), c.dump());
    });
  },
});
