// The agent shipped to hosts is the checked-in prebuilt bundle: it must be what
// `deno bundle slave/agent.ts` makes of today's sources.
import { equal } from "node:assert/strict";
import { agentModule, BUNDLE_MODULE, bundleAgent } from "../tools/bundle_agent.ts";
import { AGENT_SOURCE } from "../slave/_agent_bundle.ts";
import { agentArtifact } from "../master/transports/_upload.ts";
import { ROOT } from "./_helpers.ts";

Deno.test("the checked-in agent bundle is what deno bundle makes of slave/agent.ts", async () => {
  const fresh = agentModule(await bundleAgent());
  const checkedIn = await Deno.readTextFile(ROOT + BUNDLE_MODULE);
  if (fresh !== checkedIn) {
    throw new Error(
      `${BUNDLE_MODULE} is stale: the agent or a module it imports changed since it was ` +
        "generated. Run `deno task bundle-agent` and commit the result.",
    );
  }
});

Deno.test("the master ships the prebuilt agent, read from no file", async () => {
  const agent = await agentArtifact();
  equal(agent.path, undefined);
  equal(new TextDecoder().decode(agent.data), AGENT_SOURCE);
  equal(agent.name, "agent.js");
  equal(agent.size, new TextEncoder().encode(AGENT_SOURCE).length);
});
