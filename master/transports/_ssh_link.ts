/**
 * What {@linkcode SshTransport} keeps per agent session and per instance,
 * and the host-facing context its helpers (`_ssh_reattach.ts`,
 * `_ssh_install.ts`, `_ssh_agent_start.ts`) work through.
 *
 * @module
 */

import type { LogRecord } from "../types.ts";
import type { AgentSession } from "./_ssh_session.ts";
import type { Artifact } from "./_upload.ts";
import type { StartError } from "./types.ts";

/** `bytes` random bytes, in hex. */
export function randomHex(bytes: number): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/**
 * This master's run: its id names the agents' socket directory on the hosts,
 * its secret lets a new session re-attach to them (in memory only).
 */
export const RUN = { id: randomHex(8), secret: randomHex(32) };

/** A signal the agent forwards to an instance. */
export type Signal = "SIGTERM" | "SIGKILL" | "SIGINT" | "SIGHUP";

/** One agent session, whether its agent is up yet or not. */
export interface Link {
  session: AgentSession;
  /** Resolves once the agent said ready; rejects with a StartError, or {@linkcode Missing}. */
  ready: Promise<void>;
  /** Hashes of the bundles its launcher checked (or a probe since). */
  has: Set<string>;
  /** Its agent's socket, `<run-id>/<agent-id>`, with an adopt window. */
  socket?: string;
  /** The agent bundle and runtime it was started with (for a connector to it). */
  agent: Artifact;
  runtime: Artifact | string;
}

/** Where an instance's signals and stdin go: the session that has it now. */
export interface Owner {
  session: AgentSession;
  /** The last signal asked for while no session had it, sent once one does. */
  signal?: Signal;
  /** Stdin lines written while no session had it (a few `groupCount` lines), sent once one does. */
  stdin?: string[];
}

/** The agent's launcher found the host cache incomplete. */
export class Missing extends Error {
  constructor() {
    super("the host cache lacks the runtime, the agent or the worker bundle");
    this.name = "Missing";
  }
}

/** The transport as its helpers see it. */
export interface SshHost {
  /** The host's name as configured. */
  readonly host: string;
  /** The lease, in ms. */
  readonly lease: number;
  /** Whether the transport is closed. */
  closed(): boolean;
  /**
   * The argv a host command is appended to, program first: `ssh <client
   * args>` once the host's ControlMaster is up, or `sh -c` for the local agent.
   */
  args(): Promise<string[]>;
  /** The run's identity: its id names the agents' sockets, its secret lets a link attach. */
  readonly run: { id: string; secret: string };
  /** Resolves once the output handed on so far is written (frames are acknowledged then). */
  readonly written?: () => Promise<void>;
  /** True for the local agent: its session runs in a session of its own (it outlives the master). */
  readonly local?: boolean;
  /** Logs with the host's name. */
  log(level: LogRecord["level"], message: string): void;
  /** Marks the transport failed for good (logged once) and returns that error. */
  fail(message: string, cause?: unknown): StartError;
}
