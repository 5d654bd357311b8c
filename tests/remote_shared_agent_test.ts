// One host agent per (master, host): every group whose remote process configs reach a host the
// same way shares one SSH session and one agent there; a group reaching it differently (another
// username, other sshOptions…) gets its own.
import assert from "node:assert/strict";
import type { GroupConfig, RemoteProcessConfig } from "../master/types.ts";
import {
  assertNoneLeft,
  type Collector,
  group,
  marker,
  procCmdline,
  remoteRun,
  waitFor,
} from "./_helpers.ts";
import { descendantsOf, type SshdFixture, sshdUnavailable, startSshd } from "./_sshd.ts";

const ignore = sshdUnavailable() !== undefined;

/** The agents running under `sshd`: its cached runtime, started with `--lease=`. */
function agents(sshd: SshdFixture): number[] {
  return descendantsOf(sshd.pid).filter((pid) => {
    const argv = procCmdline(pid) ?? [];
    return argv[0]?.startsWith(sshd.home) === true && argv.some((a) => a.startsWith("--lease="));
  });
}

/**
 * This process's ssh clients of agent sessions to `sshd` (not its ControlMasters, not probes):
 * other test files' ssh clients are descendants of this process too.
 */
function sessionClients(sshd: SshdFixture): number[] {
  return descendantsOf(Deno.pid).filter((pid) => {
    const argv = procCmdline(pid) ?? [];
    return /(^|\/)ssh$/.test(argv[0] ?? "") && argv.some((a) => a.includes(sshd.knownHostsFile)) &&
      argv.some((a) => a.includes("--lease="));
  });
}

/** Where instances said they run (`tick n`, `serving`) from, as `group@host`, sorted. */
function ticking(c: Collector): string[] {
  const seen = new Set<string>();
  for (const r of c.records) {
    if (!/^(tick \d+|serving)$/.test(r.message) || r.instance === undefined) continue;
    seen.add(`${r.group ?? "?"}@${r.host ?? "?"}`);
  }
  return [...seen].sort();
}

function twoGroups(mark: string, a: RemoteProcessConfig, b: RemoteProcessConfig): GroupConfig[] {
  return [
    group("A", "w_count.ts", mark, { timeout: 0, processes: [a] }),
    // another script: shipped to the host through the session A's instances opened, or the other
    // way round
    group("B", "w_ready.ts", mark, { timeout: 0, processes: [b] }),
  ];
}

Deno.test({
  name:
    "remote: two groups on the same two hosts share one agent and one ssh session per host; a reload that removes one keeps them",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using sshd = await startSshd({ hosts: 2 });
    const [h1, h2] = sshd.hosts as [string, string];
    const mark = marker();
    // the same reach, written in another order: the sessions are still shared
    const sshOptions = { ServerAliveCountMax: "3", ...sshd.sshOptions };
    const groups = twoGroups(
      mark,
      sshd.remoteConfig({ sshOptions }),
      sshd.remoteConfig({ sshOptions: { ...sshd.sshOptions, ServerAliveCountMax: "3" } }),
    );
    await using run = remoteRun(groups, { sshLease: 5 });
    const { launcher, log } = run;
    const all = [`A@${h1}`, `A@${h2}`, `B@${h1}`, `B@${h2}`];
    await waitFor(() => ticking(log).length === 4, 60_000, "4 instances ticking")
      .catch((error) => {
        throw new Error(`${error.message}\n${log.dump()}`, { cause: error });
      });
    assert.deepEqual(ticking(log), all);
    const shared = agents(sshd);
    assert.equal(shared.length, 2, "one agent per host");
    assert.equal(sessionClients(sshd).length, 2, "one ssh session per host");
    const running = launcher.list();
    assert.deepEqual(running.map((i) => [i.group, i.host, i.state]), [
      ["A", h1, "running"],
      ["A", h2, "running"],
      ["B", h1, "running"],
      ["B", h2, "running"],
    ]);

    // group A leaves; B still needs both sessions: the same agents keep B's same instances
    const report = await launcher.apply(groups.slice(1));
    assert.deepEqual(report.groups.map((g) => [g.group, g.kind]), [["B", "unchanged"], [
      "A",
      "removed",
    ]]);
    assert.deepEqual(
      launcher.list().map((i) => [i.group, i.host, i.state, i.pid]),
      running.filter((i) => i.group === "B").map((i) => [i.group, i.host, i.state, i.pid]),
    );
    assert.deepEqual(agents(sshd).sort(), [...shared].sort(), "the agents are the same");
    assert.equal(sessionClients(sshd).length, 2);

    const { summary } = await run.stop();
    assert.deepEqual([summary.ok, summary.reason], [true, "stopped"], log.dump());
    assert.equal(log.find(/^stopped \(/).length, 4, log.dump());
    await assertNoneLeft(mark, 10_000);
    await waitFor(() => agents(sshd).length === 0, 10_000, "the agents gone");
    await waitFor(() => sessionClients(sshd).length === 0, 10_000, "the ssh clients gone");
  },
});

Deno.test({
  name: "remote: groups reaching a host differently (sshOptions, username) get an agent each",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using sshd = await startSshd({ hosts: 2 });
    const { username: _, ...anyUser } = sshd.remoteConfig();
    const cases: [string, RemoteProcessConfig][] = [
      [
        "sshOptions",
        sshd.remoteConfig({ sshOptions: { ...sshd.sshOptions, ConnectionAttempts: "1" } }),
      ],
      // the same login, said through sshOptions rather than `username`
      ["username", { ...anyUser, sshOptions: { ...sshd.sshOptions, User: sshd.user } }],
    ];
    for (const [what, other] of cases) {
      const mark = marker();
      const groups = twoGroups(mark, sshd.remoteConfig(), other);
      await using run = remoteRun(groups, { sshLease: 5 });
      const { log } = run;
      await waitFor(() => ticking(log).length === 4, 60_000, `4 ticking (${what})`)
        .catch((error) => {
          throw new Error(`${error.message}\n${log.dump()}`, { cause: error });
        });
      assert.equal(agents(sshd).length, 4, `an agent per group and host (${what})`);
      assert.equal(sessionClients(sshd).length, 4, `a session per group and host (${what})`);
      const { summary } = await run.stop();
      assert.deepEqual([summary.ok, summary.reason], [true, "stopped"], log.dump());
      assert.equal(log.find(/^stopped \(/).length, 4, log.dump());
      await assertNoneLeft(mark, 10_000);
      await waitFor(() => agents(sshd).length === 0, 10_000, `the agents gone (${what})`);
    }
  },
});
