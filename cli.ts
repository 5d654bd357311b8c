/**
 * `distarch`: the command-line tool. Runs a master from a YAML config file
 * and controls a running one through its control socket. See docs/cli.md.
 *
 * This is the only module that ends the process (`Deno.exit`).
 *
 * @example
 * ```sh
 * deno run -A cli.ts run examples/distarch.yaml
 * deno run -A cli.ts ps
 * ```
 *
 * @module
 */

import { CliError, EXIT } from "./cli/_errors.ts";
import { dashboardCommand } from "./cli/commands/dashboard.ts";
import { logsCommand } from "./cli/commands/logs.ts";
import {
  psCommand,
  restartCommand,
  scaleCommand,
  stopCommand,
  suspendResumeCommand,
} from "./cli/commands/control.ts";
import { reloadCommand } from "./cli/commands/reload.ts";
import { runCommand } from "./cli/commands/run.ts";
import { schemaCommand, validateCommand } from "./cli/commands/validate.ts";
import { USAGE } from "./cli/help.ts";
// a JSON module, so the version is there however cli.ts was loaded (file, URL, JSR)
import denoJson from "./deno.json" with { type: "json" };

/** The package version, from deno.json. */
export const VERSION: string = denoJson.version;

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  run: runCommand,
  validate: validateCommand,
  schema: schemaCommand,
  ps: psCommand,
  suspend: (args) => suspendResumeCommand("suspend", args),
  resume: (args) => suspendResumeCommand("resume", args),
  scale: scaleCommand,
  restart: restartCommand,
  reload: reloadCommand,
  stop: stopCommand,
  logs: logsCommand,
  dashboard: dashboardCommand,
};

/** Runs `distarch` with `args`; resolves to the exit code. */
export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    console.log(USAGE);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  if (name === "--version" || name === "-V" || name === "version") {
    console.log(`distarch ${VERSION}`);
    return EXIT.ok;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (command === undefined) {
    console.error(`distarch: unknown command ${JSON.stringify(name)}\n\n${USAGE}`);
    return EXIT.usage;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(USAGE);
    return EXIT.ok;
  }
  try {
    return await command(rest);
  } catch (e) {
    if (!(e instanceof CliError)) throw e;
    console.error(`distarch ${name}: ${e.message}`);
    return e.exitCode;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
