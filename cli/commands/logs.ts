/**
 * `distarch logs [GROUP] [-f] [-n N] [--json]`: the recent log lines the
 * running master keeps, then (with `-f`) new ones as they come.
 *
 * @module
 */

import { escapeText, formatJson, formatText } from "../../master/log.ts";
import { numberOption, parseCommand, stringOption } from "../_args.ts";
import { CliError, EXIT } from "../_errors.ts";
import { control } from "../control_client.ts";
import { socketPath } from "../socket_path.ts";
import { writeAllSync } from "../../_shared/write_all.ts";

/** Prints the master's recent records; follows with `-f` until the master ends. */
export async function logsCommand(args: string[]): Promise<number> {
  const spec = {
    socket: { type: "string" },
    follow: { type: "boolean", short: "f" },
    lines: { type: "string", short: "n" },
    json: { type: "boolean" },
  } as const;
  const { values, positionals } = parseCommand("logs", args, spec, 1);
  const lines = numberOption(values, "lines", { integer: true, label: "-n/--lines" });
  const group = positionals[0];
  // JSON escapes control characters itself; text lines get them shown as \x1b
  const fmt = values.json === true ? formatJson : formatText;
  const path = socketPath({ option: stringOption(values, "socket") });
  const encoder = new TextEncoder();
  const stream = control(path, {
    cmd: "logs",
    ...(group !== undefined ? { group } : {}),
    ...(lines !== undefined ? { lines } : {}),
    follow: values.follow === true,
  });
  for await (const line of stream) {
    if ("record" in line) {
      try {
        writeAllSync(Deno.stdout, encoder.encode(fmt(line.record) + "\n"));
      } catch {
        return EXIT.ok; // our reader went away (e.g. `| head`)
      }
    } else if (line.ok === false) throw new CliError(escapeText(line.error), EXIT.failed);
  }
  return EXIT.ok;
}
