import assert from "node:assert/strict";
import type { InstanceInfo } from "../master/events.ts";
import { ResourceSampler } from "../master/resources.ts";
import { pidAlive, procStat, sleep, waitFor } from "./_helpers.ts";

function info(id: number, pid: number, extra: Partial<InstanceInfo> = {}): InstanceInfo {
  return {
    id,
    groupId: id,
    groupCount: 2,
    group: "g",
    host: "localhost",
    label: `w/${id}/${id}`,
    state: "running",
    pid,
    restarts: 0,
    runs: 1,
    ready: true,
    ...extra,
  };
}

/** A process group whose leader sleeps while a child of it burns CPU. */
function burningGroup(): Deno.ChildProcess & AsyncDisposable {
  const child = new Deno.Command("setsid", {
    args: ["sh", "-c", "sh -c 'while :; do :; done' & exec sleep 60"],
    stdin: "null",
    stdout: "null",
  }).spawn();
  return Object.assign(child, {
    async [Symbol.asyncDispose]() {
      try {
        Deno.kill(-child.pid, "SIGKILL");
      } catch { /* gone */ }
      await child.status;
    },
  });
}

Deno.test("ResourceSampler counts the whole process group: a burning child shows on its leader", async () => {
  await using leader = burningGroup();
  await waitFor(() => pidAlive(leader.pid), 5000, "the group");
  await sleep(200);
  const sampler = new ResourceSampler(() => [info(1, leader.pid)]);
  sampler.sample();
  assert.equal(sampler.get(1)!.cpu, undefined, "no CPU % before a second sample");
  await sleep(1000);
  sampler.sample();
  const s = sampler.get(1)!;
  // the leader itself sleeps: what it shows is its child's (bounds low for a loaded machine)
  const own = procStat(leader.pid);
  const leaderSeconds = (Number(own[11]) + Number(own[12])) / 100;
  assert(leaderSeconds < 0.05, `the leader used ${leaderSeconds} s`);
  assert(s.cpu! > 10, `cpu ${s.cpu}`);
  assert(s.cpuSeconds > 0.1, `cpuSeconds ${s.cpuSeconds}`);
  assert(s.rss > 100 * 1024, `rss ${s.rss}`);
  const [d] = sampler.decorate([info(1, leader.pid)]);
  assert.equal(d!.cpu, s.cpu);
  assert.equal(d!.rss, s.rss);
});

Deno.test("ResourceSampler forgets an instance that stopped, and ignores a sample of a previous run", async () => {
  await using leader = burningGroup();
  let list = [info(1, leader.pid)];
  const sampler = new ResourceSampler(() => list);
  sampler.sample();
  assert(sampler.get(1) !== undefined);
  assert.equal(sampler.decorate([info(1, leader.pid + 1)])[0]!.rss, undefined, "another run");
  assert.equal(sampler.decorate([info(1, leader.pid, { state: "stopped" })])[0]!.rss, undefined);
  list = [info(1, leader.pid, { state: "suspended" })];
  sampler.sample();
  assert.equal(sampler.get(1), undefined);
});

Deno.test("ResourceSampler takes samples measured elsewhere (a remote agent) and derives CPU %", () => {
  const remote = info(5, 4242, { host: "web-1" });
  const sampler = new ResourceSampler(() => [remote]);
  sampler.sample(); // web-1 is not read from this machine's /proc
  assert.equal(sampler.get(5), undefined);
  sampler.report(5, 4242, { cpuSeconds: 10, rss: 1000, time: 1_000_000 });
  sampler.report(5, 4242, { cpuSeconds: 11, rss: 2000, time: 1_002_000 });
  assert.deepEqual(sampler.get(5), { cpuSeconds: 11, rss: 2000, time: 1_002_000, cpu: 50 });
  sampler.report(5, 4243, { cpuSeconds: 0.5, rss: 3000, time: 1_004_000 });
  assert.equal(sampler.get(5)!.cpu, undefined, "a new run starts over");
});

Deno.test("ResourceSampler never reads a reported run from /proc, even on a host called localhost", async () => {
  await using leader = burningGroup();
  const sampler = new ResourceSampler(() => [info(1, leader.pid)]);
  sampler.report(1, leader.pid, { cpuSeconds: 0, rss: 1, time: 1_000 });
  sampler.sample();
  assert.deepEqual(sampler.get(1), { cpuSeconds: 0, rss: 1, time: 1_000 }, "the agent's sample");
  sampler.report(1, leader.pid + 1, { cpuSeconds: 0, rss: 1, time: 2_000 }); // another run
  // read from /proc (polled: a group spawned a moment ago may not have resident pages yet)
  await waitFor(() => {
    sampler.sample();
    return sampler.get(1)!.rss > 1;
  }, 5000, "this run, not reported, to be read from /proc");
});

Deno.test("ResourceSampler.start() samples periodically and stops on dispose", async () => {
  await using leader = burningGroup();
  let calls = 0;
  {
    using _sampler = new ResourceSampler(() => {
      calls++;
      return [info(1, leader.pid)];
    }, { interval: 0.1 }).start();
    await sleep(450);
  }
  const seen = calls;
  assert(seen >= 3, `calls ${seen}`);
  await sleep(300);
  assert.equal(calls, seen);
  assert.throws(() => new ResourceSampler(() => [], { interval: 0 }), RangeError);
});
