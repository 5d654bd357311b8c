import { deepStrictEqual as eq } from "node:assert/strict";
import { decodeMessage, encodeMessage, type WorkerContext } from "../protocol/worker.ts";

const script = new URL("../tests/fixtures/w_ready.ts", import.meta.url).pathname;

Deno.test("ready is a protocol message, as a word or as JSON", () => {
  eq(decodeMessage("ready"), { t: "ready" });
  eq(decodeMessage('{"t":"ready"}'), { t: "ready" });
  eq(encodeMessage({ t: "ready" }), "@distarch/1 ready\n");
  eq(decodeMessage("ready now"), undefined);
});

Deno.test("h.ready() writes one ready line, in order with console.log", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", script],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const context: WorkerContext = {
    v: 1,
    id: 1,
    groupId: 1,
    groupCount: 1,
    host: "localhost",
    group: { name: "g", command: "w_ready.ts", params: {} },
  };
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(context) + "\n"));
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let out = "";
  while (!out.includes("serving\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    out += decoder.decode(value, { stream: true });
  }
  await writer.close(); // the end of stdin is a stop request: the worker ends cleanly
  while (true) {
    const { value, done } = await reader.read();
    if (done) break;
    out += decoder.decode(value, { stream: true });
  }
  eq((await child.status).code, 0);
  eq(out.split("\n").filter((l) => l !== ""), [
    "booting",
    "@distarch/1 ready",
    "serving",
    "@distarch/1 ended",
  ]);
});
