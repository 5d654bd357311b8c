/**
 * `distarch reload [FILE] [--all-at-once]`: applies a config file to the
 * running master without restarting it, and prints what changed per group.
 *
 * @module
 */

import { escapeText } from "../../master/log.ts";
import { reportLines } from "../../master/reload.ts";
import { normalizePath } from "../../master/_paths.ts";
import { parseCommand, stringOption } from "../_args.ts";
import { CliError, EXIT } from "../_errors.ts";
import { formatIssue } from "../config_file.ts";
import { control } from "../control_client.ts";
import type { ControlRequest } from "../control_protocol.ts";
import { socketPath } from "../socket_path.ts";

const OPTIONS = { socket: { type: "string" }, "all-at-once": { type: "boolean" } } as const;

/**
 * Sends `FILE`'s content (or, without `FILE`, asks the master to read the
 * file it was started with) and prints the report, one line per group.
 * Exit 0 when applied; 1 when a replacement halted (a successor was not
 * ready in time); 3, with every problem at `file:line:col path`, when the
 * file is invalid (nothing changed); 4 when no master answers.
 */
export async function reloadCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand("reload", args, OPTIONS, 1);
  const given = positionals[0];
  const allAtOnce = values["all-at-once"] === true;
  let request: ControlRequest = { cmd: "reload", allAtOnce };
  if (given !== undefined) {
    const file = normalizePath(given.startsWith("/") ? given : `${Deno.cwd()}/${given}`);
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (e) {
      const why = e instanceof Deno.errors.NotFound ? "no such file" : String(e);
      throw new CliError(`cannot read config file ${given}: ${why}`, EXIT.config, { cause: e });
    }
    request = { cmd: "reload", file, text, allAtOnce };
  }
  const path = socketPath({ option: stringOption(values, "socket") });
  for await (const line of control(path, request)) {
    if ("ok" in line && line.ok === false) {
      const issues = line.issues ?? [];
      if (issues.length === 0) throw new CliError(escapeText(String(line.error)), EXIT.failed);
      const shown = issues.map((i) =>
        escapeText(formatIssue(given === undefined ? i : { ...i, file: given }))
      );
      const n = issues.length;
      throw new CliError(
        `invalid config file ${given ?? issues[0]!.file} (${n} problem${n > 1 ? "s" : ""}), ` +
          `nothing changed:\n${shown.join("\n")}`,
        EXIT.config,
      );
    }
    if (!("report" in line)) break;
    for (const text of reportLines(line.report)) console.log(escapeText(text));
    const halted = line.report.groups.filter((g) => g.halted !== undefined).map((g) => g.group);
    if (halted.length === 0) return EXIT.ok;
    throw new CliError(
      `applied, but the replacement halted in ${halted.map((g) => JSON.stringify(g)).join(", ")}` +
        " (see above): its instances not yet replaced run the old config",
      EXIT.failed,
    );
  }
  throw new CliError(`the master on ${path} did not answer reload`, EXIT.failed);
}
