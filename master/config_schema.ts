/**
 * A JSON Schema (draft 2020-12) of a configuration file, for editor
 * autocompletion, generated from the field tables the validator runs
 * ({@linkcode validateConfig}, config.ts). Rules across fields (unique group
 * names, backoffMax ≥ backoffInitial, the params size, command files) are
 * the validator's alone.
 *
 * @module
 */

import { _objectSchema, type Schema } from "./_checks.ts";
import { _DEFS } from "./_config_fields.ts";
import { _groupsField } from "./_group_rules.ts";
import { _fileFields } from "./_launch_rules.ts";
import { DEFAULTS } from "./defaults.ts";

/**
 * The JSON Schema of a configuration file `{ groups: [...], ...LaunchOptions }`.
 * Write it next to a config and point `$schema` at it for editor completion.
 *
 * @example
 * ```ts
 * import { configSchema } from "./config_schema.ts";
 * const text = JSON.stringify(configSchema(), null, 2);
 * console.log(text.includes('"additionalProperties": false')); // true
 * ```
 */
export function configSchema(): Record<string, unknown> {
  const root = _objectSchema(_fileFields(_groupsField({})), ["groups"]);
  const properties = root.properties as Record<string, Schema>;
  for (const [key, value] of Object.entries(DEFAULTS)) {
    properties[key] = { ...properties[key], default: value };
  }
  const $defs = Object.fromEntries(
    Object.entries(_DEFS).map(([name, t]) => [
      name,
      { description: t.description, ..._objectSchema(t.fields, t.required) },
    ]),
  );
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: "distarch configuration",
    ...root,
    $defs,
  };
}
