import { deepStrictEqual, match, ok as assert, strictEqual } from "node:assert/strict";
import {
  decodeMessage,
  PREFIX,
  type WorkerContext,
  type WorkerMessage,
} from "../protocol/worker.ts";
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

/** One fixture worker, run as a real process in its own process group. */
class Worker implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  #stdout = "";
  #stderr = "";
  #waiters: (() => void)[] = [];
  readonly #done: Promise<Finished>;

  constructor(fixture: string, permissions: string[] = []) {
    const script = new URL(fixture, fixtures).pathname;
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", ...permissions, script],
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
        for (const wake of this.#waiters.splice(0)) wake();
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
        assert(m, `not a protocol line: ${l}`);
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
  async waitFor(text: string, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#stdout.includes(text)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${JSON.stringify(text)}`);
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        timer = setTimeout(resolve, 100);
      });
      clearTimeout(timer);
    }
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
  permissions: string[] = [],
): Promise<Finished> {
  await using worker = new Worker(fixture, permissions);
  await worker.send(JSON.stringify(contextFor(params)) + "\n");
  return await worker.finish();
}

/** True while `pid` runs (a zombie waiting to be reaped counts as dead). */
function isAlive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
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
  strictEqual(code, 0, stderr);
  const [log] = logs(messages);
  assert(log?.ctx, "no context log");
  deepStrictEqual(log.ctx, {
    id: 7,
    groupId: 2,
    groupCount: 3,
    host: "localhost",
    groupConfig: { name: "First Group", command: "w.ts", params },
    params,
  });
  deepStrictEqual(messages.at(-1), { t: "ended" });
});

Deno.test("Handler reads a context line that arrives in small pieces", async () => {
  await using worker = new Worker("w_echo_context.ts");
  const bytes = encoder.encode(JSON.stringify(contextFor({ a: "é" })) + "\n");
  for (let i = 0; i < bytes.length; i += 7) {
    await worker.send(bytes.subarray(i, i + 7));
  }
  const { code, messages } = await worker.finish();
  strictEqual(code, 0);
  deepStrictEqual(logs(messages)[0]?.ctx?.params, { a: "é" });
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
      strictEqual(code, 2);
      deepStrictEqual(stdout, []);
      const lines = stderr.trimEnd().split("\n");
      strictEqual(lines.length, 1, stderr);
      match(
        lines[0] ?? "",
        /^distarch: this is a distarch worker; start it with a distarch master/,
      );
    });
  }
});

Deno.test("SIGTERM sets mustStop, aborts the signal, cuts sleep short and ends cleanly", async () => {
  await using worker = new Worker("w_sleep.ts");
  await worker.send(JSON.stringify(contextFor({ sleep: 60 })) + "\n");
  await worker.waitFor("ready");
  const sent = Date.now();
  worker.kill("SIGTERM");
  const { code, messages } = await worker.finish();
  assert(Date.now() - sent < 5000, "sleep was not cut short");
  strictEqual(code, 0);
  const woke = logs(messages).find((m) => m.msg === "woke");
  deepStrictEqual(woke?.ctx, {
    slept: false,
    mustStop: true,
    stopping: true,
    aborted: true,
    reason: "stop requested: SIGTERM",
    sleepAfterStop: false,
  });
  deepStrictEqual(messages.at(-1), { t: "ended" });
});

Deno.test("SIGINT is a stop request too", async () => {
  await using worker = new Worker("w_sleep.ts");
  await worker.send(JSON.stringify(contextFor({ sleep: 60 })) + "\n");
  await worker.waitFor("ready");
  worker.kill("SIGINT");
  const { code, messages } = await worker.finish();
  strictEqual(code, 0);
  strictEqual(logs(messages).find((m) => m.msg === "woke")?.ctx?.reason, "stop requested: SIGINT");
});

Deno.test("stdin closing after the context line is a stop request", async () => {
  await using worker = new Worker("w_sleep.ts");
  await worker.send(JSON.stringify(contextFor({ sleep: 60 })) + "\n");
  await worker.waitFor("ready");
  await worker.closeStdin();
  const { code, messages } = await worker.finish();
  strictEqual(code, 0);
  const woke = logs(messages).find((m) => m.msg === "woke");
  strictEqual(woke?.ctx?.slept, false);
  match(String(woke?.ctx?.reason), /stdin closed/);
  deepStrictEqual(messages.at(-1), { t: "ended" });
});

Deno.test("sleep() resolves true when no stop is requested", async () => {
  const { code, messages } = await runWith("w_sleep.ts", { sleep: 0.1 });
  strictEqual(code, 0);
  const woke = logs(messages).find((m) => m.msg === "woke");
  strictEqual(woke?.ctx?.slept, true);
  strictEqual(woke?.ctx?.mustStop, false);
});

Deno.test("ping() in a tight loop writes at most one line per second", async () => {
  const { code, messages } = await runWith("w_ping.ts", { seconds: 1.5 });
  strictEqual(code, 0);
  const pings = messages.filter((m) => m.t === "ping").length;
  const calls = Number(logs(messages).find((m) => m.msg === "done")?.ctx?.calls);
  assert(calls > 1000, `only ${calls} ping() calls`);
  assert(pings >= 1 && pings <= 3, `${pings} ping lines`);
});

Deno.test("logger writes every level with its context, in order with console.log", async () => {
  const { code, messages, stdout } = await runWith("w_levels.ts");
  strictEqual(code, 0);
  const text = 'héllo ✓ "q"';
  deepStrictEqual(messages.slice(0, 6), [
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
  deepStrictEqual(stdout.slice(6), [
    `${PREFIX}notice no context`,
    `${PREFIX}{"t":"log","level":"warning","msg":"two\\nlines"}`,
    "plain line",
    `${PREFIX}ended`,
  ]);
});

Deno.test("a callback that throws is logged at critical and exits 1", async () => {
  const { code, messages, stdout } = await runWith("w_throw.ts", { message: "boom" });
  strictEqual(code, 1);
  strictEqual(stdout[0], "before the throw");
  const [critical] = logs(messages);
  strictEqual(critical?.level, "critical");
  match(critical?.msg ?? "", /boom/);
  strictEqual(critical?.ctx?.error, "boom");
  match(String(critical?.ctx?.stack), /w_throw\.ts/);
  assert(!messages.some((m) => m.t === "ended"), "a failed worker must not say ended");
});

Deno.test("a worker with no permission runs and sees PermissionDenied for itself", async () => {
  const { code, messages, stderr } = await runWith("w_permission.ts");
  strictEqual(code, 0, stderr);
  const [report] = logs(messages);
  strictEqual(report?.level, "error");
  strictEqual(report?.msg, "read denied");
  deepStrictEqual(messages.at(-1), { t: "ended" });
});

Deno.test("a granted permission reaches the worker", async () => {
  const path = new URL("w_permission.ts", fixtures).pathname;
  const { code, messages } = await runWith("w_permission.ts", { path }, [`--allow-read=${path}`]);
  strictEqual(code, 0);
  strictEqual(logs(messages)[0]?.msg, "read allowed");
});

Deno.test("Handler rejects a negative pingInterval with the value", () => {
  let error: unknown;
  try {
    new Handler({ pingInterval: -1 });
  } catch (e) {
    error = e;
  }
  assert(error instanceof RangeError);
  match(error.message, /'pingInterval'.*current value is -1/);
});

Deno.test("fixture workers: crash exits 3 after its lines, flood writes every line", async () => {
  const crash = await runWith("w_crash.ts", { lines: 2 });
  strictEqual(crash.code, 3);
  deepStrictEqual(crash.stdout, ["line 1", "line 2"]);
  strictEqual(crash.stderr, "crashing now\n");

  const flood = await runWith("w_flood.ts", { lines: 20_000, width: 10 });
  strictEqual(flood.code, 0);
  strictEqual(flood.stdout.length, 20_001);
  strictEqual(flood.stdout[19_999], "flood 20000 xxxxxxxxxx");
});

Deno.test("fixture workers: hang goes silent, ignore_term outlives SIGTERM", async () => {
  {
    await using worker = new Worker("w_hang.ts");
    await worker.send(JSON.stringify(contextFor()) + "\n");
    await worker.waitFor("about to hang");
    worker.kill("SIGTERM");
    await new Promise((resolve) => setTimeout(resolve, 700));
    worker.kill("SIGKILL");
    const { code, stdout } = await worker.finish();
    strictEqual(code, 137);
    deepStrictEqual(stdout, ["about to hang"]);
  }
  {
    await using worker = new Worker("w_ignore_term.ts");
    await worker.send(JSON.stringify(contextFor()) + "\n");
    await worker.waitFor("ready");
    worker.kill("SIGTERM");
    await worker.waitFor("ignoring it");
    await new Promise((resolve) => setTimeout(resolve, 300));
    worker.kill("SIGKILL");
    const { code } = await worker.finish();
    strictEqual(code, 137);
  }
});

Deno.test("fixture workers: grandchild is killed with the process group", async () => {
  await using worker = new Worker("w_grandchild.ts", ["--allow-run=sleep"]);
  await worker.send(JSON.stringify(contextFor()) + "\n");
  await worker.waitFor("grandchild started");
  Deno.kill(-worker.pid, "SIGKILL");
  const { stdout } = await worker.finish();
  const started = decodeMessage((stdout[0] ?? "").slice(PREFIX.length));
  const pid = started?.t === "log" ? Number(started.ctx?.pid) : NaN;
  assert(pid > 0, stdout.join("\n"));
  const deadline = Date.now() + 5000;
  while (isAlive(pid) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const alive = isAlive(pid);
  assert(!alive, `grandchild ${pid} survived`);
});
