import assert from "node:assert/strict";
import { TransportPool } from "./_transport_pool.ts";
import { LocalTransport } from "./transports/local.ts";

Deno.test("TransportPool gives one local transport for every local target until closed", async () => {
  const pool = new TransportPool({ logger: { log() {} }, gracePeriod: 1, sshLease: 10 });
  const a = await pool.for({ type: "local" });
  assert.ok(a instanceof LocalTransport);
  assert.equal(await pool.for({ type: "local" }), a);
  await pool.close();
  assert.notEqual(await pool.for({ type: "local" }), a, "a new one after close()");
  await pool.close();
});
