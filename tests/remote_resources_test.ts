// Remote instances' CPU and memory, measured by their host's agent and sent to
// the master: they reach the CLI's launcher, the dashboard's API and /metrics.
import assert from "node:assert/strict";
import { MeasuredLauncher } from "../cli/commands/dashboard.ts";
import type { InstanceInfo, LauncherEvent } from "../master/events.ts";
import { serveDashboard } from "../master/http/dashboard.ts";
import { LogFeed } from "../master/http/log_feed.ts";
import { assertNoneLeft, collector, group, killMarked, marker, waitFor } from "./_helpers.ts";
import { sshdUnavailable, startSshd } from "./_sshd.ts";

const ignore = sshdUnavailable() !== undefined;

function byGroup(infos: readonly InstanceInfo[], name: string): InstanceInfo {
  const i = infos.find((i) => i.group === name);
  assert.ok(i !== undefined, `no instance of ${name}`);
  return i;
}

Deno.test({
  name:
    "remote: instances appear with their host's CPU and memory in list(), /api/instances and /metrics",
  ignore,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using sshd = await startSshd({ hosts: 1 });
    const [host] = sshd.hosts as [string];
    const mark = marker();
    const logs = collector();
    const feed = new LogFeed();
    const seen: LauncherEvent[] = [];
    const launcher = new MeasuredLauncher({
      logger: feed.wrap(logs),
      handleSignals: false,
      gracePeriod: 1,
      sshLease: 3,
      timeout: 0,
      events: { instanceResources: (e) => seen.push(e) },
    });
    await using dashboard = serveDashboard(launcher, {
      listen: "127.0.0.1:0",
      feed,
      sampler: launcher.sampler,
    });
    const done = launcher.run([
      group("Busy", "w_burn.ts", mark, { processes: [sshd.remoteConfig()] }),
      group("Idle", "w_sleep.ts", mark, {
        params: { sleep: 60 },
        processes: [sshd.remoteConfig()],
      }),
    ]);
    try {
      // the host is not "localhost": only the agent's samples can measure them
      await waitFor(
        () => {
          const all = launcher.list();
          return all.length === 2 && all.every((i) => i.state === "running" && (i.rss ?? 0) > 0);
        },
        30_000,
        `both remote instances measured\n${logs.dump()}`,
      );
      const first = launcher.list();
      for (const i of first) {
        assert.equal(i.host, host);
        assert.ok(i.cpuSeconds !== undefined, "cpuSeconds");
      }
      const busy0 = byGroup(first, "Busy").cpuSeconds!;
      await waitFor(
        () => byGroup(launcher.list(), "Busy").cpuSeconds! > busy0 + 1,
        15_000,
        "the busy one's CPU seconds grow",
      );
      await waitFor(() => (byGroup(launcher.list(), "Busy").cpu ?? 0) > 30, 10_000, "busy CPU %");
      const idle = byGroup(launcher.list(), "Idle");
      assert.ok(idle.cpuSeconds! < 1, `the idle one stays low: ${idle.cpuSeconds}`);
      assert.ok((idle.cpu ?? 0) < 20, `idle CPU % ${idle.cpu}`);

      // the hook given to the launcher saw the samples, with each instance's id and remote pid
      const pids = new Map(launcher.list().map((i) => [i.id, i.pid]));
      const samples = seen.filter((e) => e.kind === "instanceResources");
      for (const e of samples) assert.equal(e.pid, pids.get(e.id));
      // each group has its own SSH session, so its own agent: 2 samples of Busy at least, 1 of Idle
      const count = (name: string) =>
        samples.filter((e) => e.id === byGroup(launcher.list(), name).id).length;
      assert.ok(count("Busy") >= 2 && count("Idle") >= 1, `samples: ${samples.length}`);

      const get = (path: string) =>
        fetch(new URL(path, dashboard.url), {
          headers: { authorization: `Bearer ${dashboard.token}` },
        });
      const api = (await (await get("/api/instances")).json()) as InstanceInfo[];
      assert.equal(api.length, 2);
      for (const i of api) assert.ok((i.rss ?? 0) > 0 && i.cpuSeconds !== undefined, i.label);
      assert.ok(byGroup(api, "Busy").cpuSeconds! > busy0 + 1);
      const metrics = await (await get("/metrics")).text();
      for (const name of ["Busy", "Idle"]) {
        const rss = new RegExp(
          `^distarch_instance_resident_memory_bytes\\{[^}]*group="${name}"[^}]*\\} (\\d+)`,
          "m",
        ).exec(metrics);
        assert.ok(rss !== null && Number(rss[1]) > 0, `${name} rss in /metrics\n${metrics}`);
      }
    } finally {
      await launcher.stop();
      await done;
      launcher.sampler[Symbol.dispose]();
      killMarked(mark);
    }
    await assertNoneLeft(mark, 5000);
  },
});
