// The dashboard as users get it: a master script outside the repository
// imports the library by URL and serves the dashboard; its page, script and
// metrics come from TypeScript modules, so nothing is read from disk.
import assert from "node:assert/strict";
import { serveFiles } from "./_file_server.ts";
import { assertNoneLeft, fixture, killMarked, marker } from "./_helpers.ts";

function masterScript(url: string, worker: string, mark: string): string {
  return `import { Launcher, LogFeed, serveDashboard, writerLogger } from "${url}master/mod.ts";
const feed = new LogFeed();
const logger = feed.wrap(writerLogger(Deno.stdout));
const launcher = new Launcher({ logger, handleSignals: false, gracePeriod: 2 });
const done = launcher.run([{
  name: "Shipped",
  command: ${JSON.stringify(worker)},
  env: { DISTARCH_TEST_MARK: ${JSON.stringify(mark)} },
  processes: [{ type: "local", instances: 1 }],
}]);
const dashboard = serveDashboard(launcher, { feed, logger, listen: "127.0.0.1:0" });
logger.flush();
// stopped from the test through POST /api/stop
await done;
await dashboard.close();
`;
}

Deno.test({
  name: "imported by URL, a master script serves the dashboard's page, script and metrics",
  sanitizeResources: false,
  async fn() {
    await using server = serveFiles();
    const dir = await Deno.makeTempDir({ prefix: "distarch-dashboard-shipped-" });
    const mark = marker();
    try {
      await Deno.writeTextFile(
        `${dir}/master.ts`,
        masterScript(server.url, fixture("d_worker.ts"), mark),
      );
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "master.ts"],
        cwd: dir,
        env: { DENO_DIR: `${dir}/deno`, NO_COLOR: "1" },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      const deadline = Date.now() + 60_000;
      while (!/dashboard: (http\S+)\n/.test(text)) {
        assert(Date.now() < deadline, `no login line:\n${text}`);
        const { value, done } = await lines.read();
        assert(!done, `the master ended:\n${text}`);
        text += value;
      }
      const login = new URL(/dashboard: (http\S+)\n/.exec(text)![1]!);
      const headers = { authorization: `Bearer ${login.searchParams.get("token")}` };
      for (const [path, want] of [["/", "<title>distarch</title>"], ["/app.js", "EventSource"]]) {
        const res = await fetch(new URL(path!, login), { headers });
        assert.equal(res.status, 200);
        assert((await res.text()).includes(want!), path);
      }
      const metrics = await fetch(new URL("/metrics", login), { headers });
      assert.match(await metrics.text(), /distarch_instance_up\{group="Shipped"/);
      const stop = await fetch(new URL("/api/stop", login), { method: "POST", headers });
      assert.equal(stop.status, 202);
      await stop.body?.cancel();
      void (async () => {
        for (;;) if ((await lines.read()).done) return;
      })();
      const status = await child.status;
      await new Response(child.stderr).text();
      assert.equal(status.code, 0);
      assert(!server.requests.some((r) => r.endsWith(".html") || r.endsWith(".css")));
    } finally {
      killMarked(mark);
      await Deno.remove(dir, { recursive: true });
    }
    await assertNoneLeft(mark);
  },
});
