/**
 * The seed README's first worker, ported: it says who it is, prints its
 * `message` param, then works in short steps, pinging the master after each,
 * until it is asked to stop or has done `iterations` steps (default 10, about
 * 0.2 s each, so a demo ends by itself).
 *
 * Run it through a master, e.g. a group with `command: examples/script1.ts`
 * and `params: { message: "Hello World!" }`. It needs no permission.
 *
 * @module
 */

import { Handler } from "../slave/mod.ts";

/** One bounded piece of work. */
function doStep(step: number): number {
  let sum = 0;
  for (let i = 0; i < 10_000; i++) sum += (i * step) % 7;
  return sum;
}

await new Handler().run(async (h) => {
  const params = h.groupConfig.params;
  const iterations = typeof params.iterations === "number" ? params.iterations : 10;

  // Anything printed is an `info` log for the master; use h.logger for other levels.
  console.log(`My ID : ${h.id}`);
  console.log(`My Group ID : ${h.groupId}`);
  console.log(
    `There are a total of ${h.groupCount} processes in my group named "${h.groupConfig.name}"`,
  );
  console.log(String(params.message ?? "(no message param)"));

  let step = 0;
  while (!h.mustStop()) {
    doStep(++step);
    h.ping(); // let the master know we're still running
    if (step >= iterations) break;
    await h.sleep(0.2); // returns early when a stop is requested
  }
  h.logger.notice(h.stopping ? "stopping on request" : "all steps done", { steps: step });
});
