// worker.ts
import { Handler } from "jsr:@distarch/distarch@^0.1.0/slave";

await new Handler().run(async (h) => {
  console.log(`My ID : ${h.id}`); // every printed line is an info log on the master
  console.log(`There are ${h.groupCount} of us in "${h.groupConfig.name}"`);
  console.log(String(h.params.message));
  while (!h.mustStop()) {
    // do a bounded piece of work, then tell the master we are alive
    h.ping();
    await h.sleep(1); // returns false early when the master asks us to stop
  }
});
