/**
 * Controlling a running `distarch run` through its socket, with the effects
 * checked on the real worker processes.
 */

import assert from "node:assert/strict";
import { distarch, ROOT, startMaster, tempDir } from "../cli/_testing.ts";
import type { InstanceInfo } from "../master/events.ts";
import { assertNoneLeft, markScope, pidAlive, pidsWithMarker, waitFor } from "./_helpers.ts";

function config(mark: string, extra = ""): string {
  return `groups:
  - name: Workers
    command: ${ROOT}tests/fixtures/w_sleep.ts
    env: { DISTARCH_TEST_MARK: ${mark} }
    processes:
      - { type: local, instances: 2 }
  - name: Others
    command: ${ROOT}tests/fixtures/w_sleep.ts
    env: { DISTARCH_TEST_MARK: ${mark}, OTHER: "1" }
    processes:
      - { type: local, instances: 1 }
gracePeriod: 3
${extra}`;
}

async function ps(sock: string): Promise<InstanceInfo[]> {
  const res = await distarch(["ps", "--json", "--socket", sock]);
  assert.deepEqual(res.code, 0, res.stderr);
  return JSON.parse(res.stdout);
}

async function ctl(sock: string, ...args: string[]): Promise<string> {
  const res = await distarch([...args, "--socket", sock]);
  assert.deepEqual(res.code, 0, `${args.join(" ")}: ${res.stderr}`);
  return res.stdout;
}

function workers(infos: InstanceInfo[]): InstanceInfo[] {
  return infos.filter((i) => i.group === "Workers");
}

const live = (mark: string) => pidsWithMarker(mark).sort();

Deno.test("--service, resume, suspend, scale, restart and stop act on real processes", async () => {
  using dir = tempDir();
  using scope = markScope();
  const mark = scope.mark;
  const sock = `${dir.path}/c.sock`;
  Deno.writeTextFileSync(`${dir.path}/d.yaml`, config(mark));
  await using master = await startMaster([`${dir.path}/d.yaml`, "--service"], sock);
  // service mode: everything suspended, nothing runs
  const first = await ps(sock);
  assert.deepEqual(first.map((i) => i.state), ["suspended", "suspended", "suspended"]);
  assert.deepEqual(live(mark), []);

  assert.match(await ctl(sock, "resume", "Workers"), /resumed group "Workers"/);
  await waitFor(async () => workers(await ps(sock)).every((i) => i.state === "running"));
  const running = workers(await ps(sock));
  const pids = running.map((i) => i.pid!).sort();
  assert.deepEqual(live(mark), pids, "ps shows the pids of the real processes");

  // the table view
  await waitFor(async () => workers(await ps(sock)).every((i) => i.rss !== undefined));
  const table = await ctl(sock, "ps");
  assert.match(
    table,
    /^GROUP\s+HOST\s+ID\s+GROUPID\s+PID\s+STATE\s+READY\s+CPU\s+MEM\s+UPTIME\s+RESTARTS\s+LAST SEEN\n/,
  );
  assert.match( // ready, then CPU and resident memory of the real process group, as pm2 ls shows them
    table,
    new RegExp(
      `Workers\\s+localhost\\s+1\\s+1\\s+${
        running[0]!.pid
      }\\s+running\\s+yes\\s+(-|\\d+\\.\\d%)\\s+\\d+\\.\\d MiB`,
    ),
  );
  assert.match(table, /Others\s+localhost\s+3\s+1\s+-\s+suspended/);

  assert.match(await ctl(sock, "suspend", "Workers"), /suspended group "Workers"/);
  assert.deepEqual(workers(await ps(sock)).map((i) => i.state), ["suspended", "suspended"]);
  await waitFor(() => live(mark).length === 0, 5000, "suspended workers to be gone");

  await ctl(sock, "resume", "Workers");
  await waitFor(() => live(mark).length === 2, 8000, "2 workers");
  assert.match(await ctl(sock, "scale", "Workers", "3"), /scaled group "Workers" to 3 per host/);
  await waitFor(() => live(mark).length === 3, 8000, "3 workers");
  assert.deepEqual(workers(await ps(sock)).map((i) => i.id), [1, 2, 4]);
  await ctl(sock, "scale", "Workers", "1");
  await waitFor(() => live(mark).length === 1, 8000, "1 worker");
  const [one] = workers(await ps(sock));
  assert.deepEqual(one?.id, 1);

  await waitFor(async () => workers(await ps(sock))[0]?.state === "running");
  const before = workers(await ps(sock))[0]!.pid!;
  assert.match(await ctl(sock, "restart", "Workers"), /restarted group "Workers"/);
  const after = workers(await ps(sock))[0]!;
  assert.ok(after.pid !== before && after.state === "running", JSON.stringify(after));
  assert.ok(!pidAlive(before) && pidAlive(after.pid!));

  // errors come back with exit 1
  const bad = await distarch(["suspend", "Nope", "--socket", sock]);
  assert.deepEqual(bad.code, 1);
  assert.match(bad.stderr, /no group named "Nope" \(groups: Workers, Others\)/);

  const stop = await ctl(sock, "stop");
  assert.match(stop, /^master stopped: .*stopped/);
  assert.deepEqual(await master.exit(), 0);
  await assertNoneLeft(mark);
  assert.ok(!(await Deno.lstat(sock).then(() => true, () => false)), "socket removed");
});

Deno.test("distarch logs prints the kept lines and follows new ones until the master ends", async () => {
  using dir = tempDir();
  using scope = markScope();
  const mark = scope.mark;
  const sock = `${dir.path}/c.sock`;
  Deno.writeTextFileSync(`${dir.path}/d.yaml`, config(mark));
  await using master = await startMaster([`${dir.path}/d.yaml`], sock);
  await waitFor(async () => (await ps(sock)).every((i) => i.state === "running"));
  await waitFor(() => master.stdout().split("ready").length === 4, 5000, "3 ready lines");
  const tail = await ctl(sock, "logs", "Workers");
  assert.deepEqual(tail.split("\n").filter((l) => l.endsWith("] ready")).length, 2, tail);
  assert.ok(!tail.includes("[Others]"));
  const two = await ctl(sock, "logs", "-n", "2", "--json");
  assert.deepEqual(two.trim().split("\n").map((l) => typeof JSON.parse(l).message), [
    "string",
    "string",
  ]);

  const follower = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ROOT + "cli.ts", "logs", "Workers", "-f", "-n", "0", "--socket", sock],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  await new Promise((r) => setTimeout(r, 1500)); // let it connect
  await ctl(sock, "stop");
  const out = await follower.output();
  assert.deepEqual(out.code, 0, new TextDecoder().decode(out.stderr));
  const followed = new TextDecoder().decode(out.stdout);
  assert.match(followed, /\[Workers\] \[localhost\] \[w_sleep\.ts\/1\/1\] .*stopped/);
  assert.ok(!followed.includes("] ready"), "-n 0: no old lines");
  assert.deepEqual(await master.exit(), 0);
});

Deno.test("SIGINT stops the master gracefully (exit 130); a second SIGINT forces it", async () => {
  using dir = tempDir();
  using scope = markScope();
  const mark = scope.mark;
  const sock = `${dir.path}/c.sock`;
  Deno.writeTextFileSync(
    `${dir.path}/d.yaml`,
    `groups:
  - name: Stubborn
    command: ${ROOT}tests/fixtures/w_ignore_term.ts
    env: { DISTARCH_TEST_MARK: ${mark} }
    processes: [{ type: local, instances: 1 }]
gracePeriod: 60
`,
  );
  await using master = await startMaster([`${dir.path}/d.yaml`], sock);
  await waitFor(async () => (await ps(sock))[0]?.state === "running");
  master.child.kill("SIGINT");
  await waitFor(() => master.stdout().includes("received SIGINT, stopping"), 5000);
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(
    live(mark).length,
    1,
    "it ignores SIGTERM: still there within the grace period",
  );
  master.child.kill("SIGINT");
  const t0 = Date.now();
  assert.deepEqual(await master.exit(10_000), 130, master.stderr());
  assert.ok(Date.now() - t0 < 8000);
  await assertNoneLeft(mark);
});
