import { deepStrictEqual as eq } from "node:assert/strict";
import { DEFAULTS } from "./defaults.ts";
import { validateLaunchOptions } from "./config.ts";
import { configSchema } from "./config_schema.ts";
import { plan } from "./plan.ts";
import { _LAUNCH } from "./_launch_rules.ts";

/** The `@default {…}` text of each field of `interface name` in types.ts, by field. */
async function jsdocDefaults(name: string): Promise<Record<string, string | undefined>> {
  const text = await Deno.readTextFile(new URL("./types.ts", import.meta.url));
  const start = text.indexOf(`export interface ${name} `);
  const body = text.slice(start, text.indexOf("\n}\n", start));
  const out: Record<string, string | undefined> = {};
  for (const [, doc, key] of body.matchAll(/\/\*\*([\s\S]*?)\*\/\s*(\w+)\??:/g)) {
    out[key!] = /@default \{(.+)\}/.exec(doc!)?.[1];
  }
  return out;
}

Deno.test("DEFAULTS has a value for every launcher option, each one valid", () => {
  eq(Object.keys(DEFAULTS).sort(), Object.keys(_LAUNCH).sort());
  eq(validateLaunchOptions(DEFAULTS), DEFAULTS);
  eq(Object.isFrozen(DEFAULTS), true);
});

Deno.test("the @default of every LaunchOptions field in types.ts is the one in DEFAULTS", async () => {
  const docs = await jsdocDefaults("LaunchOptions");
  eq(Object.keys(docs).sort(), Object.keys(DEFAULTS).sort());
  for (const [key, text] of Object.entries(docs)) {
    eq(
      text === undefined ? undefined : JSON.parse(text),
      DEFAULTS[key as keyof typeof DEFAULTS],
      key,
    );
  }
  const settings = await jsdocDefaults("Settings");
  eq(settings.timeout, `the launcher's timeout, ${DEFAULTS.timeout}`);
});

Deno.test("the schema shows DEFAULTS as the default of each top-level option", () => {
  const properties = configSchema().properties as Record<string, { default?: unknown }>;
  for (const [key, value] of Object.entries(DEFAULTS)) eq(properties[key]?.default, value, key);
});

Deno.test("validateLaunchOptions() leaves out undefined options, so DEFAULTS fills them", () => {
  eq(validateLaunchOptions({ timeout: undefined, restart: "never" }), { restart: "never" });
  eq({ ...DEFAULTS, ...validateLaunchOptions({ timeout: undefined }) }, DEFAULTS);
});

Deno.test("plan() falls back on DEFAULTS.timeout for an instance without one", () => {
  const [spec] = plan([{
    name: "g",
    command: "sleep",
    processes: [{ type: "local", instances: 1 }],
  }], {
    cwd: "/",
    isFile: () => false,
  });
  eq(spec?.timeout, DEFAULTS.timeout);
});
