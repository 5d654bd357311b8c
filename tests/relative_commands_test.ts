/**
 * A relative `command` is found next to the config file (the CLI) or in the
 * Launcher's `cwd` (the library), whatever the master's own working directory:
 * an existing file there wins; otherwise a name without `/` is looked up on PATH.
 * Real processes, started from the repository root while the workers live in a
 * temporary directory.
 */

import assert from "node:assert/strict";
import { distarch, tempDir } from "../cli/_testing.ts";
import { assertNoneLeft, marker, runGroups } from "./_helpers.ts";

const SH_WORKER = `#!/bin/sh
read -r ctx
echo "sh worker $DISTARCH_ID runs from $0"
echo "@distarch/1 ended"
`;
const PY_WORKER = `import os, sys
sys.stdin.readline()
print("py worker " + os.environ["DISTARCH_ID"] + " runs from " + os.path.abspath(__file__))
print("@distarch/1 ended", flush=True)
`;
/** An executable named like a PATH program: next to the config, it wins. */
const FAKE_DATE = `#!/bin/sh
read -r ctx
echo "the date next to the config"
echo "@distarch/1 ended"
`;

async function workersIn(dir: string): Promise<void> {
  await Deno.writeTextFile(`${dir}/shworker.sh`, SH_WORKER, { mode: 0o755 });
  await Deno.writeTextFile(`${dir}/pyworker.py`, PY_WORKER);
  await Deno.writeTextFile(`${dir}/date`, FAKE_DATE, { mode: 0o755 });
}

Deno.test("distarch run finds sh and python3 workers next to the config from another cwd", async () => {
  using dir = tempDir();
  const mark = marker();
  await workersIn(dir.path);
  await Deno.writeTextFile(
    `${dir.path}/distarch.yaml`,
    `groups:
  - name: sh
    command: shworker.sh
    env: { DISTARCH_TEST_MARK: ${mark} }
    processes: [{ type: local, instances: 1 }]
  - name: py
    command: pyworker.py
    binPath: python3
    env: { DISTARCH_TEST_MARK: ${mark} }
    processes: [{ type: local, instances: 1 }]
  - name: date
    command: date
    env: { DISTARCH_TEST_MARK: ${mark} }
    processes: [{ type: local, instances: 1 }]
restart: never
`,
  );
  const res = await distarch(["run", `${dir.path}/distarch.yaml`, "--socket", `${dir.path}/s`]);
  await assertNoneLeft(mark);
  assert.deepEqual(res.code, 0, res.stdout + res.stderr);
  assert.match(res.stdout, new RegExp(`sh worker 1 runs from ${dir.path}/shworker\\.sh`));
  assert.match(res.stdout, new RegExp(`py worker 2 runs from ${dir.path}/pyworker\\.py`));
  assert.match(res.stdout, /\[date\/3\/1\] the date next to the config/);
});

Deno.test("Launcher resolves relative commands against its cwd option, else PATH", async () => {
  using dir = tempDir();
  const mark = marker();
  await workersIn(dir.path);
  const env = { DISTARCH_TEST_MARK: mark };
  const local = [{ type: "local" as const, instances: 1 }];
  const { summary, log } = await runGroups([
    { name: "sh", command: "shworker.sh", env, processes: local },
    { name: "py", command: "pyworker.py", binPath: "python3", env, processes: local },
    { name: "date", command: "date", env, processes: local },
    // not next to the cwd: found on PATH (and a path setting does not change that)
    { name: "true", command: "true", path: ".", env, processes: local },
  ], { cwd: dir.path, restart: "never" });
  await assertNoneLeft(mark);
  assert.ok(summary.ok, log.dump());
  assert.deepEqual(
    summary.instances.map((i) => [i.group, i.state, i.lastReason]),
    ["sh", "py", "date", "true"].map((g) => [g, "ended", "ended"]),
  );
  assert.deepEqual(log.find(`sh worker 1 runs from ${dir.path}/shworker.sh`).length, 1, log.dump());
  assert.deepEqual(log.find(`py worker 2 runs from ${dir.path}/pyworker.py`).length, 1, log.dump());
  assert.deepEqual(log.find("the date next to the config").length, 1, log.dump());
  assert.ok(log.of("true/4/1").some((r) => /^started \(pid \d+\)$/.test(r.message)), log.dump());
  assert.deepEqual(
    log.records.filter((r) => r.level === "error" || r.level === "critical"),
    [],
    log.dump(),
  );
});
