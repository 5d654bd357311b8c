/**
 * The install step of {@linkcode SshTransport}: bundling a local worker
 * script once, probing the host cache and uploading what it lacks, and
 * telling an unreachable host from refused credentials.
 *
 * @module
 */

import { errorMessage } from "../../_shared/errors.ts";
import type { Exec } from "../plan.ts";
import { isAuthFailure, lastLine } from "./_ssh_args.ts";
import { serialize } from "./_ssh_control.ts";
import type { SshHost } from "./_ssh_link.ts";
import { ProbeError, runSsh } from "./_ssh_run.ts";
import { type Artifact, bundleArtifact, ensureArtifacts, type EnsureResult } from "./_upload.ts";
import { StartError } from "./types.ts";

/**
 * The bundle of a local Deno script `exec` runs, made once per script
 * (`scripts` caches it); none for a binary or a path on the host.
 */
export function workerBundle(
  scripts: Map<string, Promise<Artifact | undefined>>,
  exec: Exec,
): Promise<Artifact | undefined> {
  if (exec.kind !== "deno") return Promise.resolve(undefined);
  let p = scripts.get(exec.script);
  if (p === undefined) {
    p = (async () => {
      try {
        await Deno.stat(exec.script);
      } catch {
        return undefined; // not on this machine: a path on the host
      }
      const name = (exec.script.split("/").pop() ?? "worker").replace(/[^\w.-]/g, "_")
        .replace(/\.[^.]*$/, "") + ".js";
      try {
        return await bundleArtifact(exec.script, name);
      } catch (error) {
        throw new StartError(errorMessage(error), {
          fatal: true,
          cause: error,
        });
      }
    })();
    scripts.set(exec.script, p);
    p.catch(() => scripts.delete(exec.script));
  }
  return p;
}

/**
 * Probes the host cache for `artifacts` (and `binPath`) and uploads what it
 * lacks, one host at a time (`muxKey`); errors come out as a StartError.
 */
export async function ensureOnHost(
  ctx: SshHost,
  muxKey: string,
  artifacts: Artifact[],
  binPath?: string,
): Promise<EnsureResult> {
  try {
    const t0 = performance.now();
    const args = await ctx.args();
    const r = await serialize(
      muxKey,
      () =>
        ensureArtifacts(
          (cmd, stdinFile) => runSsh([...args, cmd], stdinFile),
          artifacts,
          binPath,
        ),
    );
    if (r.uploaded.length > 0) {
      const what = r.uploaded.map((a) => `${a.name} (${(a.size / 1e6).toFixed(1)} MB)`);
      const ms = (performance.now() - t0).toFixed(0);
      ctx.log("info", `uploaded ${what.join(", ")} to ${ctx.host} in ${ms} ms`);
    }
    return r;
  } catch (error) {
    throw classify(ctx, error);
  }
}

/** `error` of preparing the host as a StartError: fatal when SSH refused our credentials. */
export function classify(ctx: SshHost, error: unknown): StartError {
  if (error instanceof StartError) return error;
  if (error instanceof ProbeError && error.result.code === 255) {
    const why = lastLine(error.result.stderr) || "ssh failed";
    if (isAuthFailure(error.result.stderr)) {
      return ctx.fail(`SSH to ${ctx.host} refused our credentials: ${why}`, error);
    }
    return new StartError(`Cannot reach ${ctx.host} over SSH: ${why}`, { cause: error });
  }
  const why = errorMessage(error);
  return new StartError(`Cannot prepare ${ctx.host}: ${why}`, { cause: error });
}
