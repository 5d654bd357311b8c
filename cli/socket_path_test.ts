import { deepStrictEqual as eq } from "node:assert/strict";
import { socketPath, stateDirPath } from "./socket_path.ts";

const env = (vars: Record<string, string>) => (n: string) => vars[n];

Deno.test("socketPath() prefers --socket, then $DISTARCH_SOCKET", () => {
  eq(socketPath({ option: "/x.sock", env: env({ DISTARCH_SOCKET: "/y.sock" }) }), "/x.sock");
  eq(socketPath({ env: env({ DISTARCH_SOCKET: "/y.sock", XDG_RUNTIME_DIR: "/r" }) }), "/y.sock");
});

Deno.test("socketPath() uses $XDG_RUNTIME_DIR, else /tmp/distarch-<uid>", () => {
  eq(
    socketPath({ env: env({ XDG_RUNTIME_DIR: "/run/user/7" }) }),
    "/run/user/7/distarch/control.sock",
  );
  eq(socketPath({ env: env({}), uid: 7 }), "/tmp/distarch-7/control.sock");
  eq(
    socketPath({ env: env({ XDG_RUNTIME_DIR: "relative" }), uid: 0 }),
    "/tmp/distarch-0/control.sock",
  );
});

Deno.test("stateDirPath() is <socket>.state beside the socket, unless --state-dir is given", () => {
  eq(
    stateDirPath("/run/user/7/distarch/control.sock"),
    "/run/user/7/distarch/control.sock.state",
  );
  eq(stateDirPath("/tmp/distarch-7/control.sock", ""), "/tmp/distarch-7/control.sock.state");
  eq(stateDirPath("/tmp/distarch-7/control.sock", "/srv/state"), "/srv/state");
});
