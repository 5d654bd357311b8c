/**
 * Starting a host agent at the end of a new SSH session: the install step
 * first when its launcher found the host cache incomplete last time, then
 * the session, and the wait for its `ready` with why it failed.
 *
 * @module
 */

import type { Exec } from "../plan.ts";
import { isAuthFailure, lastLine } from "./_ssh_args.ts";
import { classify, ensureOnHost } from "./_ssh_install.ts";
import { type Link, Missing, randomHex, type SshHost } from "./_ssh_link.ts";
import { AgentSession } from "./_ssh_session.ts";
import {
  agentArtifact,
  agentCommand,
  type Artifact,
  MISSING_MARK,
  runtimeArtifact,
} from "./_upload.ts";
import { StartError } from "./types.ts";

/** What {@linkcode spawnAgent} needs besides the host. */
export interface AgentStartOptions {
  /** The host's ControlMaster key (uploads to one host go one at a time). */
  muxKey: string;
  /** Ms the agent waits between SIGTERM and SIGKILL. */
  grace: number;
  /** The adopt window in ms; 0 = none. */
  adopt: number;
  /** Whether to probe and fill the host cache first (asked once the ControlMaster is up). */
  install(): boolean;
  /** Called once the cache was filled. */
  installed(): void;
  /** Called when the agent's launcher found the cache incomplete. */
  missing(): void;
}

/**
 * Starts the agent's session without waiting for it: its launcher checks
 * the host cache itself (no probe first); only after it found something
 * missing is the cache probed and filled before the launch.
 */
export async function spawnAgent(
  ctx: SshHost,
  exec: Exec,
  bundle: Artifact | undefined,
  options: AgentStartOptions,
): Promise<Link> {
  const { muxKey, grace, adopt } = options;
  // the local agent runs on this Deno (its shell finds it by its absolute path)
  const binPath = ctx.local ? Deno.execPath() : exec.kind === "deno" ? exec.binPath : undefined;
  const agent = await agentArtifact();
  const runtime = binPath ?? await runtimeArtifact();
  const also = bundle === undefined ? [] : [bundle];
  let args: string[];
  try {
    args = await ctx.args();
  } catch (error) {
    throw classify(ctx, error);
  }
  if (options.install()) {
    const wanted = [agent, ...(typeof runtime === "string" ? [] : [runtime]), ...also];
    const r = await ensureOnHost(ctx, muxKey, wanted, binPath);
    if (binPath !== undefined && !r.binFound) {
      throw ctx.fail(`The Deno runtime ${JSON.stringify(binPath)} is missing on ${ctx.host}`);
    }
    options.installed();
  }
  const socket = adopt > 0 ? `${ctx.run.id}/${randomHex(4)}` : undefined;
  const command = agentCommand({
    agent,
    runtime,
    also,
    lease: ctx.lease,
    grace,
    ...(socket !== undefined ? { adopt: { ms: adopt, socket } } : {}),
  });
  const session = new AgentSession(
    [...args, command],
    ctx.lease,
    (line) => ctx.log("warning", `${ctx.local ? "agent" : "ssh"} ${ctx.host}: ${line}`),
    {
      detached: ctx.local === true,
      ...(ctx.written !== undefined ? { written: ctx.written } : {}),
      ...(socket !== undefined
        ? { first: [{ t: "hello" as const, secret: ctx.run.secret }], keep: true }
        : {}),
    },
  );
  const ready = watchAgent(ctx, session, options.missing);
  ready.catch(() => {});
  const has = new Set(also.map((a) => a.hash));
  return { session, ready, has, agent, runtime, ...(socket !== undefined ? { socket } : {}) };
}

/**
 * Resolves once `session`'s agent is up; rejects with why it is not (once
 * per session): {@linkcode Missing}, after calling `onMissing`, when its
 * launcher found the host cache incomplete.
 */
export async function watchAgent(
  ctx: SshHost,
  session: AgentSession,
  onMissing: () => void,
): Promise<void> {
  const timer = setTimeout(() => session.abort("the agent did not start in 30 s"), 30_000);
  try {
    await session.ready;
  } catch (error) {
    await session.closed;
    if (session.preamble.includes(MISSING_MARK)) {
      onMissing();
      throw new Missing();
    }
    const why = lastLine(session.stderr) || (error instanceof Error ? error.message : "");
    if (isAuthFailure(session.stderr)) {
      throw ctx.fail(`SSH to ${ctx.host} refused our credentials: ${why}`, error);
    }
    throw new StartError(`Cannot start the agent on ${ctx.host}: ${why}`, { cause: error });
  } finally {
    clearTimeout(timer);
  }
}
