/**
 * What the CLI says: one prefix per error, option names as documented, and
 * messages that match what happened.
 */

import assert from "node:assert/strict";
import { distarch, ROOT, startMaster, tempDir } from "../cli/_testing.ts";
import { markScope, waitFor } from "./_helpers.ts";

Deno.test("usage errors carry one prefix and name the option as documented", async () => {
  const bogus = await distarch(["run", "--bogus"]);
  assert.deepEqual(bogus.code, 2);
  assert.match(
    bogus.stderr,
    /^distarch run: Unknown option '--bogus'.*\(see "distarch run --help"\)\n$/s,
  );
  const scale = await distarch(["scale", "g"]);
  assert.deepEqual([scale.code, scale.stderr], [
    2,
    "distarch scale: missing N: distarch scale GROUP N\n",
  ]);
  const lines = await distarch(["logs", "-n", "x"]);
  assert.deepEqual([lines.code, lines.stderr], [
    2,
    'distarch logs: -n/--lines must be an integer ≥ 0: got "x"\n',
  ]);
  const neg = await distarch(["scale", "g", "-1"]);
  assert.deepEqual(neg.code, 2);
  assert.match(
    neg.stderr,
    /^distarch scale: (Unknown option '-1'|N must be an integer from 0 to 10000)/,
  );
});

function config(dir: string, mark: string): string {
  const file = `${dir}/m.yaml`;
  Deno.writeTextFileSync(
    file,
    `groups:
  - name: Sleepers
    command: ${ROOT}tests/fixtures/w_sleep.ts
    params: { sleep: 600 }
    env: { DISTARCH_TEST_MARK: ${mark} }
    processes: [{ type: local, instances: 2 }]
  - name: Crasher
    command: ${ROOT}tests/fixtures/w_crash.ts
    env: { DISTARCH_TEST_MARK: ${mark} }
    processes: [{ type: local, instances: 1 }]
restart: never
gracePeriod: 2
`,
  );
  return file;
}

Deno.test("--service, resume of a running group and stop with failures say what happened", async () => {
  using dir = tempDir();
  using scope = markScope();
  const mark = scope.mark;
  const sock = `${dir.path}/c.sock`;
  await using master = await startMaster([config(dir.path, mark), "--service"], sock);
  await waitFor(() => master.stdout().includes("service mode"), 5000, "the first line");
  assert.match(master.stdout(), /service mode: 3 instances in 2 groups, every group suspended/);
  assert.ok(!master.stdout().includes("starting 3 instances"), master.stdout());

  const resume = async (...args: string[]) => {
    const res = await distarch(["resume", ...args, "--socket", sock]);
    assert.deepEqual(res.code, 0, res.stderr);
    return res.stdout;
  };
  assert.deepEqual(await resume("Sleepers"), 'resumed group "Sleepers" (2 instances started)\n');
  assert.deepEqual(
    await resume("Sleepers"),
    'nothing to resume: no instance of group "Sleepers" is suspended\n',
  );
  assert.deepEqual(await resume("Crasher"), 'resumed group "Crasher" (1 instance started)\n');
  await waitFor(() => master.stdout().includes("crashed"), 10_000, "the crash");

  const stop = await distarch(["stop", "--socket", sock]);
  assert.deepEqual(stop.code, 1, stop.stdout + stop.stderr);
  assert.deepEqual(
    stop.stderr,
    "distarch stop: master stopped with failures: 2 stopped, 1 failed\n",
  );
  assert.deepEqual(await master.exit(), 1);
});
