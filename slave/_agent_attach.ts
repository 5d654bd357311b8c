/**
 * Who may take over an agent's link through its socket (`_agent_socket.ts`):
 * a connection whose first line, within 10 s, is an `attach` command of
 * this agent's protocol version with the master's secret, while the agent
 * is not stopping. Anything else is refused with one `REFUSED_MARK` line;
 * an `attach` with the secret but another protocol version also makes the
 * agent stop its instances and exit, for the new master to replace it.
 * And what a new link hears first: the magic, `ready`, and the replay.
 *
 * @module
 */

import {
  AGENT_MAGIC,
  AGENT_PROTOCOL_VERSION,
  type AgentCommand,
  encodeEvent,
  REFUSED_MARK,
} from "../protocol/agent.ts";
import type { WriteAll } from "./_agent_out.ts";
import type { Running } from "./_agent_instances.ts";
import type { ReplayBuffer } from "./_agent_replay.ts";

const encoder = new TextEncoder();

/** What {@linkcode serve} needs of the agent. */
export interface Door {
  /** The master's secret, once its `hello` said it. */
  secret(): string | undefined;
  /** Why the agent is stopping, if it is. */
  stopping(): string | undefined;
  /**
   * Makes `lines`/`writeTo` the link; the frames after `ack` (omitted: after
   * the last one acknowledged) go first.
   */
  attach(
    lines: AsyncIterator<string>,
    writeTo: WriteAll,
    close: () => void,
    ack: number | undefined,
  ): void;
  /** A master of protocol `version` showed the secret: stop everything and exit. */
  replace(version: number): void;
}

/** Splits a byte stream into text lines (without their `\n`). */
export async function* lines(input: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let rest = "";
  for await (const chunk of input) {
    rest += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = rest.indexOf("\n")) >= 0) {
      yield rest.slice(0, nl);
      rest = rest.slice(nl + 1);
    }
  }
  rest += decoder.decode();
  if (rest !== "") yield rest;
}

/** Takes links that come through the socket and show the secret. */
export async function serve(
  listener: Deno.Listener<Deno.UnixConn>,
  door: Door,
): Promise<void> {
  try {
    for await (const conn of listener) welcome(conn, door).catch(() => conn.close());
  } catch {
    // closed
  }
}

/** Attaches `conn` as the link when its first line is an attach command with the secret. */
async function welcome(conn: Deno.UnixConn, door: Door): Promise<void> {
  const incoming = lines(conn.readable)[Symbol.asyncIterator]();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const first = await Promise.race([
    incoming.next(),
    new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), 10_000)),
  ]);
  clearTimeout(timer);
  const writer = conn.writable.getWriter();
  const refuse = async (why: string) => {
    await writer.write(encoder.encode(`${REFUSED_MARK} ${why}\n`)).catch(() => {});
    conn.close();
  };
  let cmd: Partial<Extract<AgentCommand, { t: "attach" }>> = {};
  try {
    cmd = first === undefined || first.done ? {} : JSON.parse(first.value);
  } catch { /* refused below */ }
  if (cmd.t !== "attach") return await refuse("the first line must be an attach command");
  const secret = door.secret();
  if (secret === undefined || typeof cmd.secret !== "string" || !same(cmd.secret, secret)) {
    return await refuse("wrong secret: this agent belongs to another master");
  }
  const stopReason = door.stopping();
  if (stopReason !== undefined) return await refuse(`the agent is stopping: ${stopReason}`);
  if (typeof cmd.v !== "number") return await refuse("the attach command has no protocol version");
  if (cmd.v !== AGENT_PROTOCOL_VERSION) {
    // the rule every version keeps: the master's own secret, another version → make way
    await refuse(
      `protocol version ${cmd.v} asked, this agent speaks ${AGENT_PROTOCOL_VERSION}: ` +
        "it stops its instances and exits for the new master to replace it",
    );
    return door.replace(cmd.v);
  }
  let closed = false;
  door.attach(
    incoming,
    (bytes) => writer.write(bytes),
    () => {
      if (closed) return;
      closed = true;
      try {
        conn.close();
      } catch { /* closed */ }
    },
    typeof cmd.ack === "number" ? cmd.ack : undefined,
  );
}

/** Compares two secrets in time independent of where they differ. */
function same(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/**
 * What a new link gets first: the magic and `ready`; for a link that
 * re-attaches (`resume`, with a `replay` buffer), `ready` names the running
 * instances and is followed by the frames after `resume.ack` (or after the
 * last one acknowledged).
 */
export function greeting(
  lease: number,
  running: Running,
  replay: ReplayBuffer | undefined,
  resume: { ack: number | undefined } | undefined,
): Uint8Array[] {
  const frames: Uint8Array[] = [encoder.encode(AGENT_MAGIC)];
  const ready = { t: "ready", v: AGENT_PROTOCOL_VERSION, pid: Deno.pid, lease } as const;
  if (resume === undefined || replay === undefined) {
    frames.push(encodeEvent({ ...ready, seq: replay?.last ?? 0 }));
  } else {
    const r = replay.since(resume.ack);
    const adopted = [...running].map(([key, { instance }]) => ({ key, pid: instance.pid }));
    frames.push(encodeEvent({
      ...ready,
      seq: r.seq,
      acked: r.acked,
      adopted,
      replay: r.frames.length,
      dropped: r.dropped,
      ...(r.lost.length > 0 ? { lost: r.lost } : {}),
    }));
    for (const frame of r.frames) frames.push(frame);
  }
  return frames;
}
