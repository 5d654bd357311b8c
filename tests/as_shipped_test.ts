// The package as users get it: imported by URL (as from a registry) from a
// directory outside the repository, running local and remote instances.
import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import { assertNoneLeft, killMarked, marker } from "./_helpers.ts";
import { serveFiles } from "./_file_server.ts";
import { sshdUnavailable, startSshd } from "./_sshd.ts";

const ignore = sshdUnavailable() !== undefined;

/** A master script that imports the library by URL and runs the groups it reads on stdin. */
function masterScript(url: string): string {
  return `import { Launcher } from "${url}master/mod.ts";
const groups = JSON.parse(await new Response(Deno.stdin.readable).text());
const summary = await new Launcher({ sshLease: 5, gracePeriod: 2 }).run(groups);
console.log("SUMMARY " + JSON.stringify(summary.instances.map((i) => [i.host, i.state])));
Deno.exitCode = summary.ok ? 0 : 1;
`;
}

/** A worker that imports the worker side by URL. */
function workerScript(url: string): string {
  return `import { Handler } from "${url}slave/mod.ts";
await new Handler().run((h) => {
  console.log(\`as-shipped worker \${h.id} of \${h.groupCount}\`);
});
`;
}

Deno.test({
  name: "imported by URL from outside the repo, the library runs local and remote instances",
  ignore,
  sanitizeResources: false,
  async fn() {
    await using server = serveFiles();
    await using sshd = await startSshd({ hosts: 1 });
    const dir = await Deno.makeTempDir({ prefix: "distarch-as-shipped-" });
    const mark = marker();
    try {
      // the master's own temporary files go to a directory of ours, checked empty at the end
      await Deno.mkdir(`${dir}/tmp`);
      await Deno.writeTextFile(`${dir}/master.ts`, masterScript(server.url));
      await Deno.writeTextFile(`${dir}/worker.ts`, workerScript(server.url));
      const groups = [{
        name: "Shipped",
        command: "worker.ts",
        env: { DISTARCH_TEST_MARK: mark },
        // 127.0.0.1 is not among Deno's default import hosts (jsr.io is)
        permissions: [`--allow-import=${server.host}`],
        processes: [{ type: "local", instances: 2 }, sshd.remoteConfig({ instances: 2 })],
      }];
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "master.ts"],
        cwd: dir,
        env: { TMPDIR: `${dir}/tmp`, DENO_DIR: `${dir}/deno`, NO_COLOR: "1" },
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(JSON.stringify(groups)));
      await w.close();
      const out = await child.output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      assertEquals(out.code, 0, text);
      const summary = text.split("\n").find((l) => l.startsWith("SUMMARY "));
      assertEquals(
        JSON.parse(summary?.slice(8) ?? "null"),
        [["localhost", "ended"], ["localhost", "ended"], [sshd.hosts[0], "ended"], [
          sshd.hosts[0],
          "ended",
        ]],
        text,
      );
      for (const id of [1, 2, 3, 4]) {
        assert(text.includes(`as-shipped worker ${id} of 4`), `no line of worker ${id}:\n${text}`);
      }
      // the agent comes prebuilt with the module graph: its source is never fetched
      assert(!server.requests.includes("/slave/agent.ts"), server.requests.join("\n"));
      assertEquals([...Deno.readDirSync(`${dir}/tmp`)].map((e) => e.name), []);
    } finally {
      killMarked(mark);
      await assertNoneLeft(mark);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
