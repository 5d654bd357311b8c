/**
 * The control socket under attack from another local user or a misbehaving
 * client: shared directories, foreign sockets, huge or idle requests and
 * `logs -f` readers that never read.
 */

import assert from "node:assert/strict";
import { distarch, type Master, ROOT, startMaster, tempDir } from "../cli/_testing.ts";
import { assertNoneLeft, markScope, waitFor } from "./_helpers.ts";

const NOBODY = 65534;

/** A config whose single instance ends at once, so a run that should have been refused ends. */
function quickConfig(dir: string): string {
  const file = `${dir}/d.yaml`;
  Deno.writeTextFileSync(
    file,
    `groups:
  - name: Quick
    command: ${ROOT}tests/fixtures/w_sleep.ts
    params: { sleep: 0 }
    processes: [{ type: local, instances: 1 }]
`,
  );
  return file;
}

async function refusedByRunAndPs(
  sock: string,
  file: string,
  why: RegExp,
  env: Record<string, string> = {},
): Promise<void> {
  const args = sock === "" ? [] : ["--socket", sock];
  const run = await distarch(["run", file, ...args], { env });
  assert.deepEqual(run.code, 4, run.stdout + run.stderr);
  assert.match(run.stderr, why);
  assert.deepEqual(run.stdout, "", "nothing started");
  const ps = await distarch(["ps", ...args], { env });
  assert.deepEqual(ps.code, 4, ps.stdout + ps.stderr);
  assert.match(ps.stderr, why);
}

Deno.test("run and ps refuse a socket directory that belongs to another user (exit 4)", async () => {
  using dir = tempDir();
  const shared = `${dir.path}/shared`;
  Deno.mkdirSync(shared, { mode: 0o700 });
  Deno.chownSync(shared, NOBODY, NOBODY);
  await refusedByRunAndPs(
    `${shared}/c.sock`,
    quickConfig(dir.path),
    /^distarch (run|ps): control socket directory .*\/shared belongs to uid 65534, not to you \(uid 0\).*Remove it/,
  );
});

Deno.test("run and ps refuse a socket directory writable by others, also by default", async () => {
  using dir = tempDir();
  const file = quickConfig(dir.path);
  const shared = `${dir.path}/shared`;
  Deno.mkdirSync(shared);
  Deno.chmodSync(shared, 0o777);
  const why =
    /control socket directory .*shared is writable by its group and by others \(mode 0777\).*chmod 700/;
  await refusedByRunAndPs(`${shared}/c.sock`, file, why);
  // the default path, $XDG_RUNTIME_DIR/distarch, made world-writable by someone else first
  Deno.mkdirSync(`${dir.path}/distarch`);
  Deno.chmodSync(`${dir.path}/distarch`, 0o777);
  await refusedByRunAndPs("", file, /directory .*\/distarch is writable by/, {
    XDG_RUNTIME_DIR: dir.path,
  });
});

Deno.test("run and ps refuse a socket directory that is a symbolic link", async () => {
  using dir = tempDir();
  Deno.mkdirSync(`${dir.path}/real`, { mode: 0o700 });
  Deno.symlinkSync(`${dir.path}/real`, `${dir.path}/link`);
  await refusedByRunAndPs(
    `${dir.path}/link/c.sock`,
    quickConfig(dir.path),
    /control socket directory .*\/link is a symbolic link to .*\/real/,
  );
});

Deno.test("a command does not trust a socket owned by another user", async () => {
  using dir = tempDir();
  const sock = `${dir.path}/c.sock`;
  // an impostor that claims the master stopped and prints escape sequences
  const listener = Deno.listen({ transport: "unix", path: sock });
  Deno.chownSync(sock, NOBODY, NOBODY);
  let answered = 0;
  const serving = (async () => {
    for await (const conn of listener) {
      answered++;
      const line = '{"ok":true,"stopped":{"ok":true,"reason":"stopped","states":{}}}\n';
      await conn.write(new TextEncoder().encode(line)).catch(() => {});
      conn.close();
    }
  })();
  try {
    const stop = await distarch(["stop", "--socket", sock]);
    assert.deepEqual(stop.code, 4, stop.stdout + stop.stderr);
    assert.match(stop.stderr, /control socket .*c\.sock belongs to uid 65534, not to you/);
    assert.ok(!stop.stdout.includes("master stopped"), stop.stdout);
    assert.deepEqual(answered, 0, "the command did not even connect");
  } finally {
    listener.close();
    await serving.catch(() => {});
  }
});

/** A master running `fixture` with `params`, tagged with `mark`, on `${dir}/c.sock`. */
function workerConfig(dir: string, mark: string, fixture: string, params: string): string {
  const file = `${dir}/w.yaml`;
  Deno.writeTextFileSync(
    file,
    `groups:
  - name: W
    command: ${ROOT}tests/fixtures/${fixture}
    params: ${params}
    env: { DISTARCH_TEST_MARK: ${mark} }
    processes: [{ type: local, instances: 1 }]
  - name: Idle # keeps the master running once W has ended
    command: ${ROOT}tests/fixtures/w_sleep.ts
    params: { sleep: 600 }
    env: { DISTARCH_TEST_MARK: ${mark} }
    processes: [{ type: local, instances: 1 }]
restart: never
gracePeriod: 2
`,
  );
  return file;
}

/** Resident memory of a process, in MiB. */
function rssMiB(pid: number): number {
  const m = Deno.readTextFileSync(`/proc/${pid}/status`).match(/VmRSS:\s+(\d+) kB/);
  return Number(m?.[1]) / 1024;
}

/** Everything the master sends on `conn` until it closes it (at most `max` bytes kept). */
async function readAll(conn: Deno.Conn, max = 1 << 20): Promise<string> {
  const dec = new TextDecoder();
  let text = "";
  try {
    for await (const chunk of conn.readable) {
      text = (text + dec.decode(chunk, { stream: true })).slice(-max);
    }
  } catch {
    // reset by the master
  }
  return text;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

async function withMaster(
  fixture: string,
  params: string,
  fn: (sock: string, master: Master) => Promise<void>,
): Promise<void> {
  using dir = tempDir();
  using scope = markScope();
  const mark = scope.mark;
  const sock = `${dir.path}/c.sock`;
  await using master = await startMaster(
    [workerConfig(dir.path, mark, fixture, params)],
    sock,
  );
  await fn(sock, master);
  assert.deepEqual((await distarch(["stop", "--socket", sock])).code, 0);
  assert.deepEqual(await master.exit(), 0, master.stderr());
  await assertNoneLeft(mark);
}

Deno.test("a 100 MB request line is refused as it is read, with little memory", async () => {
  await withMaster("w_sleep.ts", "{ sleep: 600 }", async (sock, master) => {
    const pid = master.child.pid;
    const before = rssMiB(pid);
    let peak = before;
    const watch = setInterval(() => peak = Math.max(peak, rssMiB(pid)), 20);
    const conn = await Deno.connect({ transport: "unix", path: sock });
    const answer = readAll(conn);
    const mib = new TextEncoder().encode("a".repeat(1 << 20));
    const t0 = Date.now();
    let sent = 0;
    try {
      for (; sent < 100; sent++) await conn.write(mib);
    } catch {
      // the master closed the connection: expected
    }
    const text = await answer;
    clearInterval(watch);
    closeQuietly(conn);
    assert.ok(sent < 100, `the master read all ${sent} MiB`);
    const reply = JSON.parse(text.trim());
    assert.deepEqual(reply.ok, false);
    assert.match(reply.error, /request longer than 1 MiB/);
    assert.ok(peak - before < 64, `master RSS went from ${before} to ${peak} MiB`);
    assert.ok(Date.now() - t0 < 10_000);
    assert.deepEqual(
      (await distarch(["ps", "--socket", sock])).code,
      0,
      "the master still answers",
    );
  });
});

Deno.test("malformed JSON is answered with ok:false; an idle connection is closed", async () => {
  await withMaster("w_sleep.ts", "{ sleep: 600 }", async (sock) => {
    const conn = await Deno.connect({ transport: "unix", path: sock });
    await conn.write(new TextEncoder().encode("{not json\n"));
    const reply = JSON.parse((await readAll(conn)).trim());
    closeQuietly(conn);
    assert.deepEqual(reply.ok, false);
    assert.match(reply.error, /bad request: not JSON/);

    const idle = await Deno.connect({ transport: "unix", path: sock });
    const t0 = Date.now();
    const timer = setTimeout(() => idle.close(), 30_000);
    const said = await readAll(idle);
    clearTimeout(timer);
    closeQuietly(idle);
    assert.ok(Date.now() - t0 < 25_000, "closed by the master, not by the test");
    assert.match(JSON.parse(said.trim()).error, /no request within 10 s/);
  });
});

Deno.test("a logs -f client that never reads is dropped once 4 MiB behind, with a message", async () => {
  // about 300 MB of log lines of 60 kB, as fast as the worker can print them; before, the
  // master queued up to 10,000 such lines (600 MB) for a client that never reads
  await withMaster("w_flood.ts", "{ lines: 5000, width: 60000 }", async (sock, master) => {
    const conn = await Deno.connect({ transport: "unix", path: sock });
    await conn.write(new TextEncoder().encode('{"cmd":"logs","follow":true,"lines":0}\n'));
    await waitFor(
      async () => {
        const ps = await distarch(["ps", "--json", "--socket", sock]);
        assert.deepEqual(ps.code, 0, ps.stderr);
        return JSON.parse(ps.stdout)[0]?.state === "ended";
      },
      60_000,
      "the flood to end",
    );
    const timer = setTimeout(() => closeQuietly(conn), 30_000);
    const text = await readAll(conn, 4096); // only now do we read: the master closed it
    clearTimeout(timer);
    closeQuietly(conn);
    assert.match(text, /"ok":false,"error":"dropped: this client fell more than 4 MiB behind/);
    await waitFor(() => master.stdout().includes('dropped a "logs -f" client'), 5000);
  });
});
