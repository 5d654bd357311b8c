import { deepStrictEqual as eq, throws } from "node:assert/strict";
import { checkSocketDir, socketDir } from "./_socket_guard.ts";
import { tempDir } from "./_testing.ts";

Deno.test("socketDir() is the directory part of a socket path", () => {
  eq(socketDir("/run/user/1/distarch/control.sock"), "/run/user/1/distarch");
  eq(socketDir("/c.sock"), "/");
  eq(socketDir("c.sock"), ".");
});

Deno.test("checkSocketDir() accepts a private directory, refuses a shared sticky one", () => {
  using dir = tempDir();
  checkSocketDir(dir.path, Deno.uid());
  Deno.chmodSync(dir.path, 0o1777);
  throws(
    () => checkSocketDir(dir.path, Deno.uid()),
    /mode 01777\): they could replace the socket\. It is a shared directory \(sticky bit\): do not change it/,
  );
  throws(() => checkSocketDir(`${dir.path}/none`), Deno.errors.NotFound);
});
