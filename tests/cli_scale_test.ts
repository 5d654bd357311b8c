/**
 * `distarch scale`: down to 0 and back, and the bounds that keep a typo
 * (`scale g 1000000000`) from killing the master.
 */

import assert from "node:assert/strict";
import { distarch, startMaster, tempDir } from "../cli/_testing.ts";
import type { InstanceInfo } from "../master/events.ts";
import { procState, waitFor } from "./_helpers.ts";

/** One group of `/bin/cat` instances: tiny processes that live until their stdin closes. */
function catConfig(dir: string, instances = 2): string {
  const file = `${dir}/cat.yaml`;
  Deno.writeTextFileSync(
    file,
    `groups:
  - name: Cats
    command: /bin/cat
    processes: [{ type: local, instances: ${instances} }]
gracePeriod: 2
`,
  );
  return file;
}

async function ps(sock: string): Promise<InstanceInfo[]> {
  const res = await distarch(["ps", "--json", "--socket", sock]);
  assert.deepEqual(res.code, 0, res.stderr);
  return JSON.parse(res.stdout);
}

async function request(sock: string, req: unknown): Promise<{ ok: boolean; error?: string }> {
  const conn = await Deno.connect({ transport: "unix", path: sock });
  await conn.write(new TextEncoder().encode(JSON.stringify(req) + "\n"));
  let text = "";
  for await (const c of conn.readable.pipeThrough(new TextDecoderStream())) text += c;
  return JSON.parse(text.trim().split("\n")[0]!);
}

const running = async (sock: string, n: number) =>
  await waitFor(
    async () => {
      const infos = await ps(sock);
      return infos.length === n && infos.every((i) => i.state === "running");
    },
    10_000,
    `${n} running instances`,
  );

Deno.test("scale GROUP 0 stops a group's instances and keeps it; scale GROUP 2 brings it back", async () => {
  using dir = tempDir();
  const sock = `${dir.path}/c.sock`;
  await using master = await startMaster([catConfig(dir.path)], sock);
  await running(sock, 2);
  const pids = (await ps(sock)).map((i) => i.pid!);
  const zero = await distarch(["scale", "Cats", "0", "--socket", sock]);
  assert.deepEqual(zero.code, 0, zero.stderr);
  assert.match(zero.stdout, /scaled group "Cats" to 0 per host/);
  assert.deepEqual(await ps(sock), [], "no instance left, and the master still answers");
  // gone and reaped: not even a zombie is left
  for (const pid of pids) assert.equal(procState(pid), undefined, `pid ${pid} is gone`);
  assert.deepEqual((await distarch(["scale", "Cats", "2", "--socket", sock])).code, 0);
  await running(sock, 2);
  assert.deepEqual((await distarch(["stop", "--socket", sock])).code, 0);
  assert.deepEqual(await master.exit(), 0, master.stderr());
});

Deno.test("scale refuses more than 10,000 per host, from the CLI and on the socket", async () => {
  using dir = tempDir();
  const sock = `${dir.path}/c.sock`;
  await using master = await startMaster([catConfig(dir.path)], sock);
  await running(sock, 2);
  const cli = await distarch(["scale", "Cats", "1000000000", "--socket", sock]);
  assert.deepEqual(cli.code, 2, cli.stderr);
  assert.deepEqual(
    cli.stderr,
    'distarch scale: N must be an integer from 0 to 10000 (0 stops every instance of the group): got "1000000000"\n',
  );
  const raw = await request(sock, { cmd: "scale", group: "Cats", instances: 10_001 });
  assert.deepEqual(raw.ok, false);
  assert.match(raw.error!, /scale: instances must be an integer from 0 to 10000 \(got 10001\)/);
  assert.deepEqual((await ps(sock)).length, 2);
  assert.deepEqual((await distarch(["stop", "--socket", sock])).code, 0);
  assert.deepEqual(await master.exit(), 0, master.stderr());
});

Deno.test("scale refuses what the open-files limit cannot hold, and says so", async () => {
  using dir = tempDir();
  const sock = `${dir.path}/c.sock`;
  await using master = await startMaster([catConfig(dir.path)], sock, {
    wrapper: ["prlimit", "--nofile=256:256", "--"],
  });
  await running(sock, 2);
  const res = await distarch(["scale", "Cats", "200", "--socket", sock]);
  assert.deepEqual(res.code, 1, res.stdout + res.stderr);
  assert.match(
    res.stderr,
    /^distarch scale: cannot scale group "Cats" to 200 per host: .*open files \(ulimit -n\) is 256/,
  );
  assert.deepEqual((await ps(sock)).length, 2, "nothing was started");
  assert.deepEqual((await distarch(["stop", "--socket", sock])).code, 0);
  assert.deepEqual(await master.exit(), 0, master.stderr());
});
