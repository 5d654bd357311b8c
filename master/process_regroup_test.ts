import assert from "node:assert/strict";
import { fakeInstances } from "./_testing.ts";

const tick = () => new Promise((r) => setTimeout(r, 0));
const line = (n: number) => `{"v":1,"t":"groupCount","groupCount":${n}}\n`;

Deno.test("Instance.regroup() tells a running instance once per change, and later runs start with it", async () => {
  const { instances, transport } = fakeInstances(1, { settings: { maxRestarts: 3 } });
  const inst = instances[0]!;
  inst.start();
  await tick();
  assert.equal(inst.state, "running");
  inst.regroup(4);
  inst.regroup(4); // no change: nothing sent
  inst.regroup(2);
  assert.deepEqual(transport.runs[0]!.sent, [line(4), line(2)]);
  assert.equal(inst.info().groupCount, 2);
  assert.equal(inst.spec.context.groupCount, 2);
  assert.equal(inst.spec.env.DISTARCH_GROUP_COUNT, "2");
  transport.runs[0]!.exit(1); // crash: restarted with the new count, nothing to tell
  await tick();
  await tick();
  assert.equal(transport.runs.length, 2);
  assert.equal(transport.runs[1]!.spec.context.groupCount, 2);
  assert.deepEqual(transport.runs[1]!.sent, []);
  await inst.stop("stopped");
});

Deno.test("Instance.regroup() while starting: the instance is told as soon as it runs", async () => {
  const { instances, transport } = fakeInstances(1);
  const inst = instances[0]!;
  inst.start();
  assert.equal(inst.state, "starting");
  inst.regroup(3);
  await tick();
  assert.equal(inst.state, "running");
  assert.equal(transport.runs[0]!.spec.context.groupCount, 1, "started with the count of then");
  assert.deepEqual(transport.runs[0]!.sent, [line(3)]);
  await inst.stop("stopped");
});
