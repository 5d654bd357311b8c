/**
 * The commands that talk to a running master through its control socket:
 * `ps`, `suspend`, `resume`, `scale`, `restart`, `stop`.
 *
 * @module
 */

import { numberOption, parseCommand, stringOption } from "../_args.ts";
import { CliError, EXIT } from "../_errors.ts";
import { escapeText } from "../../master/log.ts";
import { MAX_INSTANCES } from "../../master/config.ts";
import { control, controlOnce } from "../control_client.ts";
import type { ControlRequest, LeftReport } from "../control_protocol.ts";
import { psTable } from "../ps_table.ts";
import { socketPath } from "../socket_path.ts";

const SOCKET = { socket: { type: "string" } } as const;

function pathOf(values: Record<string, string | boolean | undefined>): string {
  return socketPath({ option: stringOption(values, "socket") });
}

/** `ps [--json]`: the instances of the running master. */
export async function psCommand(args: string[]): Promise<number> {
  const { values } = parseCommand("ps", args, { ...SOCKET, json: { type: "boolean" } }, 0);
  const res = await controlOnce(pathOf(values), { cmd: "ps" });
  if (!("instances" in res)) throw new CliError("unexpected answer to ps", EXIT.failed);
  if (values.json === true) console.log(JSON.stringify(res.instances, null, 2));
  else console.log(psTable(res.instances, res.now));
  return EXIT.ok;
}

/** `suspend GROUP|--all [--force]`, `resume GROUP|--all`. */
export async function suspendResumeCommand(
  cmd: "suspend" | "resume",
  args: string[],
): Promise<number> {
  const spec = { ...SOCKET, all: { type: "boolean" }, force: { type: "boolean" } } as const;
  const { values, positionals } = parseCommand(cmd, args, spec, 1);
  const group = positionals[0];
  if ((group === undefined) === (values.all !== true)) {
    const which = group === undefined ? "missing" : "both";
    throw new CliError(
      `give either a GROUP or --all (${which}): distarch ${cmd} GROUP|--all`,
      EXIT.usage,
    );
  }
  if (cmd === "resume" && values.force === true) {
    throw new CliError("--force only applies to suspend; resume has no --force", EXIT.usage);
  }
  const request: ControlRequest = cmd === "suspend"
    ? { cmd, ...(group ? { group } : {}), force: values.force === true }
    : { cmd, ...(group ? { group } : {}) };
  return say(await controlOnce(pathOf(values), request));
}

/** `scale GROUP N`: N instances per host. */
export async function scaleCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand("scale", args, SOCKET, 2);
  const [group, n] = positionals;
  if (group === undefined || n === undefined) {
    const missing = group === undefined ? "GROUP and N" : "N";
    throw new CliError(`missing ${missing}: distarch scale GROUP N`, EXIT.usage);
  }
  const instances = numberOption({ N: n }, "N", {
    integer: true,
    max: MAX_INSTANCES,
    label: "N",
    hint: "0 stops every instance of the group",
  })!;
  return say(await controlOnce(pathOf(values), { cmd: "scale", group, instances }));
}

/** `restart GROUP [--alive-timeout S]`: rolling restart. */
export async function restartCommand(args: string[]): Promise<number> {
  const spec = { ...SOCKET, "alive-timeout": { type: "string" } } as const;
  const { values, positionals } = parseCommand("restart", args, spec, 1);
  const group = positionals[0];
  if (group === undefined) {
    throw new CliError("missing GROUP: distarch restart GROUP [--alive-timeout S]", EXIT.usage);
  }
  const t = numberOption(values, "alive-timeout");
  if (t === 0) throw new CliError('--alive-timeout must be a number > 0: got "0"', EXIT.usage);
  const request: ControlRequest = { cmd: "restart", group, ...(t ? { aliveTimeout: t } : {}) };
  return say(await controlOnce(pathOf(values), request));
}

/**
 * `stop [--leave-running]`: stops the master gracefully, waits, reports how
 * its instances ended; with `--leave-running`, ends the master only and leaves
 * its instances running for the next `distarch run` on the socket to adopt.
 */
export async function stopCommand(args: string[]): Promise<number> {
  const spec = { ...SOCKET, "leave-running": { type: "boolean" } } as const;
  const { values } = parseCommand("stop", args, spec, 0);
  if (values["leave-running"] === true) return await leaveCommand(pathOf(values));
  const res = await controlOnce(pathOf(values), { cmd: "stop" });
  if (!("stopped" in res)) throw new CliError("unexpected answer to stop", EXIT.failed);
  const { ok, reason, states } = res.stopped;
  const counts = Object.entries(states).map(([s, n]) => `${n} ${s}`).join(", ") ||
    "no instances";
  // "stopped" is what stop asked for; any other reason (e.g. max-running-time) came first
  const why = reason === "stopped" ? "" : ` (it was already ending: ${reason})`;
  if (!ok) throw new CliError(`master stopped${why} with failures: ${counts}`, EXIT.failed);
  console.log(`master stopped${why}: ${counts}`);
  return EXIT.ok;
}

/** `stop --leave-running`: the master ends, its instances keep running for the next one. */
async function leaveCommand(path: string): Promise<number> {
  for await (const line of control(path, { cmd: "leave" })) {
    if ("ok" in line && line.ok === false) {
      throw new CliError(
        `the master did not leave, it keeps running with its instances: ${escapeText(line.error)}`,
        EXIT.failed,
      );
    }
    if (!("left" in line)) break;
    console.log(leftMessage(line.left));
    return EXIT.ok;
  }
  throw new CliError(
    `the master on ${path} did not answer stop --leave-running as expected`,
    EXIT.failed,
  );
}

/** What `stop --leave-running` prints once the master left. */
export function leftMessage(left: LeftReport): string {
  const { instances, adoptWindow } = left;
  return `master left ${instances} instance${instances === 1 ? "" : "s"} running: ` +
    `a new "distarch run" with this socket adopts them within ${adoptWindow} s (adoptWindow)`;
}

function say(res: object): number {
  if ("message" in res && typeof res.message === "string") console.log(escapeText(res.message));
  return EXIT.ok;
}
