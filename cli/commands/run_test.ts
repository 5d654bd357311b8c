import { deepStrictEqual as eq, rejects } from "node:assert/strict";
import { RUN_OPTIONS, runCommand } from "./run.ts";
import { parseCommand } from "../_args.ts";
import { CliError, EXIT } from "../_errors.ts";

Deno.test("run takes --state-dir DIR", () => {
  const p = parseCommand("run", ["d.yaml", "--state-dir", "/srv/state"], RUN_OPTIONS, 1);
  eq(p.values["state-dir"], "/srv/state");
  eq(p.positionals, ["d.yaml"]);
});

Deno.test("run --state-dir without DIR is a usage error (exit 2), before anything starts", async () => {
  let caught: unknown;
  await rejects(
    runCommand(["--state-dir"]).catch((e) => {
      caught = e;
      throw e;
    }),
  );
  eq(caught instanceof CliError && caught.exitCode, EXIT.usage);
  eq(/--state-dir/.test((caught as Error).message), true);
});
