/**
 * Re-attaching a lost SSH session to its agent within the adopt window (see
 * `slave/agent.ts`), and killing what an agent left behind when it is gone.
 *
 * @module
 */

import { backoffDelay } from "../../_shared/backoff.ts";
import { delay } from "../../_shared/delay.ts";
import { errorMessage } from "../../_shared/errors.ts";
import { AGENT_PROTOCOL_VERSION, NO_AGENT_MARK, REFUSED_MARK } from "../../protocol/agent.ts";
import { lastLine, remoteScript } from "./_ssh_args.ts";
import { type Link, type Owner, type SshHost } from "./_ssh_link.ts";
import type { Pending } from "./_ssh_events.ts";
import { runSsh } from "./_ssh_run.ts";
import { AgentSession } from "./_ssh_session.ts";
import { connectCommand } from "./_upload.ts";

/** Kills each process group `$@` still leads (its pgid is its pid), printing the ones it killed. */
const KILL_GROUPS = [
  'for p in "$@"; do',
  '  s=$(cat "/proc/$p/stat" 2>/dev/null) || continue',
  "  s=${s##*) }; set -- $s",
  '  [ "$3" = "$p" ] && kill -9 "-$p" 2>/dev/null && echo "$p"', // dash: no "--"
  "done",
  "true",
].join("\n");

/** What {@linkcode reattach} needs of the transport. */
export interface ReattachContext extends SshHost {
  /** The adopt window, in ms. */
  readonly adopt: number;
  /** Where each instance's signals and stdin go, by key. */
  readonly owners: Map<number, Owner>;
  /** Takes `next` as the transport's link, unless a live one took over already. */
  take(next: Link): void;
  /** Watches `next` for its loss. */
  watchLoss(next: Link): void;
}

/**
 * Takes the instances of `link`'s lost session over in a new session to
 * the same agent, through its socket; retries until the adopt window is
 * over. When it cannot, they are lost (the agent stops them at the end of
 * its window).
 */
export function reattach(ctx: ReattachContext, link: Link, why: string): Promise<void> {
  const old = link.session;
  const ack = old.received;
  return attachTo(ctx, link, old.handOver(), ack, why).then(() => {});
}

/** Where a new session finds an agent: its socket and the connector's files. */
export type AgentPlace = Pick<Link, "agent" | "runtime" | "socket" | "has">;

/**
 * Takes `keys` (instances of the agent `link` names) over in a new session
 * through the agent's socket, retrying until the adopt window is over;
 * the replay starts after `ack` (after what the last link acknowledged when
 * undefined: a new master). Resolves with the session, or undefined when
 * it could not (the instances' exits are then resolved as lost).
 */
export async function attachTo(
  ctx: ReattachContext,
  link: AgentPlace,
  keys: Map<number, Pending>,
  ack: number | undefined,
  why: string,
  options: { killOrphans?: boolean; within?: number } = {},
): Promise<AgentSession | undefined> {
  const { killOrphans = true, within = ctx.adopt } = options;
  const t0 = Date.now();
  const deadline = t0 + Math.min(ctx.adopt, within);
  let failure = `the adopt window (${Math.min(ctx.adopt, within)} ms) ran out`;
  let agentGone = false;
  for (let attempt = 0; !ctx.closed() && Date.now() < deadline; attempt++) {
    if (attempt > 0) {
      await delay(Math.min(backoffDelay(attempt, 200, 2000), deadline - Date.now()));
    }
    let args: string[];
    try {
      args = await ctx.args();
    } catch (error) {
      failure = `cannot reach the host: ${errorMessage(error)}`;
      ctx.log("info", `re-attach attempt ${attempt + 1} to ${ctx.host} failed: ${failure}`);
      continue;
    }
    const session = new AgentSession(
      [...args, connectCommand(link.agent, link.runtime, link.socket!)],
      ctx.lease,
      (line) => ctx.log("warning", `ssh ${ctx.host}: ${line}`),
      {
        detached: ctx.local === true,
        ...(ctx.written !== undefined ? { written: ctx.written } : {}),
        first: [{
          t: "attach",
          v: AGENT_PROTOCOL_VERSION,
          secret: ctx.run.secret,
          ...(ack !== undefined ? { ack } : {}),
        }],
        keep: true,
        inherit: keys,
      },
    );
    const wait = Math.max(1000, Math.min(10_000, deadline - Date.now()));
    const timer = setTimeout(() => session.abort(`the agent did not answer in ${wait} ms`), wait);
    try {
      await session.ready;
    } catch {
      await session.closed;
      const refused = session.preamble.split("\n").find((l) => l.startsWith(REFUSED_MARK));
      agentGone = session.preamble.includes(NO_AGENT_MARK);
      if (refused !== undefined || agentGone) {
        failure = refused !== undefined
          ? `the agent refused: ${refused.slice(REFUSED_MARK.length + 1)}`
          : "no agent listens there any more";
        break;
      }
      failure = lastLine(session.stderr) || lastLine(session.preamble) || "the connector ended";
      ctx.log("info", `re-attach attempt ${attempt + 1} to ${ctx.host} failed: ${failure}`);
      continue;
    } finally {
      clearTimeout(timer);
    }
    const next: Link = { ...link, session, ready: Promise.resolve() };
    for (const key of keys.keys()) {
      const owner = ctx.owners.get(key);
      if (owner === undefined) continue;
      owner.session = session;
      for (const text of owner.stdin ?? []) session.stdin(key, text);
      if (owner.signal !== undefined) session.signal(key, owner.signal);
      delete owner.stdin;
      delete owner.signal;
    }
    if (ctx.closed()) {
      // closed while we re-attached: the instances go the way close() sends them
      await session.close(2000);
      return undefined;
    }
    ctx.take(next);
    const dropped = session.dropped > 0
      ? `; the agent's buffer dropped ${session.dropped} frames of output`
      : "";
    ctx.log(
      "info",
      `re-attached to the agent on ${ctx.host} in ${Date.now() - t0} ms: ` +
        `${keys.size} instances kept${dropped}`,
    );
    ctx.watchLoss(next);
    return session;
  }
  ctx.log("warning", `cannot re-attach to the agent on ${ctx.host}: ${failure} (${why})`);
  if (agentGone && killOrphans && !ctx.closed()) {
    // they were in its care: without it nothing would ever stop them
    await killGroups(ctx, [...keys.values()].flatMap((p) => p.pid === undefined ? [] : [p.pid]));
  }
  const lost = { code: 255, signal: null, lost: `${why}; not re-attached: ${failure}` };
  for (const p of keys.values()) p.exit.resolve(lost);
  return undefined;
}

/**
 * Kills the process groups `pids` lead on the host (those still leading
 * one): the instances of an agent that died without stopping them.
 */
async function killGroups(ctx: SshHost, pids: number[]): Promise<void> {
  if (pids.length === 0) return;
  try {
    const args = await ctx.args();
    const r = await runSsh([...args, remoteScript(KILL_GROUPS, pids.map(String))]);
    const killed = r.stdout.split("\n").filter((l) => /^\d+$/.test(l));
    if (killed.length > 0) {
      ctx.log(
        "warning",
        `killed the orphaned process groups ${killed.join(", ")} of its agent`,
      );
    }
  } catch (error) {
    ctx.log(
      "warning",
      `cannot kill the orphaned instances ${pids.join(", ")}: ${errorMessage(error)}`,
    );
  }
}
