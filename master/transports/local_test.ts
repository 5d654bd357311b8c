import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import { spawnProcess } from "./local.ts";

const decoder = new TextDecoder();

/** Runs `script` with sh; `onOutput` may hold reading back. Returns the instance and its text. */
function sh(script: string, hold?: () => Promise<void> | undefined) {
  let out = "";
  let err = "";
  const instance = spawnProcess(
    { argv: ["sh", "-c", script], env: {}, stdinLine: "{}\n" },
    (stream, chunk) => {
      if (stream === "stdout") out += decoder.decode(chunk);
      else err += decoder.decode(chunk);
      return hold?.();
    },
  );
  return { instance, out: () => out, err: () => err };
}

/** Kills the child the script announced on stderr as `escaped <pid>` (ours to clean up). */
function killEscaped(err: string): void {
  const pid = Number(/escaped (\d+)/.exec(err)?.[1]);
  if (pid > 0) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  }
}

const ESCAPE = "setsid sh -c 'echo escaped $$ >&2; exec sleep 30' & ";

Deno.test("spawnProcess: the status follows the exit, though a child that left the group holds the pipes", async () => {
  const { instance, out, err } = sh(`${ESCAPE} sleep 0.2; echo last words; exit 3`);
  try {
    const t0 = Date.now();
    const st = await instance.status;
    const ms = Date.now() - t0;
    assertEquals(st, { code: 3, signal: null });
    assert(ms < 4000, `status after ${ms} ms`);
    assertEquals(out(), "last words\n");
    const pid = Number(/escaped (\d+)/.exec(err())?.[1]);
    assert(Deno.readTextFileSync(`/proc/${pid}/stat`).length > 0, "the escaped child is not ours");
  } finally {
    killEscaped(err());
  }
});

Deno.test("spawnProcess: a slow consumer loses nothing of what the pipe held at the exit", async () => {
  let first = true;
  // 5000 lines (24 KB) fit in the pipe: the worker has exited long before they are read
  const { instance, out, err } = sh(
    `${ESCAPE} echo first; sleep 0.3; seq 1 5000; exit 0`,
    () => {
      if (!first) return undefined;
      first = false;
      return new Promise((r) => setTimeout(r, 2500)); // longer than the drain's 1 s
    },
  );
  try {
    await instance.status;
    const lines = out().split("\n");
    assertEquals(lines.length, 5002, `got ${lines.length - 2} lines`);
    assertEquals(lines[5000], "5000");
  } finally {
    killEscaped(err());
  }
});
