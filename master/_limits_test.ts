import { deepStrictEqual as eq, match, ok } from "node:assert/strict";
import { capacityProblem, readCapacity } from "./_limits.ts";

Deno.test("capacityProblem() names the limit that stops a scale-up", () => {
  eq(capacityProblem({}, 10_000), undefined);
  eq(capacityProblem({ openFiles: { limit: 1024, used: 30 } }, 200), undefined);
  match(
    capacityProblem({ openFiles: { limit: 256, used: 40 } }, 100)!,
    /^they need 400 more file descriptors .* open files \(ulimit -n\) is 256 and 40 are in use/,
  );
  match(
    capacityProblem({ processes: { limit: 100, used: 90 } }, 20)!,
    /at least 20 more processes, .* \(ulimit -u\) is 100 and this user runs 90/,
  );
  eq(capacityProblem({ openFiles: { limit: 1, used: 9 } }, 0), undefined, "scaling down");
});

Deno.test("readCapacity() reads this process's open files from /proc", () => {
  const { openFiles } = readCapacity();
  ok(openFiles !== undefined && openFiles.used > 2 && openFiles.limit >= openFiles.used);
});
