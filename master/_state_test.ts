import assert from "node:assert/strict";
import {
  newRunIdentity,
  processStartTicks,
  type RunState,
  STATE_FILE,
  StateDir,
  StateError,
} from "./_state.ts";

const AFRESH =
  "remove it to start afresh (its instances are stopped by their agents when their adopt window ends)";

function sample(): RunState {
  return {
    v: 1,
    runId: "0123456789abcdef",
    secret: "ab".repeat(32),
    master: { pid: 4242, startTicks: 1234, startedAt: 1_700_000_000_000 },
    adoptWindow: 30,
    agents: [{
      target: "ssh:web1",
      host: "web1",
      socket: "0123456789abcdef/beef",
      connect: { agent: { name: "agent.js", hash: "cd".repeat(32) }, runtime: "deno" },
      instances: [1, 2, 3].map((id) => ({
        id,
        key: id + 10,
        pid: 100 + id,
        startedAt: 1_700_000_000_500,
        runs: 1,
        restarts: 0,
        ready: id !== 2,
        group: "web",
        spec: "abc",
      })),
    }],
  };
}

async function withTemp(fn: (tmp: string) => void | Promise<void>): Promise<void> {
  const tmp = await Deno.makeTempDir({ prefix: "distarch_state_test_" });
  try {
    await fn(tmp);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/** A directory `<tmp>/s` made by StateDir.open. */
function openIn(tmp: string): StateDir {
  return StateDir.open(`${tmp}/s`);
}

/** Writes `text` as the state file, mode 0600 unless told. */
function plant(dir: StateDir, text: string, mode = 0o600): void {
  Deno.writeTextFileSync(dir.file, text);
  Deno.chmodSync(dir.file, mode);
}

function refusal(dir: StateDir, fragment: string): void {
  assert.throws(() => dir.read(), (e: unknown) => {
    assert.ok(e instanceof StateError);
    assert.equal(e.path, dir.file);
    assert.ok(e.message.startsWith(`refusing the state file ${dir.file}: `), e.message);
    assert.ok(e.message.includes(fragment), e.message);
    assert.ok(e.message.endsWith(AFRESH), e.message);
    return true;
  });
}

function leftovers(dir: StateDir): string[] {
  return [...Deno.readDirSync(dir.path)].map((e) => e.name).sort();
}

Deno.test("newRunIdentity() gives 16 and 64 hex digits, different each time", () => {
  const a = newRunIdentity();
  const b = newRunIdentity();
  assert.match(a.runId, /^[0-9a-f]{16}$/);
  assert.match(a.secret, /^[0-9a-f]{64}$/);
  assert.notEqual(a.secret, b.secret);
});

Deno.test("StateDir: what write() wrote, read() gives back; no file reads as undefined", () =>
  withTemp((tmp) => {
    const dir = openIn(tmp);
    assert.equal(dir.file, `${tmp}/s/${STATE_FILE}`);
    assert.equal(dir.read(), undefined);
    const state = sample();
    dir.write(state);
    assert.deepEqual(dir.read(), state);
    const next = { ...sample(), agents: [], adoptWindow: 0 };
    dir.write(next);
    assert.deepEqual(dir.read(), next);
    assert.deepEqual(leftovers(dir), [STATE_FILE]);
  }));

Deno.test("StateDir.open() creates missing parents, the directory 0700 and the file 0600", () =>
  withTemp((tmp) => {
    const dir = StateDir.open(`${tmp}/a/b/c/`);
    assert.equal(dir.path, `${tmp}/a/b/c`);
    assert.equal(Deno.statSync(dir.path).mode! & 0o7777, 0o700);
    dir.write(sample());
    assert.equal(Deno.statSync(dir.file).mode! & 0o7777, 0o600);
  }));

Deno.test("StateDir.remove() removes the file, and the directory only when open() made it", () =>
  withTemp((tmp) => {
    const made = StateDir.open(`${tmp}/a/made`);
    made.write(sample());
    made.remove();
    made.remove(); // absent: no error
    assert.deepEqual([...Deno.readDirSync(`${tmp}/a`)], []);

    Deno.mkdirSync(`${tmp}/kept`, { mode: 0o700 });
    const kept = StateDir.open(`${tmp}/kept`);
    kept.write(sample());
    Deno.writeTextFileSync(`${tmp}/kept/other`, "x");
    kept.remove();
    assert.deepEqual(leftovers(kept), ["other"]);
    Deno.removeSync(`${tmp}/kept/other`);
    kept.remove();
    assert.deepEqual(leftovers(kept), []);
  }));

function dirRefusal(path: string, fragments: string[]): void {
  assert.throws(() => StateDir.open(path), (e: unknown) => {
    assert.ok(e instanceof StateError);
    assert.equal(e.path, path);
    for (const f of fragments) assert.ok(e.message.includes(f), e.message);
    return true;
  });
}

Deno.test("StateDir.open() refuses a directory open to others, a symlink, another user's", () =>
  withTemp((tmp) => {
    const open = `${tmp}/open`;
    Deno.mkdirSync(open);
    Deno.chmodSync(open, 0o755);
    dirRefusal(open, [`the state directory ${open} has mode 0755`, `chmod 700 ${open}`]);

    const real = `${tmp}/real`;
    Deno.mkdirSync(real, { mode: 0o700 });
    Deno.symlinkSync(real, `${tmp}/link`);
    dirRefusal(`${tmp}/link`, [`${tmp}/link is a symlink`, "use another stateDir"]);

    const theirs = `${tmp}/theirs`;
    Deno.mkdirSync(theirs, { mode: 0o700 });
    Deno.chownSync(theirs, 65534, 65534);
    dirRefusal(theirs, [
      `${theirs} is owned by uid 65534, not by this user (uid ${Deno.uid()})`,
      "use another stateDir",
    ]);
  }));

Deno.test("StateDir.read() refuses a state file that is not private to this user", () =>
  withTemp((tmp) => {
    const dir = openIn(tmp);
    dir.write(sample());
    Deno.chmodSync(dir.file, 0o644);
    refusal(dir, `its mode is 0644, not 0600; chmod 600 ${dir.file} if you trust it, or`);

    Deno.chmodSync(dir.file, 0o600);
    Deno.chownSync(dir.file, 65534, 65534);
    refusal(dir, `: it is owned by uid 65534, not by this user (uid ${Deno.uid()}); `);

    Deno.removeSync(dir.file);
    Deno.writeTextFileSync(`${tmp}/elsewhere`, JSON.stringify(sample()));
    Deno.chmodSync(`${tmp}/elsewhere`, 0o600);
    Deno.symlinkSync(`${tmp}/elsewhere`, dir.file);
    refusal(dir, ": it is a symlink; ");

    Deno.removeSync(dir.file);
    Deno.mkdirSync(dir.file, { mode: 0o600 });
    refusal(dir, ": it is not a regular file; ");
  }));

Deno.test("StateDir.read() refuses invalid JSON, a wrong or unknown field, version 2, > 16 MiB", () =>
  withTemp((tmp) => {
    const dir = openIn(tmp);
    plant(dir, '{"v": 1,');
    refusal(dir, ": it is not valid JSON (");

    const wrong = sample() as unknown as { agents: { instances: { pid: unknown }[] }[] };
    wrong.agents[0]!.instances[2]!.pid = 0;
    plant(dir, JSON.stringify(wrong));
    refusal(dir, `: agents[0].instances[2].pid: must be a positive integer; ${AFRESH}`);

    plant(dir, JSON.stringify({ ...sample(), agents: [{ ...sample().agents[0], foo: 1 }] }));
    refusal(dir, ": agents[0].foo: unknown field; ");

    plant(dir, JSON.stringify({ ...sample(), v: 2 }));
    refusal(dir, ": it has version 2; this distarch reads version 1; ");

    Deno.truncateSync(dir.file, 16 * 1024 * 1024 + 1); // sparse: nothing really written
    refusal(dir, ": it is 16777217 bytes, more than 16 MiB; ");
  }));

Deno.test("StateDir.read() names the first wrong field's path", () =>
  withTemp((tmp) => {
    const dir = openIn(tmp);
    const cases: [unknown, string][] = [
      [[], "the state: must be an object"],
      [{ ...sample(), runId: "XYZ" }, "runId: must be 16 lowercase hex digits"],
      [{ ...sample(), master: { pid: 1, startedAt: 0 } }, "master.startTicks: missing"],
      [
        { ...sample(), master: { pid: 1, startTicks: -1, startedAt: 0 } },
        "master.startTicks: must be a non-negative integer or null",
      ],
      [{ ...sample(), adoptWindow: -1 }, "adoptWindow: must be a number of seconds >= 0"],
      [
        { ...sample(), agents: [{ ...sample().agents[0], socket: "ab/cd" }] },
        "agents[0].socket: must be",
      ],
      [
        {
          ...sample(),
          agents: [{ ...sample().agents[0], connect: { agent: { name: "a", hash: "cd" } } }],
        },
        "agents[0].connect.agent.hash: must be 64 hex digits",
      ],
    ];
    for (const [value, fragment] of cases) {
      plant(dir, JSON.stringify(value));
      refusal(dir, `: ${fragment}`);
    }
  }));

Deno.test("StateDir.write() leaves no temp file, and a failed write leaves the old state", () =>
  withTemp((tmp) => {
    const dir = openIn(tmp);
    const old = sample();
    dir.write(old);
    const bad = { ...sample(), adoptWindow: 1n } as unknown as RunState;
    assert.throws(() => dir.write(bad), (e: unknown) => {
      assert.ok(e instanceof StateError);
      assert.ok(e.message.startsWith(`not writing the state file ${dir.file}: `), e.message);
      return true;
    });
    assert.deepEqual(leftovers(dir), [STATE_FILE]);
    assert.deepEqual(dir.read(), old);

    // The rename fails: state.json is a directory that is not empty.
    Deno.removeSync(dir.file);
    Deno.mkdirSync(`${dir.file}/x`, { recursive: true });
    assert.throws(() => dir.write(old), (e: unknown) => {
      assert.ok(e instanceof StateError);
      assert.ok(e.message.startsWith(`cannot write the state file ${dir.file}: `), e.message);
      return true;
    });
    assert.deepEqual(leftovers(dir), [STATE_FILE]);
  }));

async function spawnSleep(command = "sleep"): Promise<Deno.ChildProcess> {
  const child = new Deno.Command(command, { args: ["30"], stdin: "null" }).spawn();
  // Wait until it has exec'd (its comm changes from the parent's).
  const name = command.slice(command.lastIndexOf("/") + 1);
  for (let i = 0; i < 200; i++) {
    try {
      if (Deno.readTextFileSync(`/proc/${child.pid}/comm`).trimEnd() === name) return child;
    } catch { /* not there yet */ }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`${command} did not start`);
}

async function stop(child: Deno.ChildProcess): Promise<void> {
  child.kill("SIGKILL");
  await child.status;
}

Deno.test("StateDir.liveMaster() finds a live other master by pid and start time", () =>
  withTemp(async (tmp) => {
    const dir = openIn(tmp);
    const as = (pid: number, startTicks: number | null) => ({
      ...sample(),
      master: { pid, startTicks, startedAt: 0 },
    });
    assert.equal(dir.liveMaster(as(Deno.pid, processStartTicks(Deno.pid))), undefined);

    const child = await spawnSleep();
    try {
      const ticks = processStartTicks(child.pid);
      assert.ok(ticks !== null && ticks > 0, String(ticks));
      assert.equal(dir.liveMaster(as(child.pid, ticks)), child.pid);
      assert.equal(dir.liveMaster(as(child.pid, null)), child.pid);
      assert.equal(dir.liveMaster(as(child.pid, ticks + 1)), undefined);
    } finally {
      await stop(child);
    }
    const done = new Deno.Command("true").spawn();
    await done.status;
    assert.equal(processStartTicks(done.pid), null);
    assert.equal(dir.liveMaster(as(done.pid, null)), undefined);
  }));

Deno.test("processStartTicks() reads the start time after a command name holding ') '", () =>
  withTemp(async (tmp) => {
    const odd = `${tmp}/a) b`;
    Deno.copyFileSync("/bin/sleep", odd);
    Deno.chmodSync(odd, 0o755);
    const before = await spawnSleep();
    const middle = await spawnSleep(odd);
    const after = await spawnSleep();
    try {
      assert.ok(Deno.readTextFileSync(`/proc/${middle.pid}/stat`).includes("(a) b) "));
      const [a, m, b] = [before, middle, after].map((c) => processStartTicks(c.pid));
      assert.ok(a !== null && m !== null && b !== null, `${a} ${m} ${b}`);
      // Misparsed, it would read field 21 (itrealvalue, 0) or 23 (vsize, huge).
      assert.ok(a! > 0 && a! <= m! && m! <= b! && b! - a! < 1000, `${a} ${m} ${b}`);
    } finally {
      for (const c of [before, middle, after]) await stop(c);
    }
  }));

Deno.test("processStartTicks() is null for pids that cannot be", () => {
  for (const pid of [0, -1, 1.5, NaN]) assert.equal(processStartTicks(pid), null);
});
