import assert from "node:assert/strict";
import { TransportPool } from "./_transport_pool.ts";
import type { Target } from "./plan.ts";
import type { Transport, TransportContext } from "./transports/types.ts";
import { DEFAULT_TRANSPORTS } from "./transports/defaults.ts";
import { LocalTransport } from "./transports/local.ts";

const context: TransportContext = { logger: { log() {} }, gracePeriod: 1, sshLease: 10 };
const local: Target = {
  type: "local",
  key: "local",
  host: "localhost",
  config: { type: "local", instances: 1 },
};
const remote = (host: string): Target => ({
  type: "remote",
  key: `remote/0/0/${host}`,
  host,
  config: { type: "remote", hosts: [host], instances: 1 },
});

Deno.test("TransportPool gives one local transport for every local target until closed", async () => {
  const pool = new TransportPool(DEFAULT_TRANSPORTS, context);
  const a = await pool.for(local);
  assert.ok(a instanceof LocalTransport);
  assert.equal(await pool.for(local), a);
  await pool.close();
  assert.notEqual(await pool.for(local), a, "a new one after close()");
  await pool.close();
});

Deno.test("TransportPool makes one transport per target key with the factory of its type", async () => {
  const made: string[] = [];
  const closed: string[] = [];
  const fake = (target: Target): Transport => {
    made.push(target.key);
    return {
      host: target.host,
      start: () => Promise.reject(new Error("not in this test")),
      close: () => Promise.resolve(void closed.push(target.key)),
    };
  };
  const pool = new TransportPool({ remote: fake }, context);
  const [a, b, a2] = await Promise.all([
    pool.for(remote("a")),
    pool.for(remote("b")),
    pool.for(remote("a")),
  ]);
  assert.equal(a, a2);
  assert.notEqual(a, b);
  assert.deepEqual(made, ["remote/0/0/a", "remote/0/0/b"]);
  await assert.rejects(
    pool.for(local),
    /No transport for targets of type "local" \(known: remote\)/,
  );
  await pool.close();
  assert.deepEqual(closed.sort(), ["remote/0/0/a", "remote/0/0/b"]);
});
