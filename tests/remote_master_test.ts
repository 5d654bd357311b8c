// Zero install, and what happens to remote instances when the master dies.
import assert from "node:assert/strict";
import {
  assertNoneLeft,
  controlDirsOf,
  fixture,
  group,
  marker,
  masterProcess,
  pidAlive,
  pidsWithMarker,
  remoteRun,
  waitFor,
} from "./_helpers.ts";
import { descendantsOf, sshdUnavailable, startSshd } from "./_sshd.ts";

const ignore = sshdUnavailable() !== undefined;
const LEASE = 3;
/** Slack on time bounds, for a loaded machine. */
const MARGIN = 7000;

Deno.test({
  name: "remote: a host with no Deno and an empty home runs the workers (zero install)",
  ignore,
  sanitizeResources: false,
  async fn() {
    await using sshd = await startSshd({ hosts: 1, seedCache: false });
    assert.deepEqual([...Deno.readDirSync(sshd.home)], [], "the home starts empty");
    const mark = marker();
    await using run = remoteRun([
      group("Z", "w_echo_context.ts", mark, {
        params: { n: 1 },
        processes: [sshd.remoteConfig({ instances: 2 })],
      }),
    ], { sshLease: LEASE });
    const { summary, log: c } = await run.done();
    assert.ok(summary.ok, c.dump());
    assert.deepEqual(summary.instances.map((i) => [i.state, i.lastReason]), [
      ["ended", "ended"],
      ["ended", "ended"],
    ]);
    const ctx = c.records.filter((r) => r.message === "context").map((r) => r.context?.params);
    assert.deepEqual(ctx, [{ n: 1 }, { n: 1 }]);
    const uploads = c.find(/^uploaded /).map((r) => r.message).join("\n");
    assert.ok(/\bdeno \(\d+\.\d MB\)/.test(uploads), `the runtime was not uploaded:\n${uploads}`);
    console.log(uploads);
    // the runtime is in the content-addressed cache, executable, owned by the user
    const cache = `${sshd.home}/.cache/distarch`;
    const runtimes = [...Deno.readDirSync(cache)].map((e) => `${cache}/${e.name}/deno`)
      .filter((p) => exists(p));
    assert.deepEqual(runtimes.length, 1);
    const st = Deno.statSync(runtimes[0]!);
    assert.deepEqual([st.uid, (st.mode ?? 0) & 0o777], [Deno.statSync(sshd.home).uid, 0o755]);
    await assertNoneLeft(mark, 10_000);
  },
});

Deno.test({
  name: "remote: SIGKILL of the master leaves no instance on any host within the lease",
  ignore,
  sanitizeResources: false,
  async fn() {
    await using sshd = await startSshd({ hosts: 2 });
    const mark = marker();
    const groups = [
      group("M", "w_ignore_term.ts", mark, {
        processes: [{ type: "local", instances: 1 }, sshd.remoteConfig({ instances: 2 })],
      }),
    ];
    await using master = masterProcess(fixture("r_master.ts"), [], {
      stdin: JSON.stringify({
        groups,
        options: { gracePeriod: 1, sshLease: LEASE, adoptWindow: 0 },
      }),
      marks: [mark],
    });
    await waitFor(() => pidsWithMarker(mark).length === 5, 60_000, "5 instances running");
    // the local instance is the launcher's own business: only remote ones are checked
    const underSshd = new Set(descendantsOf(sshd.pid));
    const remote = pidsWithMarker(mark).filter((p) => underSshd.has(p));
    assert.deepEqual(remote.length, 4);
    // a master killed with SIGKILL cannot remove its ControlMaster sockets: we do
    master.remove.push(...controlDirsOf(master.child.pid));
    assert.deepEqual(master.remove.length, 1);
    const t0 = Date.now();
    master.child.kill("SIGKILL");
    // lease (the agent's watchdog) + grace (TERM → KILL) + slack for a loaded machine
    await waitFor(
      () => remote.every((p) => !pidAlive(p)),
      (LEASE + 1) * 1000 + 3 * MARGIN,
      "no remote instance left",
    );
    const goneMs = Date.now() - t0;
    assert.ok(
      goneMs <= (LEASE + 1) * 1000 + MARGIN,
      `remote instances gone ${goneMs} ms after SIGKILL of the master: ` +
        `over lease + grace (${LEASE + 1} s) + ${MARGIN} ms`,
    );
    assert.deepEqual((await master.exit()).signal, "SIGKILL");
    // the local instance, a child of the master, ignores SIGTERM: it is the fixture's to kill
  },
});

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
