/**
 * `distarch run` in a terminal: the live summary, checked on the screen a
 * real terminal (tmux) renders, and on the raw bytes under `script`.
 */

import assert from "node:assert/strict";
import { CLI, distarch, ROOT, tempDir } from "../cli/_testing.ts";
import { assertNoneLeft, markScope, waitFor } from "./_helpers.ts";

const hasTmux = (() => {
  try {
    Deno.statSync("/usr/bin/tmux");
    return true;
  } catch {
    return false;
  }
})();

function config(mark: string): string {
  return `groups:
  - name: First Group
    command: ${ROOT}tests/fixtures/w_sleep.ts
    env: { DISTARCH_TEST_MARK: ${mark} }
    processes: [{ type: local, instances: 3 }]
  - name: Second Group
    command: ${ROOT}tests/fixtures/w_sleep.ts
    env: { DISTARCH_TEST_MARK: ${mark} }
    processes: [{ type: local, instances: 2 }]
gracePeriod: 3
`;
}

async function tmux(server: string, ...args: string[]): Promise<string> {
  const out = await new Deno.Command("tmux", { args: ["-L", server, ...args], stderr: "piped" })
    .output();
  return new TextDecoder().decode(out.stdout);
}

Deno.test({
  name: "in a terminal, run pins a live per-group summary above the scrolling log",
  ignore: !hasTmux,
  async fn() {
    using dir = tempDir();
    using scope = markScope();
    const mark = scope.mark;
    const sock = `${dir.path}/t.sock`;
    const server = `distarch-test-${crypto.randomUUID().slice(0, 8)}`;
    Deno.writeTextFileSync(`${dir.path}/d.yaml`, config(mark));
    const cmd = `NO_COLOR=1 '${Deno.execPath()}' run -A '${CLI}' run '${dir.path}/d.yaml' ` +
      `--socket '${sock}'; echo "exit=$?"; sleep 30`;
    await tmux(server, "new-session", "-d", "-x", "100", "-y", "30", cmd);
    try {
      const screen = await waitFor(
        async () => {
          const s = await tmux(server, "capture-pane", "-p");
          const shown =
            /^First Group\s+3\s+3\s+0\s+0\s+0\s+0\s+0\s+0\s+(-|\d+\.\d%)\s+(-|\d+(\.\d)? [KMG]?i?B)\s*$/m
              .test(s) &&
            /^Second Group\s+2\s+2\s+0/m.test(s) && s.includes("] ready");
          return shown ? s : undefined;
        },
        15_000,
        "the live summary with 3 + 2 running",
      );
      const lines = screen.split("\n");
      assert.match(lines[0]!, /^distarch · up \d+s · 5 instances · control /);
      assert.match(
        lines[1]!,
        /^GROUP\s+RUNNING\s+READY\s+STARTING\s+RESTARTING\s+STOPPING\s+FAILED\s+SUSPENDED\s+DONE\s+CPU\s+MEM$/,
      );
      assert.ok(lines[4]!.startsWith("───"), lines[4]);
      assert.ok(lines.slice(5).some((l) => l.includes("started (pid")), screen);

      // the summary follows suspend, and stays on top while the log scrolls
      assert.deepEqual((await distarch(["suspend", "Second Group", "--socket", sock])).code, 0);
      await waitFor(
        async () => {
          const s = await tmux(server, "capture-pane", "-p");
          return /^Second Group\s+0\s+0\s+0\s+0\s+0\s+0\s+2\s+0\s+(-|\d+\.\d%)\s+(-|\d+(\.\d)? [KMG]?i?B)\s*$/m
            .test(s.split("\n")[3] ?? "");
        },
        8000,
        "Second Group shown suspended on line 4",
      );

      assert.deepEqual((await distarch(["stop", "--socket", sock])).code, 0);
      const end = await waitFor(
        async () => {
          const s = await tmux(server, "capture-pane", "-p", "-S", "-100");
          return s.includes("exit=") ? s : undefined;
        },
        15_000,
        "the master to end",
      );
      assert.match(end, /exit=0/);
      assert.match(
        end,
        /First Group\s+0\s+0\s+0\s+0\s+0\s+0\s+0\s+3/,
        "the final summary stays on screen",
      );
      await assertNoneLeft(mark);
    } finally {
      await tmux(server, "kill-server");
    }
  },
});

Deno.test("under script, run draws with escapes in a scroll region and restores it at exit", async () => {
  using dir = tempDir();
  const sh = `stty rows 30 cols 100; '${Deno.execPath()}' run -A '${CLI}' run ` +
    `'${ROOT}examples/distarch.yaml' --socket '${dir.path}/s'`;
  const out = await new Deno.Command("script", {
    args: ["-qfec", sh, "/dev/null"],
    stdin: "null",
    stdout: "piped",
  }).output();
  assert.deepEqual(out.code, 0);
  const text = new TextDecoder().decode(out.stdout);
  assert.ok(text.includes("\x1b[6;30r"), "a scroll region below 5 summary lines");
  assert.match(text, new RegExp("\x1b\\[3;1H\x1b\\[2KFirst Group\\s"));
  assert.ok(text.includes("Hello World!"));
  assert.ok(text.trimEnd().endsWith("\x1b[r\x1b[30;1H"), JSON.stringify(text.slice(-40)));
});

Deno.test("--plain and --log-format json keep a terminal free of the live view", async () => {
  using dir = tempDir();
  for (const flag of ["--plain", "--log-format=json"]) {
    const sh = `stty rows 30 cols 100; '${Deno.execPath()}' run -A '${CLI}' run ` +
      `'${ROOT}examples/distarch.yaml' --socket '${dir.path}/s' ${flag}`;
    const out = await new Deno.Command("script", {
      args: ["-qfec", sh, "/dev/null"],
      stdin: "null",
      stdout: "piped",
    }).output();
    assert.deepEqual(out.code, 0);
    assert.ok(!new TextDecoder().decode(out.stdout).includes("\x1b[6;30r"), flag);
  }
});
