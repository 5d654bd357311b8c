import assert from "node:assert/strict";
import { errorMessage } from "./errors.ts";

Deno.test("errorMessage() takes an Error's message and stringifies anything else", () => {
  assert.equal(errorMessage(new RangeError("out of range")), "out of range");
  assert.equal(errorMessage(new DOMException("aborted", "AbortError")), "aborted");
  assert.equal(errorMessage("text"), "text");
  assert.equal(errorMessage(42), "42");
  assert.equal(errorMessage(undefined), "undefined");
  assert.equal(errorMessage(null), "null");
});
