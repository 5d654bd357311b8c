/**
 * The agent's command line: `--lease=<ms>`, `--grace=<ms>`, `--measure=<ms>`,
 * `--cache=<dir>`, `--adopt=<ms>:<run-id>/<agent-id>` and `--connect=…`.
 *
 * @module
 */

import { SOCKET_KEY } from "./_agent_socket.ts";

/** The value of `--<name>=…`, if given. */
export function stringArg(args: string[], name: string): string | undefined {
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

/** `--<name>=<ms>`, a positive integer; `fallback` when not given. */
export function intArg(args: string[], name: string, fallback: number): number {
  const arg = args.find((a) => a.startsWith(`--${name}=`));
  if (arg === undefined) return fallback;
  const value = Number(arg.slice(name.length + 3));
  if (!Number.isInteger(value) || value <= 0) {
    throw new TypeError(
      `Invalid --${name}: must be a positive integer of ms: current value is ${arg}`,
    );
  }
  return value;
}

/** `--adopt=<ms>:<run-id>/<agent-id>`: the adopt window and the socket; none = 0. */
export function adoptArg(args: string[]): { adopt: number; socket: string } | undefined {
  const arg = stringArg(args, "adopt");
  if (arg === undefined || arg === "0") return undefined;
  const m = /^(\d+):(.+)$/.exec(arg);
  if (m === null || !SOCKET_KEY.test(m[2]!) || Number(m[1]) <= 0) {
    throw new TypeError(
      `Invalid --adopt: must be <ms>:<run-id>/<agent-id> (hex ids): current value is ${arg}`,
    );
  }
  return { adopt: Number(m[1]), socket: m[2]! };
}
