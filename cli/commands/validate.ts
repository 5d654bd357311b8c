/**
 * `distarch validate [FILE]` and `distarch schema`: check a config file
 * without starting anything; print the JSON Schema of config files.
 *
 * @module
 */

import { configSchema } from "../../master/config_schema.ts";
import { parseCommand } from "../_args.ts";
import { loadConfigFile } from "./_load.ts";

/** Checks the config file; prints a one-line summary; exit 0, or 3 with every problem. */
export async function validateCommand(args: string[]): Promise<number> {
  const { positionals } = parseCommand("validate", args, {}, 1);
  const { file, config } = await loadConfigFile(positionals[0]);
  let instances = 0;
  for (const g of config.groups) {
    for (const p of g.processes) {
      instances += p.type === "local" ? p.instances : p.instances * p.hosts.length;
    }
  }
  const n = config.groups.length;
  console.log(`${file}: ok (${n} group${n > 1 ? "s" : ""}, ${instances} instances)`);
  return 0;
}

/** Prints the JSON Schema of config files on stdout. */
export function schemaCommand(args: string[]): Promise<number> {
  parseCommand("schema", args, {}, 0);
  console.log(JSON.stringify(configSchema(), null, 2));
  return Promise.resolve(0);
}
