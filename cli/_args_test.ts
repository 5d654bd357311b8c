import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";

function assertThrows(fn: () => unknown): unknown {
  let caught: unknown;
  throws(() => {
    try {
      fn();
    } catch (e) {
      caught = e;
      throw e;
    }
  });
  return caught;
}
import { numberOption, parseCommand } from "./_args.ts";
import { CliError } from "./_errors.ts";

Deno.test("parseCommand() returns options and positionals", () => {
  const p = parseCommand("run", ["x.yaml", "--timeout", "3", "--service"], {
    timeout: { type: "string" },
    service: { type: "boolean" },
  }, 1);
  assertEquals(p.positionals, ["x.yaml"]);
  assertEquals(p.values.timeout, "3");
  assertEquals(p.values.service, true);
});

Deno.test("parseCommand() turns an unknown option into a usage error (exit 2)", () => {
  const e = assertThrows(() => parseCommand("ps", ["--jsn"], {}, 0)) as CliError;
  assertEquals(e instanceof CliError, true);
  assertEquals(e.exitCode, 2);
  assertEquals(e.message.startsWith("Unknown option '--jsn'"), true, e.message);
  assertEquals(
    e.message.endsWith('(see "distarch ps --help")'),
    true,
    "no command prefix: main adds it",
  );
});

Deno.test("parseCommand() refuses extra positionals", () => {
  const e = assertThrows(() => parseCommand("stop", ["a"], {}, 0)) as CliError;
  assertEquals(e.exitCode, 2);
  assertEquals(e.message, 'unexpected argument(s) "a" (see "distarch stop --help")');
});

Deno.test("numberOption() checks ranges and integers", () => {
  assertEquals(numberOption({ n: "4" }, "n", { integer: true, min: 1 }), 4);
  assertEquals(numberOption({}, "n"), undefined);
  const e = assertThrows(() => numberOption({ n: "1.5" }, "n", { integer: true })) as CliError;
  assertEquals(e.message, '--n must be an integer ≥ 0: got "1.5"');
  assertThrows(() => numberOption({ n: "-1" }, "n"));
  const big = assertThrows(() =>
    numberOption({ N: "7" }, "N", { integer: true, max: 5, label: "N", hint: "0 stops" })
  ) as CliError;
  assertEquals(big.message, 'N must be an integer from 0 to 5 (0 stops): got "7"');
  assertThrows(() => numberOption({ n: "abc" }, "n"));
});
