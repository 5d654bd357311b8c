/**
 * distarch: start groups of worker processes on this machine and on remote
 * hosts over SSH, relay their logs to one master, keep them alive and stop
 * them cleanly. A Deno port of the PHP `giudicelli/distributed-architecture`.
 *
 * The master runs a {@linkcode Launcher}; each worker wraps its code in a
 * {@linkcode Handler}. The `./master`, `./slave` and `./protocol` exports
 * hold each side alone; the agent's wire protocol is in `./protocol` only.
 *
 * @example Master (master.ts)
 * ```ts
 * import { Launcher } from "@distarch/distarch";
 *
 * if (import.meta.main) {
 *   const summary = await new Launcher().run([{
 *     name: "First Group",
 *     command: "worker.ts",
 *     params: { message: "Hello World!" },
 *     processes: [
 *       { type: "local", instances: 3 },
 *       { type: "remote", hosts: ["server-1", "server-2"], instances: 2 },
 *     ],
 *   }]);
 *   Deno.exitCode = summary.ok ? 0 : 1;
 * }
 * ```
 *
 * @example Worker (worker.ts)
 * ```ts
 * import { Handler } from "@distarch/distarch";
 *
 * if (import.meta.main) {
 *   await new Handler().run(async (h) => {
 *     console.log(`My ID : ${h.id}, ${h.params.message}`);
 *     while (!h.mustStop()) {
 *       h.ping();
 *       await h.sleep(1);
 *     }
 *   });
 * }
 * ```
 *
 * @module
 */

export * from "./master/mod.ts";
export { Handler } from "./slave/mod.ts";
export type { HandlerContext, HandlerOptions, Logger as WorkerLogger } from "./slave/mod.ts";
export { LEVELS, PREFIX, PROTOCOL_VERSION } from "./protocol/worker.ts";
export type { Level, WorkerContext, WorkerGroupConfig } from "./protocol/worker.ts";
