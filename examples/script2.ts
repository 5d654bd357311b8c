/**
 * The seed README's second worker, shorter: it says who it is, then pings once
 * a second until it is asked to stop or `iterations` seconds (default 2) passed.
 *
 * @module
 */

import { Handler } from "../slave/mod.ts";

await new Handler().run(async (h) => {
  console.log(`My ID : ${h.id}, ${h.groupId}/${h.groupCount} in "${h.groupConfig.name}"`);
  const iterations = typeof h.params.iterations === "number" ? h.params.iterations : 2;
  for (let i = 0; i < iterations && await h.sleep(1); i++) h.ping();
});
