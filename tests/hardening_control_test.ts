/**
 * The control socket under attack from another local user or a misbehaving
 * client: shared directories, foreign sockets, huge or idle requests and
 * `logs -f` readers that never read.
 */

import { deepStrictEqual as eq, match, ok } from "node:assert/strict";
import { distarch, ROOT, tempDir } from "../cli/_testing.ts";

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
  eq(run.code, 4, run.stdout + run.stderr);
  match(run.stderr, why);
  eq(run.stdout, "", "nothing started");
  const ps = await distarch(["ps", ...args], { env });
  eq(ps.code, 4, ps.stdout + ps.stderr);
  match(ps.stderr, why);
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
    eq(stop.code, 4, stop.stdout + stop.stderr);
    match(stop.stderr, /control socket .*c\.sock belongs to uid 65534, not to you/);
    ok(!stop.stdout.includes("master stopped"), stop.stdout);
    eq(answered, 0, "the command did not even connect");
  } finally {
    listener.close();
    await serving.catch(() => {});
  }
});
