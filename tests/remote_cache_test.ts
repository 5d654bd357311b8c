// A host whose cache (~/.cache/distarch) cannot be written: fatal at once,
// naming the host and the path, instead of retries that cannot help.
import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Launcher } from "../master/launcher.ts";
import { assertNoneLeft, collector, group, marker } from "./_helpers.ts";
import { sshdUnavailable, startSshd } from "./_sshd.ts";

const ignore = sshdUnavailable() !== undefined;

Deno.test({
  name: "remote: a read-only host cache is fatal at once, with the host and the path",
  ignore,
  sanitizeResources: false,
  async fn() {
    await using sshd = await startSshd({ hosts: 1 });
    const host = sshd.hosts[0] as string;
    const cache = `${sshd.home}/.cache/distarch`;
    // the runtime is seeded there; the agent cannot be added: root's, r-x for the user
    await Deno.chown(cache, 0, 0);
    await Deno.chmod(cache, 0o555);
    const mark = marker();
    const c = collector();
    const launcher = new Launcher({ sshLease: 3, logger: c, handleSignals: false, gracePeriod: 1 });
    const t0 = Date.now();
    try {
      const summary = await launcher.run([
        group("G", "w_echo_context.ts", mark, {
          processes: [sshd.remoteConfig({ instances: 1 })],
        }),
      ]);
      const took = Date.now() - t0;
      assertEquals(summary.instances.map((i) => `${i.host} ${i.state}`), [`${host} failed`]);
      const errors = c.records.filter((r) => r.level === "error");
      const failed = errors.find((r) => r.message.startsWith("could not be started"));
      assert(failed !== undefined, c.dump());
      assertEquals(failed.host, host);
      assert(failed.message.includes(`${cache} is not writable`), failed.message);
      assert(/Permission denied/.test(failed.message), failed.message);
      assert(errors.some((r) => r.message === "given up: this cannot work by retrying"), c.dump());
      assertEquals(c.find("could not be started").length, 1, c.dump());
      assert(took < 15_000, `took ${took} ms`);
    } finally {
      await launcher.stop();
      await Deno.chmod(cache, 0o755);
      await assertNoneLeft(mark);
    }
  },
});
