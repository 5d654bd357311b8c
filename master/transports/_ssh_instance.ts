/**
 * One instance on an SSH transport: the start command its agent gets, and
 * the {@linkcode RunningInstance} whose signals and stdin go to whichever
 * session has the instance now.
 *
 * @module
 */

import type { AgentStartSpec } from "../../protocol/agent.ts";
import type { InstanceSpec } from "../plan.ts";
import { argvFor, denoRuntime } from "./_argv.ts";
import type { Owner, Signal } from "./_ssh_link.ts";
import type { ResourcesHandler } from "./_ssh_events.ts";
import { type Artifact, cacheEntry } from "./_upload.ts";
import type { ExitStatus, InstanceResources, RunningInstance } from "./types.ts";

/** What the agent starts for `spec`: its worker `bundle` from the host cache, if any. */
export function startSpec(spec: InstanceSpec, bundle: Artifact | undefined): AgentStartSpec {
  const script = bundle === undefined
    ? (spec.exec.kind === "deno" ? spec.exec.script : spec.exec.command)
    : `@cache/${cacheEntry(bundle)}`;
  return {
    argv: argvFor(spec.exec, "@deno", script),
    ...(spec.cwd !== undefined ? { cwd: spec.cwd } : {}),
    env: spec.env,
    ...(spec.priority !== undefined ? { priority: spec.priority } : {}),
    stdinLine: JSON.stringify(spec.context) + "\n",
  };
}

/** What the local agent runs: the same argv, cwd and env as the local transport's. */
export function localStartSpec(spec: InstanceSpec): AgentStartSpec {
  return {
    argv: argvFor(spec.exec, denoRuntime()),
    ...(spec.cwd !== undefined ? { cwd: spec.cwd } : {}),
    env: spec.env,
    ...(spec.priority !== undefined ? { priority: spec.priority } : {}),
    stdinLine: JSON.stringify(spec.context) + "\n",
  };
}

/** Hands instance `id`'s samples to `to`, with its id. */
export function resourcesOf(
  to: ((usage: InstanceResources) => void) | undefined,
  id: number,
): ResourcesHandler | undefined {
  if (to === undefined) return undefined;
  return (usage) => {
    try {
      to({ id, ...usage });
    } catch {
      // a listener must not break the session
    }
  };
}

/**
 * The instance `key` started as `started`, reached through `owner`: a
 * signal asked for while no session has it waits in `owner` when `waits()`
 * (its session is kept for a re-attach, or one is under way).
 */
export function instanceHandle(
  key: number,
  started: { pid: number; status: Promise<ExitStatus> },
  owner: Owner,
  waits: () => boolean,
): RunningInstance {
  return {
    pid: started.pid,
    kill: (sig: Deno.Signal) => {
      if (owner.session.alive) owner.session.signal(key, sig as Signal);
      else if (waits()) owner.signal = sig as Signal;
    },
    send: (text: string) => {
      if (owner.session.alive) owner.session.stdin(key, text);
      else if (waits()) (owner.stdin ??= []).push(text); // sent once a session has it again
    },
    status: started.status,
  };
}
