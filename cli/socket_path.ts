/**
 * Where the control socket of a master lives, and the state directory beside it.
 *
 * @module
 */

/** What {@linkcode socketPath} looks at. */
export interface SocketPathInputs {
  /** The `--socket` option, if given. */
  option?: string | undefined;
  /** Environment lookup. @default {Deno.env.get} */
  env?: (name: string) => string | undefined;
  /** User id. @default {Deno.uid()} */
  uid?: number | null;
}

/**
 * The control socket path: `--socket`, else `$DISTARCH_SOCKET`, else
 * `$XDG_RUNTIME_DIR/distarch/control.sock`, else `/tmp/distarch-<uid>/control.sock`.
 *
 * @example
 * ```ts
 * import { socketPath } from "./socket_path.ts";
 * socketPath({ env: () => undefined, uid: 1000 }); // "/tmp/distarch-1000/control.sock"
 * ```
 */
export function socketPath(inputs: SocketPathInputs = {}): string {
  const { option, env = (n: string) => Deno.env.get(n), uid = Deno.uid() } = inputs;
  if (option !== undefined && option !== "") return option;
  const fromEnv = env("DISTARCH_SOCKET");
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  const runtime = env("XDG_RUNTIME_DIR");
  if (runtime !== undefined && runtime.startsWith("/")) return `${runtime}/distarch/control.sock`;
  return `/tmp/distarch-${uid ?? "user"}/control.sock`;
}

/**
 * The state directory of the master on control socket `socket`: `--state-dir`
 * when given, else `<socket>.state`, in the socket's own private directory.
 * The master keeps its run's state there (`state.json`: the run's id, its
 * secret and where each instance runs), so that a new `distarch run` on the
 * same socket adopts the instances a previous master left running.
 *
 * @example
 * ```ts
 * import { stateDirPath } from "./socket_path.ts";
 * stateDirPath("/run/user/1000/distarch/control.sock");
 * // "/run/user/1000/distarch/control.sock.state"
 * ```
 */
export function stateDirPath(socket: string, option?: string): string {
  if (option !== undefined && option !== "") return option;
  return `${socket}.state`;
}
