import { deepStrictEqual as eq } from "node:assert/strict";
import { parseRequest } from "./control_protocol.ts";

Deno.test("parseRequest() takes a reload of the master's file or of a given file's text", () => {
  eq(parseRequest({ cmd: "reload" }), { cmd: "reload", allAtOnce: false });
  eq(parseRequest({ cmd: "reload", file: "/srv/d.yaml", text: "groups: []", allAtOnce: true }), {
    cmd: "reload",
    file: "/srv/d.yaml",
    text: "groups: []",
    allAtOnce: true,
  });
  eq(
    parseRequest({ cmd: "reload", file: "d.yaml", text: "" }),
    "reload: file must be an absolute path",
  );
  eq(
    parseRequest({ cmd: "reload", file: "/d.yaml" }),
    "reload: give both file and text, or neither (the master's own file)",
  );
  eq(parseRequest({ cmd: "reload", file: "/d.yaml", text: 1 }), "reload: text must be a string");
});
