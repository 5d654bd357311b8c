/**
 * Hardening of the log path (issue 7 §5): terminal injection through worker output.
 */

import assert from "node:assert/strict";
import { Launcher } from "../master/launcher.ts";
import { writerLogger } from "../master/log.ts";
import { assertNoneLeft, group, runWithin, withMarker } from "./_helpers.ts";

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
