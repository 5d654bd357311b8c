/**
 * Loads the config file of `run` and `validate`, turning file problems into
 * {@linkcode CliError}s with exit code 3.
 *
 * @module
 */

import type { Config } from "../../master/config.ts";
import { CliError, EXIT } from "../_errors.ts";
import {
  configDir,
  ConfigFileError,
  DEFAULT_CONFIG_FILE,
  loadConfigFile as load,
} from "../config_file.ts";

export { configDir };

/** Loads `file` (default `distarch.yaml`); throws a `CliError` (exit 3) on any problem. */
export async function loadConfigFile(
  file: string | undefined,
): Promise<{ file: string; config: Config }> {
  const name = file ?? DEFAULT_CONFIG_FILE;
  try {
    return { file: name, config: await load(name) };
  } catch (e) {
    if (e instanceof ConfigFileError) {
      const n = e.issues.length;
      const head = n === 0
        ? ""
        : `invalid config file ${name} (${n} problem${n > 1 ? "s" : ""}):\n`;
      throw new CliError(head + e.message, EXIT.config, { cause: e });
    }
    throw e;
  }
}
