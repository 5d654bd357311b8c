/**
 * The worker side of distarch: a worker script wraps its code in
 * {@linkcode Handler.run} and gets its ids, its group's params, a logger,
 * `ping()` and stop requests.
 *
 * Plain stdout lines (`console.log`) reach the master as `info` logs; use
 * `h.logger` for other levels or to attach context. The handler needs no
 * permission at all.
 *
 * @example
 * ```ts
 * import { Handler } from "./mod.ts";
 *
 * if (import.meta.main) {
 *   await new Handler().run(async (h) => {
 *     console.log(`My ID : ${h.id}`);
 *     console.log(`My Group ID : ${h.groupId}`);
 *     h.logger.notice("started", { params: h.params });
 *     while (!h.mustStop()) {
 *       // do a bounded piece of work, then:
 *       h.ping();
 *       await h.sleep(0.5);
 *     }
 *   });
 * }
 * ```
 *
 * @module
 */

export { Handler } from "./handler.ts";
export type { HandlerContext, HandlerOptions, Logger } from "./handler.ts";
export { LEVELS, PREFIX, PROTOCOL_VERSION } from "../protocol/worker.ts";
export type { Level, WorkerContext, WorkerGroupConfig } from "../protocol/worker.ts";
