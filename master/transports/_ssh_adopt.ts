/**
 * Handover helpers of the SSH (and local-agent) transport: what a state
 * file keeps of each agent ({@linkcode AgentHandle}), and the output of an
 * adopted instance kept until its new master's relay takes it.
 *
 * @module
 */

import type { AgentPlace } from "./_ssh_reattach.ts";
import type { AgentHandle, OutputHandler } from "./types.ts";

/** The transport's instances, grouped by agent, as records a new master can adopt from. */
export function adoptionRecords(
  host: string,
  where: ReadonlyMap<number, { id: number; pid: number; place: AgentPlace }>,
): AgentHandle[] {
  const agents = new Map<string, AgentHandle>();
  for (const [key, { id, pid, place }] of where) {
    if (place.socket === undefined) continue;
    let a = agents.get(place.socket);
    if (a === undefined) {
      const { runtime, agent } = place;
      a = {
        host,
        socket: place.socket,
        connect: {
          agent: { name: agent.name, hash: agent.hash },
          runtime: typeof runtime === "string"
            ? runtime
            : { name: runtime.name, hash: runtime.hash },
        },
        instances: [],
      };
      agents.set(place.socket, a);
    }
    a.instances.push({ key, id, pid });
  }
  return [...agents.values()];
}

/** Where a new session finds the agent `handle` names. */
export function placeOf(handle: AgentHandle): AgentPlace {
  const art = (a: { name: string; hash: string }) => ({
    ...a,
    size: 0,
    executable: false,
  });
  const { runtime, agent } = handle.connect;
  return {
    socket: handle.socket,
    agent: art(agent),
    runtime: typeof runtime === "string" ? runtime : art(runtime),
    has: new Set(),
  };
}

/**
 * Output of an adopted instance that arrives before its relay is attached
 * (the agent's replay follows `ready` at once): copied and kept, then
 * handed on in order by {@linkcode OutputBuffer.drainTo}.
 */
export class OutputBuffer {
  #chunks: ["stdout" | "stderr", Uint8Array][] | undefined = [];

  /** Keeps a copy of each chunk (the frame reader reuses its buffer). */
  readonly handler: OutputHandler = (stream, chunk) => {
    this.#chunks?.push([stream, chunk.slice()]);
    return undefined;
  };

  /** Hands what was kept to `onOutput`, then forgets it. */
  drainTo(onOutput: OutputHandler): void {
    const chunks = this.#chunks ?? [];
    this.#chunks = undefined;
    for (const [stream, chunk] of chunks) void onOutput(stream, chunk);
  }
}
