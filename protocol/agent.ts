/**
 * The protocol between the master and a host agent (the process that runs a
 * host's instances at the far end of one SSH session), version 2.
 *
 * Master → agent (the agent's stdin): one JSON {@linkcode AgentCommand} a line.
 * Agent → master (the agent's stdout): binary frames, so that worker output is
 * forwarded as it came, chunk by chunk, without being split or re-encoded.
 * A frame is a 9-byte header — kind (u8), key (u32, big-endian), payload
 * length (u32, big-endian) — then the payload. Kinds are in {@linkcode FRAME}.
 *
 * Version 2 adds re-attaching (see `slave/_agent_replay.ts`): every frame
 * after `ready` has an implicit sequence number (1, 2, … across all the
 * links of one agent; `ready` itself has none and carries the number of the
 * frame before the ones that follow it). The master acknowledges what it
 * received in its heartbeats; an agent started with an adopt window keeps
 * what is not acknowledged, and replays it, after the acknowledged number
 * `attach` names (or, without one, after the highest number any earlier
 * link acknowledged), to a new link that came through its Unix socket.
 * What it keeps is bounded per instance (4 MiB or 10,000 lines of output,
 * whichever is more, within a ceiling of 4 MiB per running instance): older
 * output is dropped, and `ready` says how much, by instance.
 *
 * A rule every version keeps, so that any master can take over from an
 * agent of any version: an `attach` line with the master's `secret` and
 * another `v` than the agent's is refused with a {@linkcode REFUSED_MARK}
 * line (the mark's text never changes), after which the agent stops every
 * instance (SIGTERM to its process group, the grace period, SIGKILL) and
 * exits, so the new master can start an agent of its own version. An
 * `attach` with a wrong secret is refused and changes nothing.
 *
 * @module
 */

/** Version of the agent protocol. */
export const AGENT_PROTOCOL_VERSION = 2;

/** The first bytes an agent writes, so the master can tell our agent from shell noise. */
export const AGENT_MAGIC = "DISTARCH-AGENT/1\n";

/** Frame kinds. */
export const FRAME = {
  /** A chunk of an instance's stdout. */
  stdout: 1,
  /** A chunk of an instance's stderr. */
  stderr: 2,
  /** A JSON {@linkcode AgentEvent}. */
  event: 3,
} as const;

/** Printed by the connector (`agent.js --connect=…`) when no agent listens on the socket. */
export const NO_AGENT_MARK = "DISTARCH-NO-AGENT/2";

/** Written by an agent on its socket, before it hangs up, when it refuses an `attach`. */
export const REFUSED_MARK = "DISTARCH-REFUSED/2";

/** Size of a frame header in bytes. */
export const FRAME_HEADER = 9;

/** What an agent needs to start one instance. */
export interface AgentStartSpec {
  /** Program and arguments. `argv[0]` is looked up on the host's PATH when it has no slash. */
  argv: string[];
  /** Working directory, if any. */
  cwd?: string;
  /** Extra environment variables. */
  env: Record<string, string>;
  /** Nice value, if any. */
  priority?: number;
  /** Written to the instance's stdin as its first line (the worker context). */
  stdinLine: string;
}

/** A command from the master to an agent. */
export type AgentCommand =
  | { t: "start"; key: number; spec: AgentStartSpec }
  | { t: "signal"; key: number; signal: "SIGTERM" | "SIGKILL" | "SIGINT" | "SIGHUP" }
  /** Written to the instance's stdin as it is (further lines of the worker protocol). */
  | { t: "stdin"; key: number; text: string }
  /** `ack`: the sequence number of the last frame received (version 2). */
  | { t: "hb"; ack?: number }
  | { t: "bye" }
  /**
   * The first command of an agent started with an adopt window: the secret a
   * link must show to re-attach (never on the command line, which `ps` shows).
   */
  | { t: "hello"; secret: string }
  /**
   * The first line on the agent's Unix socket: take over as the master's
   * link, replay every kept frame after `ack`. Without `ack` (a new master
   * that does not know how far the previous one got), the replay starts
   * after the highest number the previous links acknowledged (`hb.ack`):
   * the new master gets exactly what the old one did not acknowledge, and
   * `ready.acked` says that number. With the secret but another `v`, the
   * agent refuses, stops its instances and exits (see the module's rule).
   */
  | { t: "attach"; v: number; secret: string; ack?: number };

/** An event from an agent to the master. */
export type AgentEvent =
  | {
    t: "ready";
    v: number;
    pid: number;
    lease: number;
    /**
     * The sequence number of the frame before the ones that follow (0 on a
     * first link); the master numbers the frames it receives from there.
     */
    seq?: number;
    /**
     * On a re-attached link: the acknowledged number the replay starts
     * after (`attach.ack`, or the highest a previous link acknowledged);
     * `seq - acked` frames after it were dropped (or were `res` events).
     */
    acked?: number;
    /** On a re-attached link: the instances running now, by key. */
    adopted?: { key: number; pid: number }[];
    /** On a re-attached link: how many kept frames follow at once (the replay). */
    replay?: number;
    /** On a re-attached link: output frames not acknowledged that the bounded buffer dropped. */
    dropped?: number;
    /**
     * On a re-attached link: the output among the dropped frames, by
     * instance: frames, payload bytes and lines (the `\n` among them, plus
     * one when the newest dropped chunk ends inside a line). `lines` is
     * missing from agents older than it.
     */
    lost?: { key: number; chunks: number; bytes: number; lines?: number }[];
  }
  | { t: "started"; key: number; pid: number }
  | {
    t: "exit";
    key: number;
    code: number;
    signal: string | null;
    /** Set when the agent stopped the instance itself (lease ran out, link gone…): why. */
    lost?: string;
  }
  | { t: "error"; key: number; message: string }
  /** The agent is stopping every instance and will exit (lease ran out, stdin closed, signal, bye). */
  | { t: "stopping"; reason: string }
  | { t: "hb" }
  /**
   * What the agent's running instances use, measured on its host from
   * procfs every 2 s while any runs: per instance, its key, its pid (the
   * leader of its process group) and the CPU seconds (user + system,
   * children reaped included) and resident bytes of its whole group. `time`
   * is when, on the agent's clock (ms since epoch). An instance whose group
   * is already gone is left out. Added within version 1: a master that does
   * not know `res` ignores it, as it ignores any unknown event.
   */
  | { t: "res"; time: number; v: ResourceRow[] };

/** One instance in a `res` event: `[key, pid, cpuSeconds, rss]`. */
export type ResourceRow = [key: number, pid: number, cpuSeconds: number, rss: number];

/** Encodes one frame. */
export function encodeFrame(kind: number, key: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER + payload.length);
  const view = new DataView(out.buffer);
  view.setUint8(0, kind);
  view.setUint32(1, key);
  view.setUint32(5, payload.length);
  out.set(payload, FRAME_HEADER);
  return out;
}

const encoder = new TextEncoder();

/** Encodes an {@linkcode AgentEvent} frame. */
export function encodeEvent(event: AgentEvent): Uint8Array {
  const key = "key" in event ? event.key : 0;
  return encodeFrame(FRAME.event, key, encoder.encode(JSON.stringify(event)));
}

/** A decoded frame. The payload is a view into the decoder's buffer: copy it to keep it. */
export interface Frame {
  /** What the payload is: one of {@linkcode FRAME}'s values. */
  kind: number;
  /** The instance it is about (0 for the agent itself). */
  key: number;
  /** The frame's bytes, without the header. */
  payload: Uint8Array;
}

/**
 * Splits a byte stream into frames, across chunk boundaries.
 *
 * @example
 * ```ts
 * import { encodeFrame, FrameDecoder } from "./agent.ts";
 * const d = new FrameDecoder();
 * const frames = [...d.push(encodeFrame(1, 7, new Uint8Array([104, 105])))];
 * // frames[0].key === 7
 * ```
 */
export class FrameDecoder {
  #buf: Uint8Array = new Uint8Array(0);

  /** Bytes held that do not yet make a whole frame. */
  get pending(): number {
    return this.#buf.length;
  }

  /** Adds a chunk and yields every frame now complete. */
  *push(chunk: Uint8Array): Generator<Frame> {
    let buf = chunk;
    if (this.#buf.length > 0) {
      buf = new Uint8Array(this.#buf.length + chunk.length);
      buf.set(this.#buf);
      buf.set(chunk, this.#buf.length);
    }
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let pos = 0;
    while (buf.length - pos >= FRAME_HEADER) {
      const len = view.getUint32(pos + 5);
      if (buf.length - pos - FRAME_HEADER < len) break;
      yield {
        kind: view.getUint8(pos),
        key: view.getUint32(pos + 1),
        payload: buf.subarray(pos + FRAME_HEADER, pos + FRAME_HEADER + len),
      };
      pos += FRAME_HEADER + len;
    }
    this.#buf = pos === buf.length ? new Uint8Array(0) : buf.slice(pos);
  }
}
