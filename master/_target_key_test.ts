import assert from "node:assert/strict";
import { type RemoteReach, remoteTargetKey } from "./_target_key.ts";

const base: RemoteReach = {
  username: "u",
  privateKey: "/k",
  port: 2222,
  sshOptions: { A: "1", B: "2" },
  binPath: "/opt/deno",
};

Deno.test("remoteTargetKey() is equal exactly when host, ssh arguments and agent runtime are", () => {
  const cases: [string, string, RemoteReach, boolean][] = [
    ["the same", "h", { ...base }, true],
    ["sshOptions in another order", "h", { ...base, sshOptions: { B: "2", A: "1" } }, true],
    ["another host", "h2", base, false],
    ["another username", "h", { ...base, username: "v" }, false],
    ["no username", "h", { ...base, username: undefined }, false],
    ["another privateKey", "h", { ...base, privateKey: "/k2" }, false],
    ["another port", "h", { ...base, port: 22 }, false],
    ["no port", "h", { ...base, port: undefined }, false],
    ["another sshOptions value", "h", { ...base, sshOptions: { A: "1", B: "3" } }, false],
    ["one sshOption more", "h", { ...base, sshOptions: { A: "1", B: "2", C: "3" } }, false],
    ["one sshOption less", "h", { ...base, sshOptions: { A: "1" } }, false],
    ["an option's name differing in case", "h", { ...base, sshOptions: { a: "1", B: "2" } }, false],
    ["another binPath", "h", { ...base, binPath: "/usr/bin/deno" }, false],
    ["no binPath (the shipped runtime)", "h", { ...base, binPath: undefined }, false],
  ];
  const key = remoteTargetKey("h", base);
  for (const [what, host, reach, same] of cases) {
    assert.equal(remoteTargetKey(host, reach) === key, same, what);
  }
});

Deno.test("remoteTargetKey() treats unset and empty sshOptions alike, and no field as another's", () => {
  assert.equal(remoteTargetKey("h", {}), remoteTargetKey("h", { sshOptions: {} }));
  assert.equal(remoteTargetKey("h", {}), remoteTargetKey("h", { username: undefined }));
  // values that would collide if the fields were only joined
  assert.notEqual(
    remoteTargetKey("h", { username: "x" }),
    remoteTargetKey("h", { privateKey: "x" }),
  );
  assert.notEqual(
    remoteTargetKey("h", { sshOptions: { "A=1,B": "2" } }),
    remoteTargetKey("h", { sshOptions: { A: "1", B: "2" } }),
  );
  assert.notEqual(remoteTargetKey("h/x", {}), remoteTargetKey("h", { username: "x" }));
  assert.match(remoteTargetKey("h", {}), /^remote\//);
});
