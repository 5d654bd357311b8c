/**
 * Which remote process configs share a transport (one SSH session, one host
 * agent): those that reach a host the same way. Pure.
 *
 * @module
 */

/**
 * What makes two SSH sessions, or the agents at their far end, differ: the
 * ssh arguments (`username`, `privateKey`, `port`, `sshOptions`) and the Deno
 * runtime the agent runs on (`binPath` of a Deno worker; unset = the shipped
 * runtime).
 */
export interface RemoteReach {
  /** Login user. @default {as ~/.ssh/config says} */
  username?: string | undefined;
  /** Identity file. @default {as ~/.ssh/config says} */
  privateKey?: string | undefined;
  /** SSH port. @default {as ~/.ssh/config says} */
  port?: number | undefined;
  /** Extra OpenSSH `-o` options; their order does not matter. @default {none} */
  sshOptions?: Readonly<Record<string, string>> | undefined;
  /** The Deno runtime on the host the agent runs on. @default {the one the master ships} */
  binPath?: string | undefined;
}

/**
 * The transport key of instances on `host` reached as `reach`: equal for
 * every group and process config that reach the host the same way, so that
 * they share one session and one agent; any difference gives a key of its
 * own. `sshOptions` compare whatever their order; an unset field differs
 * from one set to its default value (`port` 22 is not `port` unset: only
 * ssh knows the defaults its config gives).
 *
 * @example
 * ```ts
 * import { remoteTargetKey } from "./_target_key.ts";
 * const a = remoteTargetKey("web-1", { sshOptions: { A: "1", B: "2" } });
 * const b = remoteTargetKey("web-1", { sshOptions: { B: "2", A: "1" } });
 * console.log(a === b); // true
 * ```
 */
export function remoteTargetKey(host: string, reach: RemoteReach): string {
  const options = Object.entries(reach.sshOptions ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const parts = [
    host,
    reach.username ?? null,
    reach.port ?? null,
    reach.privateKey ?? null,
    options,
    reach.binPath ?? null,
  ];
  return `remote/${JSON.stringify(parts)}`;
}
