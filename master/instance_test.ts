import assert from "node:assert/strict";
import type { SupervisorSettings } from "./_settings.ts";
import { fakeInstances } from "./_testing.ts";

function instance(settings: Partial<SupervisorSettings> = {}) {
  const { instances, transport, logs } = fakeInstances(1, { settings });
  return { inst: instances[0]!, transport, logs };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("Instance.whenAlive() resolves once the running instance has printed", async () => {
  const { inst, transport } = instance();
  inst.start();
  let alive = false;
  const waiting = inst.whenAlive().then(() => alive = true);
  await tick();
  assert.equal(inst.state, "running");
  assert.equal(alive, false, "running but silent is not alive");
  transport.runs[0]!.print("hello\n");
  await waiting;
  assert.equal(inst.alive, true);
  await inst.whenAlive(); // at once now
  await inst.stop("stopped");
});

Deno.test("Instance.whenAlive() waits through a restart, and rejects once the instance is done", async () => {
  const { inst, transport } = instance({ maxRestarts: 1 });
  inst.start();
  const waiting = inst.whenAlive();
  await tick();
  transport.runs[0]!.exit(1); // crash: restarted (backoff 0)
  await tick();
  await tick();
  assert.equal(transport.runs.length, 2, "started again");
  transport.runs[1]!.exit(1); // given up
  await assert.rejects(waiting, /is done \(state failed\) and not alive/);
  assert.equal(inst.state, "failed");
  await assert.rejects(inst.whenAlive(), /state failed/, "done already: at once");
});

Deno.test("Instance.whenAlive() rejects with the signal's reason when it aborts first", async () => {
  const { inst } = instance();
  inst.start();
  const abort = new AbortController();
  const waiting = inst.whenAlive(abort.signal);
  abort.abort(new Error("too late"));
  await assert.rejects(waiting, /too late/);
  await inst.stop("stopped");
});

Deno.test("Instance.stop() while its transport's start() has resolved but not been seen yet kills the new run", async () => {
  const { inst, transport } = instance({ graceMs: 0 });
  inst.start(); // the fake transport's start() resolves at once; the instance sees it a tick later
  assert.equal(inst.state, "starting");
  let stopped = false;
  const stopping = inst.stop("stopped").then(() => stopped = true);
  for (let i = 0; i < 5 && !stopped; i++) await tick();
  assert.equal(stopped, true, "stop() must not wait for the run to end by itself");
  await stopping;
  assert.equal(transport.runs.length, 1);
  assert.equal(inst.state, "stopped");
  assert.equal(inst.info().lastReason, "stopped");
});
