/**
 * Hardening of the log path (issue 7 §5, §9): terminal injection through
 * worker output, and long lines.
 */

import assert from "node:assert/strict";
import { Launcher } from "../master/launcher.ts";
import { writerLogger } from "../master/log.ts";
import { assertNoneLeft, collector, group, runWithin, withMarker } from "./_helpers.ts";

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
    await withMarker(async (mark) => {
      const out = memoryText();
      const launcher = new Launcher({
        logger: out.logger,
        handleSignals: false,
        ...(seen ? { events: { processSeen() {} } } : {}),
      });
      const summary = await runWithin(
        launcher,
        launcher.run([group("G", "h_inject.sh", mark, { binPath: "sh" })]),
        20_000,
      );
      await out.logger.flush();
      assert.equal(summary.ok, true);
      const bytes = out.bytes();
      for (const bad of [0x1b, 0x07, 0x7f, 0x0d]) {
        assert.equal(bytes.indexOf(bad), -1, `byte ${bad} in the output (processSeen: ${seen})`);
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
    });
  }
});

Deno.test("a line longer than maxLineBytes becomes consecutive parts, not one byte dropped", async () => {
  await withMarker(async (mark) => {
    const out = memoryText();
    const log = collector();
    const cmd = (logger: typeof log | typeof out.logger) => {
      const launcher = new Launcher({ logger, handleSignals: false, maxLineBytes: 4096 });
      return runWithin(
        launcher,
        launcher.run([
          group("L", "h_long_line.sh", mark, { binPath: "sh", env: { LONG_BYTES: "10000" } }),
        ]),
        20_000,
      );
    };
    const long = "abcdefghijklmnopqrstuvwxyz".repeat(400).slice(0, 10000);
    assert.equal((await cmd(log)).ok, true);
    const parts = log.of("h_long_line.sh/1/1").filter((r) => r.part !== undefined);
    assert.deepEqual(parts.map((r) => [r.part, r.lastPart, r.message.length]), [
      [1, false, 4096],
      [2, false, 4096],
      [3, true, 1808],
    ]);
    assert.equal(parts.map((r) => r.message).join(""), long);
    assert.ok(log.find("after").length === 1);

    assert.equal((await cmd(out.logger)).ok, true);
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
});
