import { deepStrictEqual as eq } from "node:assert/strict";
import { OutputRelay } from "./_relay.ts";
import { plan } from "./plan.ts";
import type { LogRecord } from "./types.ts";

const [spec] = plan(
  [{ name: "g", command: "w.sh", processes: [{ type: "local", instances: 1 }] }],
  {
    cwd: "/srv",
    isFile: () => true,
  },
);

Deno.test("OutputRelay decodes the ready line once: readyAt, onReady, nothing logged", () => {
  const records: LogRecord[] = [];
  const relay = new OutputRelay(spec!, { log: (r) => records.push(r) });
  const calls: string[] = [];
  relay.onReady = () => calls.push("ready");
  const bytes = new TextEncoder().encode(
    "booting\n@distarch/1 ready\nserving\n@distarch/1 ready\n",
  );
  eq(relay.readyAt, undefined);
  relay.onOutput("stdout", bytes);
  eq(calls, ["ready"]);
  eq(typeof relay.readyAt, "number");
  eq(records.map((r) => r.message), ["booting", "serving"]);
});

Deno.test("OutputRelay: a ready line on stderr is a plain line", () => {
  const records: LogRecord[] = [];
  const relay = new OutputRelay(spec!, { log: (r) => records.push(r) });
  relay.onOutput("stderr", new TextEncoder().encode("@distarch/1 ready\n"));
  eq(relay.readyAt, undefined);
  eq(records.map((r) => [r.level, r.message]), [["warning", "@distarch/1 ready"]]);
});
