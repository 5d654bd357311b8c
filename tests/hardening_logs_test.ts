/**
 * Hardening of the log path (issue 7 §2, §5, §6, §9): a stalled or failing
 * log output, terminal injection through worker output, and long lines.
 */

import assert from "node:assert/strict";
import { distarch, tempDir } from "../cli/_testing.ts";
import { writerLogger } from "../master/log.ts";
import type { Logger } from "../master/types.ts";
import { assertNoneLeft, fixture, group, marker, markScope, ROOT, runGroups } from "./_helpers.ts";

const dec = new TextDecoder();
const LEVEL = /^(debug|info|notice|warning|error|critical) - /;

/** A text logger into memory, with its raw fast path. */
function memoryText() {
  const chunks: Uint8Array[] = [];
  const logger = writerLogger({
    writeSync(p: Uint8Array) {
      chunks.push(p.slice());
      return p.length;
    },
  });
  const bytes = () => new Uint8Array(chunks.flatMap((c) => [...c]));
  return { logger, bytes, text: () => dec.decode(bytes()) };
}

Deno.test("text output escapes terminal controls and never lets a worker start an untagged line", async () => {
  for (const seen of [false, true]) { // the raw fast path, then the decoding path
    const mark = marker();
    const out = memoryText();
    const { summary } = await runGroups([group("G", "h_inject.sh", mark, { binPath: "sh" })], {
      logger: out.logger,
      ...(seen ? { events: { instanceSeen() {} } } : {}),
    });
    await out.logger.flush();
    assert.equal(summary.ok, true);
    const bytes = out.bytes();
    for (const bad of [0x1b, 0x07, 0x7f, 0x0d]) {
      assert.equal(bytes.indexOf(bad), -1, `byte ${bad} in the output (instanceSeen: ${seen})`);
    }
    assert.ok(!/\u009b/.test(out.text()), "no C1 CSI");
    const tag = "[G] [localhost] [h_inject.sh/1/1] ";
    const lines = out.text().split("\n").filter((l) => l !== "");
    for (const l of lines) assert.match(l, LEVEL, `untagged line ${JSON.stringify(l)}`);
    const mine = lines.filter((l) => l.includes(tag)).map((l) => l.slice(l.indexOf(tag)));
    for (
      const want of [
        tag + "title \\x1b]0;owned\\x07 end",
        tag + "clip \\x1b]52;c;ZXZpbA==\\x07 end",
        tag + "clear \\x1b[2J\\x1b[H end",
        tag + "fake tag\\rinfo - [Other] [localhost] [x/9/9] spoofed",
        tag + "c1 \\u009b del \\x7f tab\tend",
        tag + "two",
        tag + "lines",
        tag + "info - [Other] [localhost] [x/9/9] forged",
        tag + "esc \\x1b[31m red",
      ]
    ) assert.ok(mine.includes(want), `missing ${JSON.stringify(want)} in\n${mine.join("\n")}`);
    assert.ok(lines.includes(`error - ${tag}info - [Other] [localhost] [x/9/9] forged`));
    assert.ok(!lines.some((l) => l.startsWith("info - [Other]")), "no forged record");
    await assertNoneLeft(mark);
  }
});

Deno.test("a line longer than maxLineBytes becomes consecutive parts, not one byte dropped", async () => {
  const mark = marker();
  const out = memoryText();
  const cmd = async (logger?: Logger) =>
    await runGroups([
      group("L", "h_long_line.sh", mark, { binPath: "sh", env: { LONG_BYTES: "10000" } }),
    ], { maxLineBytes: 4096, ...(logger === undefined ? {} : { logger }) });
  const long = "abcdefghijklmnopqrstuvwxyz".repeat(400).slice(0, 10000);
  const { summary, log } = await cmd();
  assert.equal(summary.ok, true);
  const parts = log.of("h_long_line.sh/1/1").filter((r) => r.part !== undefined);
  assert.deepEqual(parts.map((r) => [r.part, r.lastPart, r.message.length]), [
    [1, false, 4096],
    [2, false, 4096],
    [3, true, 1808],
  ]);
  assert.equal(parts.map((r) => r.message).join(""), long);
  assert.ok(log.find("after").length === 1);

  assert.equal((await cmd(out.logger)).summary.ok, true);
  await out.logger.flush();
  const tag = "info - [L] [localhost] [h_long_line.sh/1/1] ";
  const lines = out.text().split("\n");
  const got = lines.filter((l) => l.startsWith(tag + "[part "));
  assert.deepEqual(got.map((l) => /^\[part \d+(, last)?\] /.exec(l.slice(tag.length))?.[0]), [
    "[part 1] ",
    "[part 2] ",
    "[part 3, last] ",
  ]);
  assert.equal(got.map((l) => l.replace(/^.*?\[part \d+(, last)?\] /, "")).join(""), long);
  assert.ok(lines.includes(tag + "after"));
  await assertNoneLeft(mark);
});

Deno.test("a master whose stdout is not read keeps supervising, and loses no line of a local instance", async () => {
  using scope = markScope();
  const mark = scope.mark;
  const lines = 200_000;
  const groups = [
    group("Flood", "w_flood.ts", mark, { params: { lines, width: 40 } }),
    group("Steady", "h_steady.sh", mark, { binPath: "sh", env: { STEADY_COUNT: "45" } }),
  ];
  const options = { checkInterval: 0.5, timeout: 2, restart: "never" };
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      fixture("h_stall_master.ts"),
      JSON.stringify(groups),
      JSON.stringify(options),
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  try {
    const ticks: number[] = [];
    let stderr = "";
    const readErr = (async () => {
      for await (const chunk of child.stderr) {
        stderr += dec.decode(chunk, { stream: true });
        const done = stderr.split("\n");
        stderr = done.pop()!;
        for (const l of done) if (l.startsWith("tick ")) ticks.push(Number(l.slice(5)));
      }
    })();
    // stdout is not read for 6 s while the flood fills the pipe
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 6000));
    const during = ticks.filter((t) => t >= t0 + 1000 && t <= t0 + 6000).length;
    let out = "";
    for await (const chunk of child.stdout) out += dec.decode(chunk, { stream: true });
    const status = await child.status;
    await readErr.catch(() => {});
    assert.equal(status.code, 0);
    assert.ok(during >= 5, `only ${during} check ticks while stdout was stalled (want ≥ 5)`);
    const flooded = out.split("\n").filter((l) => l.includes("[w_flood.ts/1/1] flood "));
    assert.equal(flooded.length, lines, "every flood line arrives once the reader is back");
    assert.ok(
      !/hung|dropped|lost/.test(out),
      out.split("\n").filter((l) => /hung|dropp|lost/.test(l)).join("\n"),
    );
    assert.match(out, /\[h_steady\.sh\/2\/1\] ended \(exit code 0\)/);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* ended */ }
    await child.status;
    await child.stdout.cancel().catch(() => {});
    await child.stderr.cancel().catch(() => {});
  }
  await assertNoneLeft(mark);
});

/** Runs `body` with a 256 KiB tmpfs mounted on a fresh directory, then unmounts and removes it. */
async function withFullDisk(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = Deno.makeTempDirSync({ prefix: "distarch-full-" });
  const mount = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=256k", "tmpfs", dir],
    stderr: "piped",
  }).output();
  try {
    assert.equal(mount.code, 0, `mount: ${dec.decode(mount.stderr)} (these tests need root)`);
    await body(dir);
  } finally {
    if (mount.code === 0) {
      const umount = await new Deno.Command("umount", { args: [dir] }).output();
      if (umount.code !== 0) await new Deno.Command("umount", { args: ["-l", dir] }).output();
    }
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("writerLogger on a full disk reports the error, counts lost lines, and never glues lines", async () => {
  await withFullDisk(async (dir) => {
    const filler = `${dir}/filler`;
    Deno.writeFileSync(filler, new Uint8Array(128 * 1024));
    const path = `${dir}/x.log`;
    using file = Deno.openSync(path, { create: true, append: true });
    const errors: string[] = [];
    const logger = writerLogger(file, { name: path, onError: (m) => errors.push(m) });
    const total = 20_000;
    for (let i = 0; i < total; i++) logger.log({ level: "info", message: `line ${i}`, time: 0 });
    await logger.flush();
    const { lost } = logger.stats();
    assert.ok(lost > 0 && lost < total, `lost ${lost}`);
    assert.equal(errors.length, 1, errors.join("\n"));
    assert.match(errors[0]!, new RegExp(`^cannot write to ${path}: .*; log lines are being lost$`));
    Deno.removeSync(filler); // space is back
    for (let i = 0; i < 100; i++) logger.log({ level: "info", message: `after ${i}`, time: 0 });
    await logger.flush();
    assert.match(errors[1] ?? "", /is writable again/);
    const lines = Deno.readTextFileSync(path).split("\n");
    assert.equal(lines.pop(), "", "the file ends with a newline");
    const whole = lines.filter((l) => /^info - line \d+$/.test(l)).length;
    const notice = lines.findIndex((l) => l.startsWith("warning - "));
    assert.match(
      lines[notice] ?? "",
      new RegExp(`^warning - ${lost} log lines lost: cannot write`),
    );
    assert.equal(whole + lost, total, "every line is either whole in the file or counted lost");
    for (const [i, l] of lines.entries()) {
      if (i === notice || /^info - (line|after) \d+$/.test(l)) continue;
      assert.equal(
        i,
        notice - 1,
        `only the torn line, just before the notice: ${JSON.stringify(l)}`,
      );
      assert.ok("info - line ".startsWith(l) || /^info - line \d*$/.test(l), l);
    }
    assert.equal(lines.slice(notice + 1).length, 100);
  });
});

Deno.test("distarch run --log-file on a full disk says so on stderr and exits non-zero", async () => {
  using scope = markScope();
  const mark = scope.mark;
  await withFullDisk(async (dir) => {
    using tmp = tempDir();
    const config = `${tmp.path}/f.yaml`;
    Deno.writeTextFileSync(
      config,
      `groups:\n  - name: F\n    command: ${ROOT}tests/fixtures/w_flood.ts\n` +
        `    params: { lines: 20000, width: 20 }\n    env: { DISTARCH_TEST_MARK: ${mark} }\n` +
        `    processes: [{ type: local, instances: 1 }]\n`,
    );
    const log = `${dir}/x.log`;
    const res = await distarch(["run", config, "--log-file", log, "--socket", `${tmp.path}/s`]);
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, new RegExp(`cannot write to --log-file ${log}: .*being lost`));
    assert.match(res.stderr, /the log is incomplete: \d+ log lines lost/);
  });
  await assertNoneLeft(mark);
});
