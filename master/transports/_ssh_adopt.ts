/**
 * Handover helpers of the SSH (and local-agent) transport: what a state
 * file keeps of each agent ({@linkcode AgentHandle}), and the output of an
 * adopted instance kept until its new master's relay takes it.
 *
 * @module
 */

import { type AgentPlace, attachTo, type ReattachContext } from "./_ssh_reattach.ts";
import type { Pending } from "./_ssh_events.ts";
import type { Owner } from "./_ssh_link.ts";
import { instanceHandle, resourcesOf } from "./_ssh_instance.ts";
import type {
  AdoptedRun,
  AdoptOptions,
  AgentHandle,
  InstanceResources,
  OutputHandler,
} from "./types.ts";

/** How long a new master tries to reach a previous master's agent before it gives up on it. */
const ADOPT_WAIT_MS = 10_000;

/** What {@linkcode adoptFrom} needs of the transport. */
export interface AdoptHost {
  ctx: ReattachContext;
  /** Where each instance's signals and stdin go, by key. */
  owners: Map<number, Owner>;
  onResources: ((usage: InstanceResources) => void) | undefined;
  /** New keys must be above `last`. */
  reserveKeys(last: number): void;
  /** The host was reached. */
  reached(): void;
  /** Where the transport's instances run (for the state file). */
  where: Whereabouts;
  /** Forgets an instance that ended. */
  forget(key: number): void;
  /** Whether a re-attach is under way (signals wait for it). */
  reattaching(): boolean;
}

/**
 * Takes over the instances of the agent `handle` names (a previous
 * master's): attaches to it with the run's secret, and puts each instance
 * still running in `out`, by id, its output kept until the relay takes it.
 */
export async function adoptFrom(
  handle: AgentHandle,
  options: AdoptOptions,
  out: Map<number, AdoptedRun>,
  host: AdoptHost,
): Promise<void> {
  const place = placeOf(handle);
  const keys = new Map<number, Pending>();
  const runs = new Map<number, { id: number; pending: Pending; buffer: OutputBuffer }>();
  for (const { key, id, pid } of handle.instances) {
    const buffer = new OutputBuffer();
    const pending: Pending = {
      onOutput: buffer.handler,
      onResources: resourcesOf(host.onResources, id),
      started: Promise.withResolvers(),
      exit: Promise.withResolvers(),
      pid,
    };
    pending.started.resolve(pid);
    keys.set(key, pending);
    runs.set(key, { id, pending, buffer });
    host.owners.set(key, { session: undefined! }); // set by attachTo once attached
    host.reserveKeys(key + 1000); // past whatever the old master started since its last write
  }
  const session = await attachTo(host.ctx, place, keys, undefined, "a new master", {
    killOrphans: options.trustPids === true,
    // a host out of reach must not hold back the start of the whole fleet for the window
    within: ADOPT_WAIT_MS,
  });
  if (session === undefined) {
    for (const key of runs.keys()) host.owners.delete(key);
    return;
  }
  host.reached();
  for (const [key, { id, pending, buffer }] of runs) {
    const owner = host.owners.get(key)!;
    const status = pending.exit.promise;
    host.where.track(key, id, pending.pid!, place);
    status.finally(() => host.forget(key));
    out.set(id, {
      running: instanceHandle(
        key,
        { pid: pending.pid!, status },
        owner,
        () => owner.session.kept || host.reattaching(),
      ),
      output: (onOutput) => {
        pending.onOutput = onOutput;
        buffer.drainTo(onOutput);
      },
    });
  }
}

/**
 * Where a transport's instances run, by key: their id, pid and agent, as
 * records a new master can adopt from ({@linkcode Whereabouts.records}).
 * Only instances of an agent with a socket (an adopt window) are kept.
 */
export class Whereabouts {
  readonly #host: string;
  readonly #changed: () => void;
  readonly #where = new Map<number, { id: number; pid: number; place: AgentPlace }>();

  /** `changed` is told whenever the records may have changed. */
  constructor(host: string, changed: () => void) {
    this.#host = host;
    this.#changed = changed;
  }

  /** Instance `id` runs as `pid`, key `key`, at the agent of `place`. */
  track(key: number, id: number, pid: number, place: AgentPlace): void {
    if (place.socket === undefined) return; // no adopt window: nothing can be adopted
    this.#where.set(key, { id, pid, place });
    this.#changed();
  }

  /** Instance `key` ended. */
  forget(key: number): void {
    if (this.#where.delete(key)) this.#changed();
  }

  /** The instances, grouped by agent. */
  records(): AgentHandle[] {
    const agents = new Map<string, AgentHandle>();
    for (const [key, { id, pid, place }] of this.#where) {
      let a = agents.get(place.socket!);
      if (a === undefined) {
        const { runtime, agent } = place;
        a = {
          host: this.#host,
          socket: place.socket!,
          connect: {
            agent: { name: agent.name, hash: agent.hash },
            runtime: typeof runtime === "string"
              ? runtime
              : { name: runtime.name, hash: runtime.hash },
          },
          instances: [],
        };
        agents.set(place.socket!, a);
      }
      a.instances.push({ key, id, pid });
    }
    return [...agents.values()];
  }
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
