// Zero install, and what happens to remote instances when the master dies.
import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Launcher } from "../master/launcher.ts";
import {
  assertNoneLeft,
  collector,
  controlDirsOf,
  fixture,
  group,
  killMarked,
  marker,
  pidAlive,
  pidsWithMarker,
  removeAll,
  waitFor,
} from "./_helpers.ts";
import { descendantsOf, sshdUnavailable, startSshd } from "./_sshd.ts";

const ignore = sshdUnavailable() !== undefined;
const LEASE = 3;

Deno.test({
  name: "remote: a host with no Deno and an empty home runs the workers (zero install)",
  ignore,
  sanitizeResources: false,
  async fn() {
    await using sshd = await startSshd({ hosts: 1, seedCache: false });
    assertEquals([...Deno.readDirSync(sshd.home)], [], "the home starts empty");
    const mark = marker();
    const c = collector();
    const launcher = new Launcher({
      sshLease: LEASE,
      logger: c,
      handleSignals: false,
      gracePeriod: 1,
    });
    try {
      const summary = await launcher.run([
        group("Z", "w_echo_context.ts", mark, {
          params: { n: 1 },
          processes: [sshd.remoteConfig({ instances: 2 })],
        }),
      ]);
      assert(summary.ok, c.dump());
      const ctx = c.records.filter((r) => r.message === "context").map((r) => r.context?.params);
      assertEquals(ctx, [{ n: 1 }, { n: 1 }]);
      const uploads = c.find(/^uploaded /).map((r) => r.message).join("\n");
      assert(/\bdeno \(\d+\.\d MB\)/.test(uploads), `the runtime was not uploaded:\n${uploads}`);
      console.log(uploads);
      // the runtime is in the content-addressed cache, executable, owned by the user
      const cache = `${sshd.home}/.cache/distarch`;
      const runtimes = [...Deno.readDirSync(cache)].map((e) => `${cache}/${e.name}/deno`)
        .filter((p) => exists(p));
      assertEquals(runtimes.length, 1);
      const st = Deno.statSync(runtimes[0]!);
      assertEquals([st.uid, (st.mode ?? 0) & 0o777], [Deno.statSync(sshd.home).uid, 0o755]);
    } finally {
      await launcher.stop();
      await assertNoneLeft(mark, 10_000);
    }
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
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", fixture("r_master.ts")],

      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const out = child.output();
    let controlDirs: string[] = [];
    try {
      const w = child.stdin.getWriter();
      await w.write(
        new TextEncoder().encode(
          JSON.stringify({ groups, options: { gracePeriod: 1, sshLease: LEASE } }),
        ),
      );
      await w.close();
      await waitFor(() => pidsWithMarker(mark).length === 5, 60_000, "5 instances running");
      // the local instance is the launcher's own business: only remote ones are checked
      const underSshd = new Set(descendantsOf(sshd.pid));
      const remote = pidsWithMarker(mark).filter((p) => underSshd.has(p));
      assertEquals(remote.length, 4);
      controlDirs = controlDirsOf(child.pid); // it cannot remove them once killed
      assertEquals(controlDirs.length, 1);
      const t0 = Date.now();
      child.kill("SIGKILL");
      // lease (the agent's watchdog) + grace (TERM → KILL) + slack for a loaded machine
      await waitFor(
        () => remote.every((p) => !pidAlive(p)),
        (LEASE + 1) * 1000 + 10_000,
        "no remote instance left",
      );
      console.log(`remote instances gone ${Date.now() - t0} ms after SIGKILL of the master`);
    } finally {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      await out;
      await removeAll(controlDirs);
      killMarked(mark);
      await assertNoneLeft(mark);
    }
  },
});

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
