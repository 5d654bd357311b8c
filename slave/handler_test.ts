import assert from "node:assert/strict";
import {
  decodeMessage,
  PREFIX,
  type WorkerContext,
  type WorkerMessage,
} from "../protocol/worker.ts";
import { waitFor } from "../tests/_helpers.ts";
import { Handler } from "./handler.ts";

const fixtures = new URL("../tests/fixtures/", import.meta.url);
const encoder = new TextEncoder();

function contextFor(params: Record<string, unknown> = {}): WorkerContext {
  return {
    v: 1,
    id: 7,
    groupId: 2,
    groupCount: 3,
    host: "localhost",
    group: { name: "First Group", command: "w.ts", params },
  };
}

interface Finished {
  code: number;
  stdout: string[];
  stderr: string;
  messages: WorkerMessage[];
}

/** Options of a {@linkcode Worker}. */
interface WorkerOptions {
  /** Deno permission flags. @default {[]} */
  permissions?: string[];
  /** Arguments after the script. @default {[]} */
  args?: string[];
}

/** One fixture worker, run as a real process in its own process group. */
class Worker implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #stdout = "";
  #stderr = "";
  readonly #done: Promise<Finished>;

  constructor(fixture: string, options: WorkerOptions = {}) {
    const { permissions = [], args = [] } = options;
    const script = new URL(fixture, fixtures).pathname;
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", ...permissions, script, ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      detached: true,
    }).spawn();
    this.#stdin = this.#child.stdin.getWriter();
    const pump = async (stream: ReadableStream<Uint8Array>, out: "stdout" | "stderr") => {
      const dec = new TextDecoder();
      for await (const chunk of stream) {
        if (out === "stdout") this.#stdout += dec.decode(chunk, { stream: true });
        else this.#stderr += dec.decode(chunk, { stream: true });
      }
    };
    this.#done = Promise.all([
      this.#child.status,
      pump(this.#child.stdout, "stdout"),
      pump(this.#child.stderr, "stderr"),
    ]).then(([status]) => {
      const stdout = this.#stdout.split("\n").filter((l) => l !== "");
      const messages = stdout.filter((l) => l.startsWith(PREFIX)).map((l) => {
        const m = decodeMessage(l.slice(PREFIX.length));
        assert.ok(m, `not a protocol line: ${l}`);
        return m;
      });
      return { code: status.code, stdout, stderr: this.#stderr, messages };
    });
  }

  get pid(): number {
    return this.#child.pid;
  }

  async send(text: string | Uint8Array): Promise<void> {
    await this.#stdin.write(typeof text === "string" ? encoder.encode(text) : text);
  }

  async closeStdin(): Promise<void> {
    await this.#stdin.close().catch(() => {});
  }

  kill(signal: Deno.Signal): void {
    Deno.kill(this.#child.pid, signal);
  }

  /** Waits until stdout contains `text`. */
  async printed(text: string, timeoutMs = 10_000): Promise<void> {
    await waitFor(() => this.#stdout.includes(text), timeoutMs, JSON.stringify(text));
  }

  /** Waits for the process to exit; kills its group after `timeoutMs`. */
  async finish(timeoutMs = 15_000): Promise<Finished> {
    const timer = setTimeout(() => this.#killGroup(), timeoutMs);
    try {
      return await this.#done;
    } finally {
      clearTimeout(timer);
      await this.closeStdin();
    }
  }

  #killGroup(): void {
    try {
      Deno.kill(-this.#child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#killGroup();
    await this.#done.catch(() => {});
    await this.closeStdin();
  }
}

/** Runs a fixture with one context line and stdin kept open until it exits. */
async function runWith(
  fixture: string,
  params: Record<string, unknown> = {},
  options: WorkerOptions = {},
): Promise<Finished> {
  await using worker = new Worker(fixture, options);
  await worker.send(JSON.stringify(contextFor(params)) + "\n");
  return await worker.finish();
}

function logs(messages: WorkerMessage[]) {
  return messages.filter((m): m is Extract<WorkerMessage, { t: "log" }> => m.t === "log");
}

Deno.test("Handler gives the worker its context and params intact", async () => {
  const params = {
    message: "Hello World!",
    unicode: "héllo ✓ 日本語 🚀",
    quotes: `it's "quoted" \\ back\\slash`,
    shell: "$(rm -rf /) `reboot` ; | & > <",
    newlines: "line1\nline2\r\nline3",
    nested: { list: [1, 2.5, null, true, { deep: "x" }] },
    big: "x".repeat(1024 * 1024),
  };
  const { code, messages, stderr } = await runWith("w_echo_context.ts", params);
  assert.equal(code, 0, stderr);
  const [log] = logs(messages);
  assert.ok(log?.ctx, "no context log");
  assert.deepEqual(log.ctx, {
    id: 7,
    groupId: 2,
    groupCount: 3,
    host: "localhost",
    groupConfig: { name: "First Group", command: "w.ts", params },
    params,
  });
  assert.deepEqual(messages.at(-1), { t: "ended" });
});

Deno.test("Handler reads a context line that arrives in small pieces", async () => {
  await using worker = new Worker("w_echo_context.ts");
  const bytes = encoder.encode(JSON.stringify(contextFor({ a: "é" })) + "\n");
  for (let i = 0; i < bytes.length; i += 7) {
    await worker.send(bytes.subarray(i, i + 7));
  }
  const { code, messages } = await worker.finish();
  assert.equal(code, 0);
  assert.deepEqual(logs(messages)[0]?.ctx?.params, { a: "é" });
});

Deno.test("Handler run by hand exits 2 with one line on stderr", async (t) => {
  const cases: [string, string | undefined][] = [
    ["stdin closed at once", undefined],
    ["not JSON", "hello\n"],
    ["wrong version", JSON.stringify({ ...contextFor(), v: 2 }) + "\n"],
    [
      "missing params",
      JSON.stringify({ ...contextFor(), group: { name: "g", command: "c" } }) + "\n",
    ],
    ["no newline before EOF", JSON.stringify(contextFor())],
  ];
  for (const [name, input] of cases) {
    await t.step(name, async () => {
      await using worker = new Worker("w_echo_context.ts");
      if (input !== undefined) await worker.send(input);
      await worker.closeStdin();
      const { code, stdout, stderr } = await worker.finish();
      assert.equal(code, 2);
      assert.deepEqual(stdout, []);
      const lines = stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, stderr);
      assert.match(
        lines[0] ?? "",
        /^distarch: this is a distarch worker; start it with a distarch master/,
      );
    });
  }
});

Deno.test("SIGTERM sets mustStop, aborts the signal, cuts sleep short and ends cleanly", async () => {
  await using worker = new Worker("w_sleep.ts");
  await worker.send(JSON.stringify(contextFor({ sleep: 60 })) + "\n");
  await worker.printed("ready");
  const sent = Date.now();
  worker.kill("SIGTERM");
  const { code, messages } = await worker.finish();
  assert.ok(Date.now() - sent < 5000, "sleep was not cut short");
  assert.equal(code, 0);
  const woke = logs(messages).find((m) => m.msg === "woke");
  assert.deepEqual(woke?.ctx, {
    slept: false,
    mustStop: true,
    stopping: true,
    aborted: true,
    reason: "stop requested: SIGTERM",
    sleepAfterStop: false,
  });
  assert.deepEqual(messages.at(-1), { t: "ended" });
});

Deno.test("SIGINT is a stop request too", async () => {
  await using worker = new Worker("w_sleep.ts");
  await worker.send(JSON.stringify(contextFor({ sleep: 60 })) + "\n");
  await worker.printed("ready");
  worker.kill("SIGINT");
  const { code, messages } = await worker.finish();
  assert.equal(code, 0);
  assert.equal(logs(messages).find((m) => m.msg === "woke")?.ctx?.reason, "stop requested: SIGINT");
});

Deno.test("stdin closing after the context line is a stop request", async () => {
  await using worker = new Worker("w_sleep.ts");
  await worker.send(JSON.stringify(contextFor({ sleep: 60 })) + "\n");
  await worker.printed("ready");
  await worker.closeStdin();
  const { code, messages } = await worker.finish();
  assert.equal(code, 0);
  const woke = logs(messages).find((m) => m.msg === "woke");
  assert.equal(woke?.ctx?.slept, false);
  assert.match(String(woke?.ctx?.reason), /stdin closed/);
  assert.deepEqual(messages.at(-1), { t: "ended" });
});

Deno.test("sleep() resolves true when no stop is requested", async () => {
  const { code, messages } = await runWith("w_sleep.ts", { sleep: 0.1 });
  assert.equal(code, 0);
  const woke = logs(messages).find((m) => m.msg === "woke");
  assert.equal(woke?.ctx?.slept, true);
  assert.equal(woke?.ctx?.mustStop, false);
});

Deno.test("logger writes every level with its context, in order with console.log", async () => {
  const { code, messages, stdout } = await runWith("w_levels.ts");
  assert.equal(code, 0);
  const text = 'héllo ✓ "q"';
  assert.deepEqual(messages.slice(0, 6), [
    { t: "log", level: "debug", msg: "debug message", ctx: { level: "debug", n: 0, text } },
    { t: "log", level: "info", msg: "info message", ctx: { level: "info", n: 1, text } },
    { t: "log", level: "notice", msg: "notice message", ctx: { level: "notice", n: 2, text } },
    { t: "log", level: "warning", msg: "warning message", ctx: { level: "warning", n: 3, text } },
    { t: "log", level: "error", msg: "error message", ctx: { level: "error", n: 4, text } },
    {
      t: "log",
      level: "critical",
      msg: "critical message",
      ctx: { level: "critical", n: 5, text },
    },
  ]);
  assert.deepEqual(stdout.slice(6), [
    `${PREFIX}notice no context`,
    `${PREFIX}{"t":"log","level":"warning","msg":"two\\nlines"}`,
    "plain line",
    `${PREFIX}ended`,
  ]);
});

Deno.test("a callback that throws is logged at critical and exits 1", async () => {
  const { code, messages, stdout } = await runWith("w_throw.ts", { message: "boom" });
  assert.equal(code, 1);
  assert.equal(stdout[0], "before the throw");
  const [critical] = logs(messages);
  assert.equal(critical?.level, "critical");
  assert.match(critical?.msg ?? "", /boom/);
  assert.equal(critical?.ctx?.error, "boom");
  assert.match(String(critical?.ctx?.stack), /w_throw\.ts/);
  assert.ok(!messages.some((m) => m.t === "ended"), "a failed worker must not say ended");
});

Deno.test("a worker with no permission runs and sees PermissionDenied for itself", async () => {
  const { code, messages, stderr } = await runWith("w_permission.ts");
  assert.equal(code, 0, stderr);
  const [report] = logs(messages);
  assert.equal(report?.level, "error");
  assert.equal(report?.msg, "read denied");
  assert.deepEqual(messages.at(-1), { t: "ended" });
});

Deno.test("a granted permission reaches the worker", async () => {
  const path = new URL("w_permission.ts", fixtures).pathname;
  const { code, messages } = await runWith("w_permission.ts", { path }, {
    permissions: [`--allow-read=${path}`],
  });
  assert.equal(code, 0);
  assert.equal(logs(messages)[0]?.msg, "read allowed");
});

Deno.test("Handler rejects a negative pingInterval with the value", () => {
  let error: unknown;
  try {
    new Handler({ pingInterval: -1 });
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof RangeError);
  assert.match(error.message, /'pingInterval'.*current value is -1/);
});

Deno.test("ping() writes at most one line per pingInterval, by a fake clock", async (t) => {
  // which of the calls at these times (ms) wrote a ping line
  const at = [0, 0, 500, 999.9, 1000, 1000, 1999, 2000.5, 2600, 5000];
  const cases: [string, string[], number[]][] = [
    ["the default, 1 s", [], [0, 1000, 2000.5, 5000]],
    ["pingInterval: 2.5", ["2.5"], [0, 2600]],
    ["pingInterval: 0 pings on every call", ["0"], at],
  ];
  for (const [name, args, want] of cases) {
    await t.step(name, async () => {
      const { code, stdout, stderr } = await runWith("w_handler_probe.ts", {
        probe: "ping-clock",
        at,
      }, { args });
      assert.equal(code, 0, stderr);
      const pinged: number[] = [];
      let now = NaN;
      for (const line of stdout) {
        if (line.startsWith("t=")) now = Number(line.slice(2));
        else if (line === `${PREFIX}ping`) pinged.push(now);
      }
      assert.deepEqual(pinged, want, stdout.join("\n"));
    });
  }
});

Deno.test("Handler.run() called a second time rejects, and the first run goes on", async () => {
  const { code, messages, stderr } = await runWith("w_handler_probe.ts", { probe: "run-twice" });
  assert.equal(code, 0, stderr);
  assert.deepEqual(logs(messages).map((m) => [m.level, m.msg, m.ctx]), [
    ["info", "second run()", { again: "Error: Cannot run Handler: run() was already called" }],
  ]);
  assert.deepEqual(messages.at(-1), { t: "ended" });
});

Deno.test("a log context JSON cannot encode keeps its message and explains the context", async () => {
  const { code, messages, stderr } = await runWith("w_handler_probe.ts", { probe: "bad-context" });
  assert.equal(code, 0, stderr);
  const got = logs(messages);
  assert.deepEqual(got.map((m) => [m.level, m.msg]), [
    ["warning", "bigint"],
    ["error", "cycle"],
    ["info", "after"],
  ]);
  assert.match(String(got[0]?.ctx?.ctxError), /^context not serializable: TypeError: .*BigInt/);
  assert.match(String(got[1]?.ctx?.ctxError), /^context not serializable: TypeError: .*circular/i);
  assert.equal(got[2]?.ctx, undefined);
  assert.deepEqual(messages.at(-1), { t: "ended" });
});

Deno.test("a callback that throws a non-Error is logged at critical with its text and exits 1", async () => {
  const { code, messages } = await runWith("w_handler_probe.ts", { probe: "throw-string" });
  assert.equal(code, 1);
  assert.deepEqual(logs(messages).map((m) => [m.level, m.msg, m.ctx]), [
    ["critical", "worker failed: a plain string", { error: "a plain string" }],
  ]);
  assert.ok(!messages.some((m) => m.t === "ended"), "a failed worker must not say ended");
});
