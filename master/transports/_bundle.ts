/**
 * `deno bundle` in memory: how worker scripts are shipped to remote hosts,
 * and how `tools/bundle_agent.ts` prebuilds the agent. Imports nothing, so
 * the agent can be regenerated whatever state its bundle is in.
 *
 * @module
 */

/**
 * `deno bundle` of `script` into one JavaScript file, in memory. Throws with
 * the tool's stderr when it fails.
 */
export async function denoBundle(
  script: string,
  options: { cwd?: string | URL; allowImport?: boolean } = {},
): Promise<Uint8Array> {
  const { cwd, allowImport = false } = options;
  const r = await new Deno.Command(Deno.execPath(), {
    args: [
      "bundle",
      "--quiet",
      ...(allowImport ? ["--allow-import"] : []),
      "--platform",
      "deno",
      script,
    ],
    ...(cwd !== undefined ? { cwd } : {}),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!r.success) {
    const why = new TextDecoder().decode(r.stderr).trim();
    throw new Error(`Cannot bundle ${script} with deno bundle (code ${r.code}): ${why}`);
  }
  return r.stdout;
}
