// A host whose cache (~/.cache/distarch) cannot be written: fatal at once,
// naming the host and the path, instead of retries that cannot help.
import assert from "node:assert/strict";
import { assertNoneLeft, group, marker, remoteRun } from "./_helpers.ts";
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
    // (the sshd fixture removes the home as root, whatever its modes)
    await Deno.chown(cache, 0, 0);
    await Deno.chmod(cache, 0o555);
    const mark = marker();
    const t0 = Date.now();
    await using run = remoteRun([
      group("G", "w_echo_context.ts", mark, {
        processes: [sshd.remoteConfig({ instances: 1 })],
      }),
    ]);
    const { summary, log: c } = await run.done();
    const took = Date.now() - t0;
    assert.deepEqual(summary.instances.map((i) => [i.host, i.state, i.lastReason]), [
      [host, "failed", "start-failed"],
    ]);
    const errors = c.records.filter((r) => r.level === "error");
    const failed = errors.find((r) => r.message.startsWith("could not be started"));
    assert.ok(failed !== undefined, c.dump());
    assert.equal(failed.host, host);
    assert.ok(failed.message.includes(`${cache} is not writable`), failed.message);
    assert.match(failed.message, /Permission denied/);
    assert.ok(
      errors.some((r) => r.message === "given up: this cannot work by retrying"),
      c.dump(),
    );
    assert.equal(c.find("could not be started").length, 1, c.dump());
    assert.ok(took < 15_000, `took ${took} ms`);
    await assertNoneLeft(mark, 10_000);
  },
});
