/**
 * The wire protocols distarch speaks: the worker line protocol (worker ↔
 * master, over the worker's stdin/stdout) and the agent protocol (master ↔
 * remote host agent, over one SSH session). Both sides import this module.
 *
 * @example
 * ```ts
 * import { decodeMessage, encodeMessage, PREFIX } from "./mod.ts";
 * const line = encodeMessage({ t: "log", level: "warning", msg: "disk low" });
 * // line === "@distarch/1 warning disk low\n"
 * const msg = decodeMessage(line.slice(PREFIX.length, -1));
 * // msg → { t: "log", level: "warning", msg: "disk low" }
 * ```
 *
 * @module
 */

export * from "./worker.ts";
export * from "./agent.ts";
