/**
 * The edge where the transports are wired: the factories a launcher uses
 * unless told otherwise, one per process config `type`. The SSH transport is
 * imported when the first remote target needs it, so a master that runs
 * local instances only never loads it.
 *
 * @module
 */

import type { Target } from "../plan.ts";
import { LocalTransport } from "./local.ts";
import { LocalFallback } from "./_local_fallback.ts";
import type { Transport, TransportContext, TransportFactory } from "./types.ts";

/** Runs instances on this machine with `Deno.Command`. */
export function localTransport(): Transport {
  return new LocalTransport();
}

/** Runs instances on `target.host` through the system OpenSSH client and a host agent. */
export async function sshTransport(target: Target, ctx: TransportContext): Promise<Transport> {
  const { config } = target;
  if (config.type !== "remote") {
    throw new TypeError(
      `The SSH transport serves remote targets: got ${JSON.stringify(target.key)}`,
    );
  }
  const { SshTransport } = await import("./ssh.ts");
  return new SshTransport({
    host: target.host,
    config,
    logger: ctx.logger,
    gracePeriod: ctx.gracePeriod,
    lease: ctx.sshLease,
    adoptWindow: ctx.adoptWindow ?? 0,
    ...(ctx.onResources !== undefined ? { onResources: ctx.onResources } : {}),
    ...handover(ctx),
  });
}

/**
 * Runs instances on this machine through a local host agent (the same
 * `slave/agent.ts` the remote hosts run, in a session of its own), so that
 * they can outlive their master within the adopt window. The launcher uses
 * it for `local` targets when adoption is on. Where the agent cannot run (a
 * compiled distarch, whose runtime is not Deno; a cache directory that cannot
 * be written), local instances run as the master's children, as without it.
 */
export async function localAgentTransport(
  target: Target,
  ctx: TransportContext,
): Promise<Transport> {
  if (Deno.build.standalone) return new LocalTransport();
  const { SshTransport } = await import("./ssh.ts");
  const agent = new SshTransport({
    host: target.host,
    config: { type: "remote", hosts: [target.host], instances: 0 },
    logger: ctx.logger,
    gracePeriod: ctx.gracePeriod,
    lease: ctx.sshLease,
    adoptWindow: ctx.adoptWindow ?? 0,
    local: true,
    ...handover(ctx),
  });
  return new LocalFallback(agent, () => new LocalTransport(), ctx.logger);
}

/** The handover part of the context, as the SSH transport's options. */
function handover(ctx: TransportContext) {
  const { run, onRecordsChange, written } = ctx;
  return {
    ...(run !== undefined ? { run } : {}),
    ...(onRecordsChange !== undefined ? { onRecordsChange } : {}),
    ...(written !== undefined ? { written } : {}),
  };
}

/** The factories a launcher uses by default: `local` and `remote` (SSH). */
export const DEFAULT_TRANSPORTS: Readonly<Record<Target["type"], TransportFactory>> = {
  local: localTransport,
  remote: sshTransport,
};
