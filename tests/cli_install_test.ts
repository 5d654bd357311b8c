/**
 * The CLI as users get it: installed with `deno install` from a URL (a
 * loopback file server serving this repository read-only), run from a
 * directory that knows nothing of this repository's deno.json.
 */

import assert from "node:assert/strict";
import { ROOT, tempDir } from "../cli/_testing.ts";
import denoJson from "../deno.json" with { type: "json" };

/** Serves the repository's files, read-only, on 127.0.0.1 (a free port). */
function serveRepo(): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = decodeURIComponent(new URL(req.url).pathname);
    if (req.method !== "GET" || path.split("/").includes("..")) {
      return new Response("refused", { status: 403 });
    }
    try {
      const type = path.endsWith(".json") ? "application/json" : "application/typescript";
      return new Response(await Deno.readFile(ROOT + path.slice(1)), {
        headers: { "content-type": type },
      });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
}

async function exec(cmd: string, args: string[], cwd: string) {
  const out = await new Deno.Command(cmd, { args, cwd, stdin: "null" }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Removes what the shared Deno cache keeps for `origin` (`127.0.0.1_PORT1234`). */
async function forgetOrigin(origin: string): Promise<void> {
  const info = JSON.parse((await exec(Deno.execPath(), ["info", "--json"], ROOT)).stdout);
  for (const dir of [info.modulesCache, info.typescriptCache]) {
    if (typeof dir !== "string") continue;
    await Deno.remove(`${dir}/http/${origin}`, { recursive: true }).catch(() => {});
  }
}

Deno.test("deno install -g from a URL gives a distarch command that validates and runs", async () => {
  using dir = tempDir();
  await using server = serveRepo();
  const base = `http://127.0.0.1:${server.addr.port}`;
  try {
    const work = `${dir.path}/work`;
    Deno.mkdirSync(work);
    const install = await exec(
      Deno.execPath(),
      ["install", "-g", "-A", "-n", "distarch", "--root", `${dir.path}/root`, `${base}/cli.ts`],
      work,
    );
    assert.deepEqual(install.code, 0, install.stderr);
    const bin = `${dir.path}/root/bin/distarch`;

    const version = await exec(bin, ["--version"], work);
    assert.deepEqual(
      [version.code, version.stdout],
      [0, `distarch ${denoJson.version}\n`],
      version.stderr,
    );

    // a worker that imports the worker side by URL too
    Deno.writeTextFileSync(
      `${work}/hello.ts`,
      `import { Handler } from "${base}/slave/mod.ts";
await new Handler().run((h) => console.log(\`hello from \${h.id}\`));
`,
    );
    Deno.writeTextFileSync(
      `${work}/distarch.yaml`,
      `groups:
  - name: Hello
    command: hello.ts
    permissions: [--allow-import=127.0.0.1:${server.addr.port}]
    processes: [{ type: local, instances: 2 }]
`,
    );
    const valid = await exec(bin, ["validate"], work);
    assert.deepEqual(
      [valid.code, valid.stdout],
      [0, "distarch.yaml: ok (1 group, 2 instances)\n"],
      valid.stderr,
    );

    const run = await exec(bin, ["run", "--socket", `${work}/c.sock`], work);
    assert.deepEqual(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /\[Hello\] \[localhost\] \[hello\.ts\/2\/2\] hello from 2/);
    assert.match(run.stdout, /all instances are done \(2 ended\)/);
  } finally {
    await server.shutdown();
    await forgetOrigin(`127.0.0.1_PORT${server.addr.port}`);
  }
});
