/**
 * `distarch run`, `validate` and `schema` run as subprocesses, as a user would.
 */

import assert from "node:assert/strict";
import { distarch, ROOT, startMaster, tempDir } from "../cli/_testing.ts";
import { assertNoneLeft, markScope } from "./_helpers.ts";

const EXAMPLE = ROOT + "examples/distarch.yaml";

/** A config running a fixture, tagged with `mark` so leftovers can be found. */
function config(mark: string, command: string, extra = "", instances = 2): string {
  return `groups:
  - name: Workers
    command: ${ROOT}tests/fixtures/${command}
    env: { DISTARCH_TEST_MARK: ${mark} }
    processes:
      - { type: local, instances: ${instances} }
${extra}`;
}

Deno.test("distarch run runs the example config to its end and exits 0", async () => {
  using dir = tempDir();
  const res = await distarch(["run", EXAMPLE, "--socket", `${dir.path}/s.sock`]);
  assert.deepEqual(res.code, 0, res.stderr);
  assert.match(res.stdout, /\[First Group\] \[localhost\] \[script1\.ts\/1\/1\] Hello World!/);
  assert.match(res.stdout, /\[Second Group\] \[localhost\] \[script2\.ts\/5\/2\]/);
  assert.match(res.stdout, /all instances are done \(5 ended\)/);
  assert.ok(!res.stdout.includes("\x1b["), "no escape codes when stdout is not a terminal");
});

Deno.test("distarch run --log-format json prints one JSON record per line", async () => {
  using dir = tempDir();
  const res = await distarch(["run", EXAMPLE, "--log-format", "json", "--socket", `${dir.path}/s`]);
  assert.deepEqual(res.code, 0, res.stderr);
  const records = res.stdout.trim().split("\n").map((l) => JSON.parse(l));
  assert.ok(records.length > 20);
  for (const r of records) {
    assert.ok(typeof r.level === "string" && typeof r.message === "string", JSON.stringify(r));
    assert.ok(!Number.isNaN(Date.parse(r.time)), r.time);
  }
  const hello = records.find((r) => r.message === "Hello World!" && r.id === 2);
  assert.deepEqual(
    { group: hello?.group, host: hello?.host, id: hello?.id, groupId: hello?.groupId },
    { group: "First Group", host: "localhost", id: 2, groupId: 2 },
  );
});

Deno.test("distarch run --log-file/--pid-file write there and clean up the pid file", async () => {
  using dir = tempDir();
  const log = `${dir.path}/out.log`, pid = `${dir.path}/m.pid`;
  const res = await distarch([
    "run",
    EXAMPLE,
    "--log-file",
    log,
    "--pid-file",
    pid,
    "--socket",
    `${dir.path}/s`,
  ]);
  assert.deepEqual(res.code, 0, res.stderr);
  assert.deepEqual(res.stdout, "");
  assert.match(Deno.readTextFileSync(log), /Hello World!/);
  assert.ok(!(await exists(pid)), "the pid file is removed at exit");
  assert.ok(!(await exists(`${dir.path}/s`)), "the socket is removed at exit");
});

Deno.test("distarch run exits 1 with a message when instances fail", async () => {
  using dir = tempDir();
  using scope = markScope();
  const mark = scope.mark;
  Deno.writeTextFileSync(`${dir.path}/d.yaml`, config(mark, "w_crash.ts", "restart: never\n", 1));
  const res = await distarch(["run", `${dir.path}/d.yaml`, "--socket", `${dir.path}/s`]);
  assert.deepEqual(res.code, 1, res.stdout + res.stderr);
  assert.match(
    res.stderr,
    /^distarch run: run ended with failures \(1 failed\): Workers\/1 on localhost/,
  );
  await assertNoneLeft(mark);
});

Deno.test("distarch run --max-running-time stops everything gracefully and exits 0", async () => {
  using dir = tempDir();
  using scope = markScope();
  const mark = scope.mark;
  Deno.writeTextFileSync(`${dir.path}/d.yaml`, config(mark, "w_sleep.ts"));
  const t0 = Date.now();
  const res = await distarch([
    "run",
    `${dir.path}/d.yaml`,
    "--max-running-time",
    "1",
    "--socket",
    `${dir.path}/s`,
  ]);
  assert.deepEqual(res.code, 0, res.stderr);
  assert.match(res.stdout, /maximum running time of 1 s reached/);
  assert.ok(Date.now() - t0 < 12_000);
  await assertNoneLeft(mark);
});

Deno.test("a second master on the same socket is refused while the first runs", async () => {
  using dir = tempDir();
  using scope = markScope();
  const mark = scope.mark;
  const sock = `${dir.path}/s.sock`;
  Deno.writeTextFileSync(`${dir.path}/d.yaml`, config(mark, "w_sleep.ts", "", 1));
  await using master = await startMaster([`${dir.path}/d.yaml`], sock);
  assert.deepEqual((Deno.statSync(sock).mode ?? 0) & 0o777, 0o600);
  const res = await distarch(["run", `${dir.path}/d.yaml`, "--socket", sock]);
  assert.deepEqual(res.code, 4, res.stderr);
  assert.match(res.stderr, /another master is already running on control socket .*\(pid \d+\)/);
  assert.deepEqual(res.stdout, "", "the second master started nothing");
  const ps = await distarch(["ps", "--socket", sock]);
  assert.deepEqual(ps.code, 0, ps.stderr);
  assert.deepEqual((await distarch(["stop", "--socket", sock])).code, 0);
  assert.deepEqual(await master.exit(), 0);
});

Deno.test("a stale socket file left by a dead master is replaced", async () => {
  using dir = tempDir();
  const sock = `${dir.path}/s.sock`;
  // a socket file nobody listens on, as a master killed with SIGKILL leaves it
  const py = "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])";
  assert.deepEqual(
    (await new Deno.Command("python3", { args: ["-c", py, sock] }).output()).code,
    0,
  );
  assert.ok((await Deno.lstat(sock)).isSocket);
  const res = await distarch(["run", EXAMPLE, "--socket", sock]);
  assert.deepEqual(res.code, 0, res.stderr);
});

Deno.test("control commands without a master exit 4 and say so", async () => {
  using dir = tempDir();
  const res = await distarch(["ps", "--socket", `${dir.path}/none.sock`]);
  assert.deepEqual(res.code, 4);
  assert.match(res.stderr, /no master is running on control socket .*none\.sock/);
});

Deno.test("distarch validate reports every problem with its file position, exit 3", async () => {
  using dir = tempDir();
  const file = `${dir.path}/distarch.yaml`;
  Deno.writeTextFileSync(
    file,
    `groups:
  - name: First Group
    command: ${ROOT}examples/script1.ts
    params: { message: Hello World! }
    processes:
      - { type: local, instances: 3 }
      - { type: remote, hosts: [], instances: 2 }
timeuot: 3
`,
  );
  const res = await distarch(["validate"], { cwd: dir.path });
  assert.deepEqual(res.code, 3, res.stdout + res.stderr);
  const lines = res.stderr.trim().split("\n");
  assert.deepEqual(lines[0], "distarch validate: invalid config file distarch.yaml (2 problems):");
  assert.deepEqual(
    lines[1],
    "distarch.yaml:7:32 groups[0].processes[1].hosts: must not be empty (got [])",
  );
  assert.deepEqual(lines[2], 'distarch.yaml:8:1 timeuot: unknown key (did you mean "timeout"?)');
  const run = await distarch(["run", "--socket", `${dir.path}/s`], { cwd: dir.path });
  assert.deepEqual(run.code, 3, "run refuses the same file before starting anything");
  assert.deepEqual(run.stdout, "");
});

Deno.test("distarch validate accepts the example and counts its instances", async () => {
  const res = await distarch(["validate", EXAMPLE]);
  assert.deepEqual(res.code, 0, res.stderr);
  assert.deepEqual(res.stdout, `${EXAMPLE}: ok (2 groups, 5 instances)\n`);
  const missing = await distarch(["validate", "nope.yaml"]);
  assert.deepEqual(missing.code, 3);
  assert.match(missing.stderr, /cannot read config file nope\.yaml: no such file/);
});

Deno.test("distarch schema prints a JSON Schema; usage errors exit 2", async () => {
  const res = await distarch(["schema"]);
  assert.deepEqual(res.code, 0, res.stderr);
  const schema = JSON.parse(res.stdout);
  assert.deepEqual(schema.required, ["groups"]);
  assert.deepEqual(schema.additionalProperties, false);
  assert.deepEqual((await distarch(["run", "--bogus"])).code, 2);
  assert.deepEqual((await distarch(["frobnicate"])).code, 2);
  assert.deepEqual((await distarch(["run", "--log-format", "xml"])).code, 2);
});

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}
