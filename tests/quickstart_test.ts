// The README's quick start, pasted into an empty directory outside the
// repository: install the CLI, write worker.ts and distarch.yaml, run, ps, stop.
// JSR is played by a loopback server holding this checkout (JSR_URL), so the
// README's jsr: specifiers are used as written.
import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import { assertNoneLeft, killMarked, marker, ROOT, waitFor } from "./_helpers.ts";
import { serveFiles } from "./_file_server.ts";

const QUICKSTART = `${ROOT}examples/quickstart/`;

/** The fenced blocks of a markdown text, with their info string. */
function fencedBlocks(markdown: string): { info: string; text: string }[] {
  return [...markdown.matchAll(/^```([^\n]*)\n([\s\S]*?)^```$/gm)].map((m) => ({
    info: m[1] ?? "",
    text: m[2] ?? "",
  }));
}

/** The commands of a shell block, without comments and blank lines. */
function commands(block: string): string[] {
  return block.split("\n").map((l) => l.replace(/\s+#.*$/, "").trim()).filter((l) => l !== "");
}

Deno.test("the README's quick start is examples/quickstart/, verbatim", async () => {
  const blocks = fencedBlocks(await Deno.readTextFile(`${ROOT}README.md`));
  for (
    const [file, info] of [["worker.ts", "ts"], ["distarch.yaml", "yaml"], ["commands.sh", "sh"]]
  ) {
    const text = await Deno.readTextFile(QUICKSTART + file);
    assert(
      blocks.some((b) => b.info === info && b.text === text),
      `README.md has no \`\`\`${info} block equal to examples/quickstart/${file}:\n${text}`,
    );
  }
  const install = blocks.find((b) => b.text.startsWith("deno install "));
  assertEquals(
    commands(install?.text ?? ""),
    ["deno install -g -A -n distarch jsr:@distarch/distarch/cli"],
  );
});

Deno.test({
  name: "the quick start works in an empty directory: install, run, ps, stop",
  sanitizeResources: false,
  async fn() {
    const blocks = fencedBlocks(await Deno.readTextFile(`${ROOT}README.md`));
    const install = commands(blocks.find((b) => b.text.startsWith("deno install "))?.text ?? "");
    const steps = commands(await Deno.readTextFile(QUICKSTART + "commands.sh"));
    assertEquals(steps.length, 3, "run, ps, stop");
    await using server = serveFiles();
    const dir = await Deno.makeTempDir({ prefix: "distarch-quickstart-" });
    const mark = marker(); // inherited by the master's workers
    let master: Deno.ChildProcess | undefined;
    try {
      for (const sub of ["work", "root", "run", "tmp"]) await Deno.mkdir(`${dir}/${sub}`);
      const env = {
        JSR_URL: server.url,
        DENO_DIR: `${dir}/deno`, // this test's jsr: downloads go away with it
        PATH: `${dir}/root/bin:${Deno.env.get("PATH")}`,
        XDG_RUNTIME_DIR: `${dir}/run`, // the control socket: ours, not a shared /tmp one
        TMPDIR: `${dir}/tmp`,
        NO_COLOR: "1",
        DISTARCH_TEST_MARK: mark,
      };
      const sh = (line: string) =>
        new Deno.Command("sh", {
          args: ["-c", `exec ${line}`],
          cwd: `${dir}/work`,
          env,
          stdin: "null",
          stdout: "piped",
          stderr: "piped",
        });
      const text = (b: Uint8Array) => new TextDecoder().decode(b);
      // deno install -g … into a root of ours (the README's line, plus --root)
      const [installLine = ""] = install;
      const inst = await sh(installLine.replace(" -g ", ` -g --root ${dir}/root `)).output();
      assertEquals(inst.code, 0, text(inst.stderr));
      for (const file of ["worker.ts", "distarch.yaml"]) {
        await Deno.copyFile(QUICKSTART + file, `${dir}/work/${file}`);
      }

      const [runLine = "", psLine = "", stopLine = ""] = steps;
      master = sh(runLine).spawn();
      let out = "";
      const reading = (async () => {
        for await (const chunk of master.stdout.pipeThrough(new TextDecoderStream())) out += chunk;
      })();
      const errText = new Response(master.stderr).text();
      // each worker's 3 lines may come in one chunk or more: wait for the last of them
      await waitFor(() => (out.match(/Hello World!/g) ?? []).length === 3, 60_000, "3 workers");
      assert(out.includes("[First Group] [localhost] [worker.ts/1/1] My ID : 1"), out);
      assert(out.includes("[First Group] [localhost] [worker.ts/1/1] Hello World!"), out);

      const ps = await sh(psLine).output();
      assertEquals(ps.code, 0, text(ps.stderr));
      assertEquals(text(ps.stdout).match(/ running /g)?.length, 3, text(ps.stdout));

      const stop = await sh(stopLine).output();
      assertEquals(stop.code, 0, text(stop.stdout) + text(stop.stderr));
      assert(text(stop.stdout).includes("master stopped: 3 stopped"), text(stop.stdout));
      const st = await master.status;
      await reading;
      assertEquals(st.code, 0, out + (await errText));
      master = undefined;
      assertEquals([...Deno.readDirSync(`${dir}/tmp`)].map((e) => e.name), []);
    } finally {
      if (master !== undefined) {
        try {
          master.kill("SIGKILL");
        } catch { /* gone */ }
        await master.status;
      }
      killMarked(mark);
      await assertNoneLeft(mark);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
