// The agent with an adopt window, as a real process: it outlives its link,
// keeps the output, refuses a wrong secret, replays to a link that shows the
// secret, makes way for a master of another version, and stops everything
// when nobody attaches in time.
import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import {
  AGENT_MAGIC,
  AGENT_PROTOCOL_VERSION,
  type AgentCommand,
  type AgentEvent,
  FRAME,
  FrameDecoder,
  REFUSED_MARK,
} from "../protocol/agent.ts";
import { socketPath } from "./_agent_socket.ts";
import { pidAlive, waitFor } from "../tests/_helpers.ts";

const AGENT = new URL("./agent.ts", import.meta.url).pathname;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const SECRET = "5ec7e7".repeat(8);
const KEY = "0123456789abcdef/cafe";

const alive = pidAlive;

/** Waits for `cond` (the shared `waitFor`, named for what it waits for). */
const until = (what: string, cond: () => boolean, ms = 10_000) =>
  waitFor(cond, ms, what).then(() => {});

/** One link's view: text before the magic, events, output by key, frames after `ready`. */
class Link {
  head = "";
  events: AgentEvent[] = [];
  output = new Map<number, string>();
  /** Frames received after `ready`. */
  frames = 0;
  /** The output text of each frame after `ready` ("" for an event), in order. */
  log: string[] = [];
  readonly done: Promise<void>;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.done = this.#read(stream);
  }

  async #read(stream: ReadableStream<Uint8Array>): Promise<void> {
    const d = new FrameDecoder();
    let synced = false;
    let pending = new Uint8Array(0);
    try {
      for await (const chunk of stream) {
        let bytes = chunk;
        if (!synced) {
          const all = new Uint8Array(pending.length + chunk.length);
          all.set(pending);
          all.set(chunk, pending.length);
          const text = decoder.decode(all);
          const at = text.indexOf(AGENT_MAGIC);
          if (at < 0) {
            pending = all;
            this.head = text;
            continue;
          }
          this.head = text.slice(0, at);
          synced = true;
          bytes = all.subarray(encoder.encode(text.slice(0, at) + AGENT_MAGIC).length);
        }
        for (const f of d.push(bytes)) {
          if (f.kind === FRAME.event) {
            const e = JSON.parse(decoder.decode(f.payload)) as AgentEvent;
            if (e.t !== "ready") (this.frames++, this.log.push(""));
            this.events.push(e);
          } else {
            const text = decoder.decode(f.payload);
            this.frames++;
            this.log.push(text);
            this.output.set(f.key, (this.output.get(f.key) ?? "") + text);
          }
        }
      }
    } catch { /* closed */ }
  }

  event<T extends AgentEvent["t"]>(t: T): Extract<AgentEvent, { t: T }> | undefined {
    return this.events.find((e) => e.t === t) as Extract<AgentEvent, { t: T }> | undefined;
  }
}

const line = (cmd: AgentCommand | Record<string, unknown>) =>
  encoder.encode(JSON.stringify(cmd) + "\n");

/** An agent with an adopt window of `adopt` ms, told the secret, running one counting instance. */
async function adoptingAgent(
  adopt: number,
  script = 'i=0; while :; do echo "n $i"; i=$((i+1)); sleep 0.05; done',
) {
  const cache = await Deno.makeTempDir({ prefix: "distarch-adopt-" });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      AGENT,
      "--lease=60000",
      "--grace=300",
      `--adopt=${adopt}:${KEY}`,
      `--cache=${cache}`,
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const first = new Link(child.stdout);
  const w = child.stdin.getWriter();
  await w.write(line({ t: "hello", secret: SECRET }));
  const env = { FLAG: `${cache}/flag` };
  await w.write(
    line({ t: "start", key: 3, spec: { argv: ["sh", "-c", script], env, stdinLine: "{}\n" } }),
  );
  await until("10 lines", () => (first.output.get(3) ?? "").split("\n").length > 10);
  const pid = first.event("started")!.pid;
  return {
    cache,
    child,
    first,
    pid,
    path: socketPath(cache, KEY),
    /** Sends a command on the first link. */
    tell: (cmd: AgentCommand) => w.write(line(cmd)),
    closeLink: () => w.close(),
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      await child.status;
      try {
        Deno.kill(-pid, "SIGKILL");
      } catch { /* gone */ }
      await Deno.remove(cache, { recursive: true });
    },
  };
}

/** Connects to the agent's socket and sends `first`; the link's view and its writer. */
async function dial(path: string, first: Record<string, unknown>) {
  const conn = await Deno.connect({ transport: "unix", path });
  const link = new Link(conn.readable);
  const w = conn.writable.getWriter();
  await w.write(line(first));
  return { link, w, conn };
}

Deno.test("agent: a link that re-attaches with the secret gets the instances and every line once", async () => {
  await using agent = await adoptingAgent(20_000);
  const runDir = agent.path.slice(0, agent.path.lastIndexOf("/"));
  assertEquals(Deno.statSync(runDir).mode! & 0o777, 0o700);
  assertEquals(Deno.statSync(`${agent.cache}/run`).mode! & 0o777, 0o700);
  await agent.closeLink(); // the link is lost: the instance keeps running
  // lines printed while no link is up (the agent writes nothing more to the lost link's stdout)
  await new Promise((r) => setTimeout(r, 500));
  const ack = agent.first.frames;
  const seen = agent.first.output.get(3) ?? "";
  assert(alive(agent.pid), "the instance outlives the link");

  const wrong = await dial(agent.path, {
    t: "attach",
    v: AGENT_PROTOCOL_VERSION,
    secret: "x".repeat(48),
    ack,
  });
  await wrong.link.done;
  assert(wrong.link.head.startsWith(`${REFUSED_MARK} wrong secret`), wrong.link.head);
  const old = await dial(agent.path, { t: "attach", v: 1, secret: "x".repeat(48), ack });
  await old.link.done;
  assert(old.link.head.startsWith(`${REFUSED_MARK} wrong secret`), old.link.head);

  const good = await dial(agent.path, {
    t: "attach",
    v: AGENT_PROTOCOL_VERSION,
    secret: SECRET,
    ack,
  });
  await until("ready", () => good.link.event("ready") !== undefined);
  const ready = good.link.event("ready")!;
  assertEquals([ready.seq, ready.adopted, ready.dropped], [ack, [{ key: 3, pid: agent.pid }], 0]);
  await until("more lines", () => (good.link.output.get(3) ?? "").split("\n").length > 10);
  await good.w.write(line({ t: "bye" }));
  await agent.child.status;
  await good.link.done;
  const numbers = (seen + (good.link.output.get(3) ?? "")).trim().split("\n");
  assertEquals(numbers, numbers.map((_, i) => `n ${i}`), "every line once, in order");
  assert(!alive(agent.pid), "bye stopped the instance");
  assert(!exists(agent.path), "the socket is removed");
});

Deno.test("agent: a link that attaches without ack gets every frame after the last acknowledged", async () => {
  await using agent = await adoptingAgent(20_000);
  const acked = agent.first.frames;
  await agent.tell({ t: "hb", ack: acked });
  await until("more lines", () => agent.first.frames > acked + 3);
  await agent.closeLink();
  await new Promise((r) => setTimeout(r, 300));
  const good = await dial(agent.path, { t: "attach", v: AGENT_PROTOCOL_VERSION, secret: SECRET });
  await until("ready", () => good.link.event("ready") !== undefined);
  const ready = good.link.event("ready")!;
  assertEquals([ready.acked, ready.dropped, ready.adopted], [acked, 0, [{
    key: 3,
    pid: agent.pid,
  }]]);
  await until("more lines", () => (good.link.output.get(3) ?? "").split("\n").length > 10);
  await good.w.write(line({ t: "bye" }));
  await agent.child.status;
  await good.link.done;
  // what the first link received up to its ack, then the replay: every line once, in order
  const numbers = (agent.first.log.slice(0, acked).join("") + (good.link.output.get(3) ?? ""))
    .trim().split("\n");
  assertEquals(numbers, numbers.map((_, i) => `n ${i}`));
});

Deno.test("agent: an attach with the secret and another protocol version replaces the agent", async () => {
  // the instance ignores SIGTERM: the agent must go on to SIGKILL after its grace
  await using agent = await adoptingAgent(
    20_000,
    'trap "" TERM; i=0; while :; do echo "n $i"; i=$((i+1)); sleep 0.05; done',
  );
  await agent.closeLink();
  const next = AGENT_PROTOCOL_VERSION + 1;
  const stranger = await dial(agent.path, { t: "attach", v: next, secret: "x".repeat(48) });
  await stranger.link.done;
  assert(stranger.link.head.startsWith(`${REFUSED_MARK} wrong secret`), stranger.link.head);
  assert(alive(agent.pid), "a wrong secret changes nothing");

  const t0 = Date.now();
  const newer = await dial(agent.path, { t: "attach", v: next, secret: SECRET });
  await newer.link.done;
  assertEquals(
    newer.link.head,
    `${REFUSED_MARK} protocol version ${next} asked, this agent speaks ${AGENT_PROTOCOL_VERSION}: ` +
      "it stops its instances and exits for the new master to replace it\n",
  );
  const status = await agent.child.status;
  assertEquals(status.code, 0);
  assert(Date.now() - t0 >= 300, "the instance had its grace before SIGKILL");
  assert(!alive(agent.pid), "the instance's group got SIGKILL after the grace");
  assert(!exists(agent.path), "the socket is removed");
});

Deno.test("agent: with nobody re-attaching, it stops its instances when the window ends", async () => {
  await using agent = await adoptingAgent(1000);
  const t0 = Date.now();
  await agent.closeLink();
  await agent.child.status;
  const ms = Date.now() - t0;
  assert(ms >= 1000, `exited ${ms} ms after the link was lost: within the window`);
  assert(ms < 1000 + 300 + 5000, `exited ${ms} ms after the link was lost`);
  assert(!alive(agent.pid), "the instance is stopped");
  assert(!exists(agent.path), "the socket is removed");
});

Deno.test("agent: output past its buffer while no link is up is dropped oldest first, and counted", async () => {
  // 10 numbered lines, then (once the link is gone) 20 MB, then "end"
  const script = 'for i in 0 1 2 3 4 5 6 7 8 9 10; do echo "n $i"; done; ' +
    'while [ ! -f "$FLAG" ]; do sleep 0.05; done; ' +
    "head -c 20000000 /dev/zero | tr '\\0' x | fold -w 99; echo end; : > \"$FLAG.done\"; sleep 60";
  await using agent = await adoptingAgent(20_000, script);
  await agent.closeLink();
  await new Promise((r) => setTimeout(r, 500));
  const ack = agent.first.frames;
  await Deno.writeTextFile(`${agent.cache}/flag`, "");
  const odd = await dial(agent.path, { t: "wait" });
  await odd.link.done;
  assert(odd.link.head.includes("must be an attach command"), odd.link.head);
  // the flood went to the buffer as fast as sh made it; attach once it is over
  await until("the flood is over", () => exists(`${agent.cache}/flag.done`), 30_000);
  const again = await dial(agent.path, {
    t: "attach",
    v: AGENT_PROTOCOL_VERSION,
    secret: SECRET,
    ack,
  });
  await until("end", () => (again.link.output.get(3) ?? "").endsWith("end\n"), 20_000);
  const ready = again.link.event("ready")!;
  assert((ready.dropped ?? 0) > 0, `dropped ${ready.dropped}`);
  assertEquals(ready.lost?.map((l) => l.key), [3]);
  const text = again.link.output.get(3) ?? "";
  const kept = text.length;
  // one instance: its 4 MiB (more than its last 10,000 lines of 100 bytes), and one chunk more
  assert(kept >= 4 * 1024 * 1024, `${kept} bytes replayed: under the bound`);
  assert(kept <= 4 * 1024 * 1024 + 256 * 1024, `${kept} bytes replayed: over the bound`);
  // 20 MB folded into lines of 99 (202,020 newlines), then "end\n": every byte kept or counted
  const lost = ready.lost![0]!;
  assertEquals(
    kept + lost.bytes,
    20_000_000 + 202_020 + 4,
    `kept ${kept} + dropped ${JSON.stringify(ready.lost)} = all; ${ready.dropped} frames`,
  );
  // every line kept or counted lost; a line cut by the drop counts as lost (lines are 100 bytes)
  const keptLines = text.split("\n").length - 1;
  const cut = text.indexOf("\n") < 99 ? 1 : 0;
  assertEquals(lost.lines, 202_021 - keptLines + cut, `${keptLines} lines kept, cut ${cut}`);
  await again.w.write(line({ t: "bye" }));
  await agent.child.status;
});

const OTHER_USER = "distarch-test"; // the sshd fixture's user (tests/_sshd.ts)

function uidOf(user: string): number | undefined {
  const r = new Deno.Command("id", { args: ["-u", user], stdout: "piped", stderr: "null" })
    .outputSync();
  return r.success ? Number(new TextDecoder().decode(r.stdout).trim()) : undefined;
}

Deno.test({
  name: "agent: another user cannot connect to its socket (EACCES)",
  ignore: Deno.uid() !== 0 || uidOf(OTHER_USER) === undefined,
  async fn() {
    await using agent = await adoptingAgent(20_000);
    await Deno.chmod(agent.cache, 0o755); // only the run directories keep the other user out
    const uid = String(uidOf(OTHER_USER));
    const probe = "import socket, sys\n" +
      "s = socket.socket(socket.AF_UNIX)\n" +
      "try:\n  s.connect(sys.argv[1]); print('connected')\n" +
      "except OSError as e:\n  print(e.errno)\n";
    const r = await new Deno.Command("setpriv", {
      args: [
        "--reuid",
        uid,
        "--regid",
        uid,
        "--clear-groups",
        "/usr/bin/python3",
        "-c",
        probe,
        agent.path,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertEquals(decoder.decode(r.stdout).trim(), "13", decoder.decode(r.stderr)); // EACCES
    assert(alive(agent.pid), "the agent's instance is untouched");
  },
});

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
