import assert from "node:assert/strict";
import { plan } from "./plan.ts";
import { instanceInfo, instanceRecord, type RunFacts } from "./_instance_info.ts";

const [spec] = plan(
  [{ name: "G", command: "w.ts", processes: [{ type: "local", instances: 1 }] }],
  {
    cwd: "/srv",
  },
);

const NEVER_RAN: RunFacts = {
  state: "pending",
  pid: undefined,
  startedAt: undefined,
  lastSeen: undefined,
  restarts: 0,
  runs: 0,
  ready: false,
  readyAt: undefined,
  lastReason: undefined,
};

Deno.test("instanceInfo() leaves out what is not known, and readyAt while not ready", () => {
  assert.deepEqual(instanceInfo(spec!, NEVER_RAN), {
    id: 1,
    groupId: 1,
    groupCount: 1,
    group: "G",
    host: "localhost",
    label: "w.ts/1/1",
    state: "pending",
    restarts: 0,
    runs: 0,
    ready: false,
  });
  const info = instanceInfo(spec!, { ...NEVER_RAN, state: "running", readyAt: 7, startedAt: 7 });
  assert.equal("readyAt" in info, false);
  assert.equal(info.startedAt, 7);
  const ready = instanceInfo(spec!, { ...NEVER_RAN, state: "running", ready: true, readyAt: 9 });
  assert.equal(ready.readyAt, 9);
});

Deno.test("instanceRecord() names the instance, and carries context only when given", () => {
  const r = instanceRecord(spec!, "info", "started");
  assert.deepEqual([r.group, r.host, r.instance, r.id, r.groupId], [
    "G",
    "localhost",
    "w.ts/1/1",
    1,
    1,
  ]);
  assert.equal("context" in r, false);
  assert.deepEqual(instanceRecord(spec!, "error", "x", { a: 1 }).context, { a: 1 });
});
