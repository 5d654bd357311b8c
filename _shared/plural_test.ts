import assert from "node:assert/strict";
import { plural } from "./plural.ts";

Deno.test("plural() adds an s to every count but 1", () => {
  assert.deepEqual([0, 1, 2].map((n) => plural(n, "instance")), [
    "0 instances",
    "1 instance",
    "2 instances",
  ]);
});
