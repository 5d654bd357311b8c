import { deepStrictEqual as eq } from "node:assert/strict";
import { parseRequest } from "./control_protocol.ts";

Deno.test("parseRequest() accepts well-formed requests", () => {
  eq(parseRequest({ cmd: "ps" }), { cmd: "ps" });
  eq(parseRequest({ cmd: "scale", group: "g", instances: 3 }), {
    cmd: "scale",
    group: "g",
    instances: 3,
  });
  eq(parseRequest({ cmd: "logs", group: "g", follow: true }), {
    cmd: "logs",
    group: "g",
    follow: true,
  });
  eq(parseRequest({ cmd: "suspend" }), { cmd: "suspend", force: false });
});

Deno.test("parseRequest() explains what is wrong", () => {
  eq(parseRequest(null), "request must be a JSON object");
  eq(parseRequest({ cmd: "nope" }), 'unknown command "nope"');
  eq(
    parseRequest({ cmd: "scale", group: "g", instances: 1.5 }),
    "scale: instances must be an integer from 0 to 10000 (got 1.5)",
  );
  eq(parseRequest({ cmd: "scale", group: "g", instances: 0 }), {
    cmd: "scale",
    group: "g",
    instances: 0,
  });
  eq(parseRequest({ cmd: "restart" }), "restart: group is required");
  eq(parseRequest({ cmd: "resume", group: 3 }), "resume: group must be a string");
});

Deno.test("parseRequest() accepts leave, ignoring other fields", () => {
  eq(parseRequest({ cmd: "leave" }), { cmd: "leave" });
  eq(parseRequest({ cmd: "leave", group: "g" }), { cmd: "leave" });
  eq(parseRequest({ cmd: "leave", group: 1 }), "leave: group must be a string");
});
