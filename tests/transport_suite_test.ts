// The shared transport suite (tests/_transport_cases.ts), run against every transport:
// local (Deno.Command on this machine), the local agent (handover on) and SSH (the agent on a
// loopback sshd).
import { localAgentTransport } from "../master/transports/defaults.ts";
import { LocalTransport } from "../master/transports/local.ts";
import { SshTransport } from "../master/transports/ssh.ts";
import { sshdUnavailable, startSshd } from "./_sshd.ts";
import { transportSuite } from "./_transport_cases.ts";

transportSuite("local", {
  open() {
    const transport = new LocalTransport();
    return Promise.resolve({
      transport,
      config: { type: "local", instances: 1 },
      [Symbol.asyncDispose]: () => transport.close(),
    });
  },
});

transportSuite("local agent", {
  async open() {
    const config = { type: "local" as const, instances: 1 };
    const transport = await localAgentTransport(
      { type: "local", key: "local", host: "localhost", config },
      { logger: { log: () => {} }, gracePeriod: 1, sshLease: 5, adoptWindow: 5 },
    );
    return { transport, config, [Symbol.asyncDispose]: () => transport.close() };
  },
});

transportSuite("ssh", {
  ignore: sshdUnavailable() !== undefined,
  async open() {
    const sshd = await startSshd({ hosts: 1 });
    const config = sshd.remoteConfig({ instances: 1 });
    const transport = new SshTransport({
      host: sshd.hosts[0]!,
      config,
      logger: { log: () => {} },
      lease: 5,
      gracePeriod: 1,
    });
    return {
      transport,
      config,
      async [Symbol.asyncDispose]() {
        await transport.close();
        await sshd[Symbol.asyncDispose]();
      },
    };
  },
});
