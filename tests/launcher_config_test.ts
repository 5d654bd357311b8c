import assert from "node:assert/strict";
import { ConfigError } from "../master/config.ts";
import { Launcher } from "../master/launcher.ts";
import type { GroupConfig } from "../master/types.ts";
import { collector, fixture } from "./_helpers.ts";

const ok: GroupConfig = {
  name: "g",
  command: fixture("t_ids.ts"),
  processes: [{ type: "local", instances: 1 }],
};

async function rejects(groups: unknown, path: RegExp, value: RegExp): Promise<void> {
  const log = collector();
  let created = 0;
  const launcher = new Launcher({
    logger: log,
    handleSignals: false,
    events: { instanceCreated: () => created++, launcherStarting: () => created++ },
  });
  let error: unknown;
  try {
    await launcher.run(groups as GroupConfig[]);
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof ConfigError, `a ConfigError, got ${error}`);
  assert.match(error.message, path);
  assert.match(error.message, value);
  assert.equal(created, 0, "nothing started");
  assert.deepEqual(log.records, [], "nothing logged");
  assert.deepEqual(launcher.list(), []);
}

Deno.test("Launcher.run() refuses no groups before starting anything", async () => {
  await rejects([], /^groups: /, /no groups/);
});

Deno.test("Launcher.run() refuses an empty group name", async () => {
  await rejects([{ ...ok, name: "" }], /groups\[0\]\.name/, /""/);
});

Deno.test("Launcher.run() refuses duplicate group names, naming both", async () => {
  await rejects(
    [ok, { ...ok }],
    /groups\[1\]\.name: duplicate/,
    /groups\[0\].*"g"|"g".*groups\[0\]/,
  );
});

Deno.test("Launcher.run() refuses fewer than one instance", async () => {
  await rejects(
    [{ ...ok, processes: [{ type: "local", instances: 0 }] }],
    /groups\[0\]\.processes\[0\]\.instances/,
    /got 0/,
  );
});

Deno.test("Launcher.run() refuses a missing command file", async () => {
  await rejects(
    [{ ...ok, command: fixture("t_missing_file.ts") }],
    /groups\[0\]\.command/,
    /t_missing_file\.ts/,
  );
});

Deno.test("Launcher.run() refuses params that are not JSON-serialisable", async () => {
  await rejects(
    [{ ...ok, params: { when: new Date(0), deep: { n: 1n } } }],
    /groups\[0\]\.params\.when/,
    /Date/,
  );
  await rejects([{ ...ok, params: { f: () => 1 } }], /groups\[0\]\.params\.f/, /function/);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  await rejects([{ ...ok, params: { cyclic } }], /params\.cyclic\.self/, /cycle/);
  await rejects([{ ...ok, params: { n: NaN } }], /params\.n/, /NaN/);
});

Deno.test("Launcher.run() refuses an unknown key, suggesting the right one", async () => {
  await rejects([{ ...ok, instance: 2 }], /groups\[0\]\.instance/, /unknown key/);
  await rejects(
    [{ ...ok, processes: [{ type: "local", instances: 1, prority: 3 }] }],
    /groups\[0\]\.processes\[0\]\.prority/,
    /priority/,
  );
});

Deno.test("new Launcher() refuses an invalid option with its name and value", () => {
  assert.throws(
    () => new Launcher({ gracePeriod: -1, handleSignals: false }),
    (e: unknown) =>
      e instanceof ConfigError && /gracePeriod/.test(e.message) && /-1/.test(e.message),
  );
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => new Launcher({ handleSignals: false, retsart: "always" } as any),
    (e: unknown) => e instanceof ConfigError && /retsart/.test(e.message),
  );
});
