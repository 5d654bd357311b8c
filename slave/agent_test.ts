import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  AGENT_MAGIC,
  AGENT_PROTOCOL_VERSION,
  type AgentCommand,
  type AgentEvent,
  FRAME,
  FrameDecoder,
} from "../protocol/agent.ts";
import { pidAlive, waitFor } from "../tests/_helpers.ts";

const AGENT = new URL("./agent.ts", import.meta.url).pathname;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const alive = pidAlive;

/** Waits for `cond` (the shared `waitFor`, named for what it waits for). */
const until = (what: string, cond: () => boolean, ms = 10_000) =>
  waitFor(cond, ms, what).then(() => {});

/** A local agent subprocess with piped stdin/stdout, and its decoded output. */
class Agent implements AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly events: AgentEvent[] = [];
  readonly output = new Map<number, string>();
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly done: Promise<void>;
  magic = "";

  constructor(args: string[] = []) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", AGENT, ...args],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.child.stdin.getWriter();
    this.done = this.#read();
  }

  async #read(): Promise<void> {
    const d = new FrameDecoder();
    let head = new Uint8Array(0);
    for await (let chunk of this.child.stdout) {
      if (this.magic === "") {
        const all = new Uint8Array(head.length + chunk.length);
        all.set(head);
        all.set(chunk, head.length);
        if (all.length < AGENT_MAGIC.length) {
          head = all;
          continue;
        }
        this.magic = decoder.decode(all.subarray(0, AGENT_MAGIC.length));
        chunk = all.subarray(AGENT_MAGIC.length);
      }
      for (const f of d.push(chunk)) {
        if (f.kind === FRAME.event) {
          this.events.push(JSON.parse(decoder.decode(f.payload)));
        } else {
          const tag = f.kind === FRAME.stdout ? "" : "E:";
          this.output.set(f.key, (this.output.get(f.key) ?? "") + tag + decoder.decode(f.payload));
        }
      }
    }
  }

  send(cmd: AgentCommand): Promise<void> {
    return this.#writer.write(encoder.encode(JSON.stringify(cmd) + "\n"));
  }

  start(key: number, argv: string[], stdinLine = "{}\n"): Promise<void> {
    return this.send({ t: "start", key, spec: { argv, env: {}, stdinLine } });
  }

  async event<T extends AgentEvent["t"]>(
    t: T,
    key?: number,
  ): Promise<Extract<AgentEvent, { t: T }>> {
    const find = () =>
      this.events.find((e) => e.t === t && (key === undefined || ("key" in e && e.key === key)));
    await until(`event ${t} ${key ?? ""}`, () => find() !== undefined);
    return find() as Extract<AgentEvent, { t: T }>;
  }

  closeStdin(): Promise<void> {
    return this.#writer.close().catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.closeStdin();
    await this.done;
    await this.child.status;
  }
}

Deno.test("agent: writes its magic and ready, runs an instance, relays its output and exit", async () => {
  await using agent = new Agent();
  const ready = await agent.event("ready");
  assertEquals(agent.magic, AGENT_MAGIC);
  assertEquals(ready.v, AGENT_PROTOCOL_VERSION);
  await agent.start(7, ["sh", "-c", 'read l; echo "got $l"; echo oops >&2; exit 3'], '{"a":1}\n');
  const started = await agent.event("started", 7);
  assert(started.pid > 0);
  const exit = await agent.event("exit", 7);
  assertEquals([exit.code, exit.signal], [3, null]);
  const out = agent.output.get(7) ?? "";
  assert(out.includes('got {"a":1}\n'), out);
  assert(out.includes("E:oops\n"), out);
});

Deno.test("agent: reports a start failure as an error event", async () => {
  await using agent = new Agent();
  await agent.start(1, ["/nonexistent/program"]);
  const error = await agent.event("error", 1);
  assert(error.message.includes("/nonexistent/program"), error.message);
});

Deno.test("agent: a signal command reaches the instance's process group", async () => {
  await using agent = new Agent();
  await agent.start(2, ["sh", "-c", "sleep 60 & wait"]);
  await agent.event("started", 2);
  await agent.send({ t: "signal", key: 2, signal: "SIGTERM" });
  const exit = await agent.event("exit", 2);
  assertEquals(exit.signal, "SIGTERM");
});

Deno.test("agent: stdin EOF stops every instance, grandchildren included, then the agent exits", async () => {
  const agent = new Agent(["--grace=500"]);
  await agent.start(1, ["sh", "-c", "sleep 60 & echo $!; wait"]);
  await agent.start(2, ["sleep", "60"]);
  const p1 = (await agent.event("started", 1)).pid;
  const p2 = (await agent.event("started", 2)).pid;
  await until("grandchild pid", () => (agent.output.get(1) ?? "").includes("\n"));
  const grandchild = Number(agent.output.get(1)!.trim());
  assert([p1, p2, grandchild].every(alive));
  await agent.closeStdin();
  const st = await agent.child.status;
  await agent.done;
  assertEquals(st.code, 0);
  await until("instances gone", () => ![p1, p2, grandchild].some(alive), 3000);
});

Deno.test("agent: without a heartbeat the lease expires: SIGTERM, then SIGKILL after the grace", async () => {
  await using agent = new Agent(["--lease=1000", "--grace=500"]);
  await agent.start(1, ["sh", "-c", "trap '' TERM; sleep 60 & echo $!; wait; wait"]);
  const pid = (await agent.event("started", 1)).pid;
  await until("grandchild pid", () => (agent.output.get(1) ?? "").includes("\n"));
  const grandchild = Number(agent.output.get(1)!.trim());
  const t0 = Date.now();
  await agent.child.status;
  const took = Date.now() - t0;
  assert(took >= 1000 && took < 5000, `took ${took} ms`);
  await until("instances gone", () => !alive(pid) && !alive(grandchild), 3000);
});

Deno.test("agent: instances it stops when its lease runs out exit as lost, even with code 0", async () => {
  await using agent = new Agent(["--lease=1000", "--grace=3000"]);
  await agent.start(1, ["sh", "-c", "exit 0"]);
  await agent.start(2, ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"]);
  assertEquals((await agent.event("exit", 1)).lost, undefined, "it ended by itself");
  const exit = await agent.event("exit", 2);
  assertEquals([exit.code, exit.signal], [0, null]);
  assert(exit.lost?.includes("no command from the master"), JSON.stringify(exit));
  const at = (t: string) =>
    agent.events.findIndex((e) => e.t === t && (!("key" in e) || e.key === 2));
  assert(at("stopping") >= 0 && at("stopping") < at("exit"), JSON.stringify(agent.events));
});

Deno.test("agent: heartbeats keep the lease; the agent beats too", async () => {
  await using agent = new Agent(["--lease=600"]);
  await agent.start(1, ["sleep", "60"]);
  const pid = (await agent.event("started", 1)).pid;
  for (let i = 0; i < 10; i++) {
    await agent.send({ t: "hb" });
    await new Promise((r) => setTimeout(r, 150));
  }
  assert(alive(pid));
  assert(agent.events.some((e) => e.t === "hb"), "no hb from the agent");
  await agent.send({ t: "bye" });
  await agent.child.status;
  await until("instance gone", () => !alive(pid), 3000);
});

Deno.test("agent: relays 200k lines quickly and in order", async () => {
  await using agent = new Agent();
  const n = 200_000;
  const t0 = performance.now();
  await agent.start(1, ["sh", "-c", `seq 1 ${n}`]);
  await agent.event("exit", 1);
  const ms = performance.now() - t0;
  const got = (agent.output.get(1) ?? "").split("\n");
  assertEquals(got.length, n + 1);
  assertEquals(got[n - 1], String(n));
  console.log(`agent relayed ${n} lines in ${ms.toFixed(0)} ms`);
});

Deno.test("agent: resolves @deno and @cache/<sha256>/<name> words of argv, nothing else", async () => {
  const cache = await Deno.makeTempDir({ prefix: "distarch-agent-cache-" });
  try {
    const hash = "ab".repeat(32);
    await using agent = new Agent([`--cache=${cache}`]);
    const words = [`@cache/${hash}/w.js`, "@cache/nothex/w.js", `x@cache/${hash}/w.js`, "@deno"];
    await agent.start(1, ["@deno", "eval", "console.log(JSON.stringify(Deno.args))", ...words]);
    await agent.event("exit", 1);
    const out = JSON.parse(agent.output.get(1) ?? "null");
    assertEquals(out, [`${cache}/${hash}/w.js`, ...words.slice(1)]);
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("agent: a stalled link pauses the instance instead of queueing its output without bound", async () => {
  const { runAgent } = await import("./agent.ts");
  const commands = new TransformStream<Uint8Array, Uint8Array>();
  const send = commands.writable.getWriter();
  let release: () => void = () => {};
  const stalled = new Promise<void>((resolve) => release = resolve);
  const frames = new FrameDecoder();
  let bytes = 0;
  let magic = false;
  const events: AgentEvent[] = [];
  const lines = 3_000_000; // "0123456789\n" each: 33 MB, far over the agent's queue limit
  const done = runAgent({
    input: commands.readable,
    lease: 60_000,
    warn: () => {},
    write: async (batch) => {
      await stalled; // the link is stalled until released
      let chunk = batch;
      if (!magic) {
        magic = true;
        chunk = batch.subarray(AGENT_MAGIC.length);
      }
      for (const f of frames.push(chunk)) {
        if (f.kind === FRAME.event) events.push(JSON.parse(decoder.decode(f.payload)));
        else bytes += f.payload.length;
      }
    },
  });
  const cmd = (c: AgentCommand) => send.write(encoder.encode(JSON.stringify(c) + "\n"));
  await cmd({
    t: "start",
    key: 1,
    spec: { argv: ["sh", "-c", `yes 0123456789 | head -n ${lines}`], env: {}, stdinLine: "{}\n" },
  });
  await new Promise((r) => setTimeout(r, 1500));
  // unpaused, sh would have written its 33 MB in well under a second: it must still be blocked
  const pids = [...Deno.readDirSync("/proc")].map((e) => Number(e.name)).filter((pid) => {
    try {
      return Deno.readTextFileSync(`/proc/${pid}/cmdline`).includes(`head\0-n\0${lines}`);
    } catch {
      return false;
    }
  });
  assert(pids.length === 1 && alive(pids[0]!), "the flooding instance is paused, not finished");
  release();
  await until("every byte relayed", () => events.some((e) => e.t === "exit"), 30_000);
  assertEquals(bytes, lines * 11);
  await send.close();
  await done;
});

Deno.test("agent: sends each running instance's CPU seconds and memory in res events", async () => {
  await using agent = new Agent(["--lease=60000", "--measure=300"]);
  await agent.start(1, ["sh", "-c", "while :; do :; done"]);
  await agent.start(2, ["sleep", "60"]);
  const busy = (await agent.event("started", 1)).pid;
  const idle = (await agent.event("started", 2)).pid;
  const rows = () =>
    agent.events.flatMap((e) => e.t === "res" ? e.v.map((r) => ({ time: e.time, r })) : []);
  await until("3 res events with both", () => rows().filter((x) => x.r[0] === 1).length >= 3);
  const of = (key: number) => rows().filter((x) => x.r[0] === key).map((x) => x.r);
  for (const [key, pid] of [[1, busy], [2, idle]] as const) {
    for (const [, p, cpu, rss] of of(key)) {
      assertEquals(p, pid);
      assert(rss > 0 && cpu >= 0, `key ${key}: rss ${rss} cpu ${cpu}`);
    }
  }
  const cpu = of(1).map((r) => r[2]);
  assert(cpu.at(-1)! > cpu[0]!, `the busy one's CPU seconds grow: ${cpu}`);
  assert(of(2).at(-1)![2] < 0.5, "the idle one stays near 0");
  await agent.send({ t: "signal", key: 1, signal: "SIGKILL" });
  await agent.event("exit", 1);
  const after = agent.events.length;
  await until(
    "a res event after the exit",
    () => agent.events.slice(after).some((e) => e.t === "res"),
  );
  const last = agent.events.slice(after).find((e) => e.t === "res");
  assertEquals(last?.t === "res" && last.v.map((r) => r[0]), [2], "the ended one is left out");
  await agent.send({ t: "bye" });
});
