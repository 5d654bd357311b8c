import assert from "node:assert/strict";
import { rollingRestart } from "./_group_ops.ts";
import { fakeInstances } from "./_testing.ts";

Deno.test("rollingRestart() restarts one instance at a time, each once the previous is alive", async () => {
  const { instances, transport } = fakeInstances(3, { greeting: "hi\n" });
  for (const i of instances) i.start();
  await Promise.all(instances.map((i) => i.whenAlive()));
  await instances[1]!.stop("suspended");
  await rollingRestart("G", instances, { aliveTimeout: 5 });
  assert.deepEqual(instances.map((i) => [i.state, i.info().runs]), [
    ["running", 2],
    ["suspended", 1],
    ["running", 2],
  ]);
  assert.equal(transport.runs.length, 5);
  await Promise.all(instances.map((i) => i.stop("stopped")));
});

Deno.test("rollingRestart() halts when a new run is not alive in time, leaving the rest untouched", async () => {
  const { instances, transport } = fakeInstances(2);
  for (const i of instances) i.start();
  transport.runs.forEach((r) => r.print("up\n"));
  await Promise.all(instances.map((i) => i.whenAlive()));
  await assert.rejects(
    rollingRestart("G", instances, { aliveTimeout: 0.05 }),
    (e: Error) => {
      assert.equal(
        e.message,
        'rolling restart of group "G" halted: true/1/1 on localhost is not alive after 0.05 s ' +
          "(state running)",
      );
      return true;
    },
  );
  assert.deepEqual(instances.map((i) => i.info().runs), [2, 1]);
  await Promise.all(instances.map((i) => i.stop("stopped")));
});

Deno.test("rollingRestart() stops at once when cancelled, and halts when a new run fails", async () => {
  const { instances, transport } = fakeInstances(2, { settings: { restart: "never" } });
  await rollingRestart("G", instances, { cancelled: () => true });
  assert.equal(transport.runs.length, 0);
  const halted = rollingRestart("G", instances, { aliveTimeout: 5 });
  await new Promise((r) => setTimeout(r, 0));
  transport.runs[0]!.exit(1);
  await assert.rejects(halted, /true\/1\/1 on localhost is not alive after 5 s \(state failed\)/);
  assert.equal(transport.runs.length, 1);
});
