/**
 * distarch: start groups of worker processes on this machine and on remote
 * hosts over SSH, relay their logs to one master, keep them alive and stop
 * them cleanly. A Deno port of the PHP `giudicelli/distributed-architecture`.
 *
 * The master runs a {@linkcode Launcher}; each worker wraps its code in a
 * {@linkcode Handler}.
 *
 * @example Master
 * ```ts ignore
 * import { Launcher } from "@distarch/distarch";
 * await new Launcher().run([{
 *   name: "First Group",
 *   command: "script1.ts",
 *   params: { message: "Hello World!" },
 *   processes: [{ type: "local", instances: 3 }],
 * }]);
 * ```
 *
 * @example Worker (script1.ts)
 * ```ts ignore
 * import { Handler } from "@distarch/distarch";
 * await new Handler().run(async (h) => {
 *   console.log(`My ID : ${h.id}, ${h.params.message}`);
 *   while (!h.mustStop()) {
 *     h.ping();
 *     await h.sleep(1);
 *   }
 * });
 * ```
 *
 * @module
 */

export * from "./master/mod.ts";
export { Handler } from "./slave/mod.ts";
export type { HandlerContext, HandlerOptions, Logger as WorkerLogger } from "./slave/mod.ts";
export { LEVELS, PREFIX, PROTOCOL_VERSION } from "./protocol/worker.ts";
export type { Level, WorkerContext, WorkerGroupConfig } from "./protocol/worker.ts";
export type { AgentCommand, AgentEvent, AgentStartSpec } from "./protocol/agent.ts";
