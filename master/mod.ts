/**
 * The master side of distarch: a {@linkcode Launcher} runs groups of worker
 * instances on this machine and on remote hosts, relays their logs, keeps
 * them alive and stops them cleanly.
 *
 * @example
 * ```ts
 * import { Launcher } from "@distarch/distarch/master";
 *
 * if (import.meta.main) {
 *   const launcher = new Launcher();
 *   const summary = await launcher.run([
 *     {
 *       name: "First Group",
 *       command: "examples/script1.ts",
 *       params: { message: "Hello World!" },
 *       processes: [
 *         { type: "local", instances: 3 },
 *         { type: "remote", hosts: ["server-1", "server-2"], instances: 2 },
 *       ],
 *     },
 *   ]);
 *   if (!summary.ok) Deno.exitCode = 1;
 * }
 * ```
 *
 * @module
 */

export { Launcher } from "./launcher.ts";
export type { LauncherOptions, RunSummary } from "./launcher.ts";
export { ConfigError, validateConfig, validateGroups, validateLaunchOptions } from "./config.ts";
export type { Config, ConfigIssue, ValidateGroupsOptions } from "./config.ts";
export type { ConfigPath } from "./_checks.ts";
export { configSchema } from "./config_schema.ts";
export { DEFAULTS } from "./defaults.ts";
export type { Schema } from "./_checks.ts";
export { defaultLogger, escapeText, formatJson, formatText, writerLogger } from "./log.ts";
export type {
  FlushingLogger,
  LogWriter,
  SinkStats,
  SyncWriter,
  WriterLogger,
  WriterLoggerOptions,
} from "./log.ts";
export type {
  EventHandlers,
  EventOf,
  InstanceInfo,
  InstanceState,
  LauncherEvent,
  StopReason,
} from "./events.ts";
export type { Exec, InstanceSpec, Target } from "./plan.ts";
export { ResourceSampler } from "./resources.ts";
export type { ResourceSample, ResourceSamplerOptions } from "./resources.ts";
export { serveDashboard } from "./http/dashboard.ts";
export type {
  Dashboard,
  DashboardOptions,
  DashboardTarget,
  GroupSummary,
} from "./http/dashboard.ts";
export { LogFeed } from "./http/log_feed.ts";
export type { FeedCursor, FeedEntry, FeedRead, LogFeedOptions } from "./http/log_feed.ts";
export { parseListen } from "./http/listen.ts";
export type { ListenAddress } from "./http/listen.ts";
export type {
  AdoptedRun,
  AdoptOptions,
  AgentHandle,
  ExitStatus,
  InstanceResources,
  OutputHandler,
  RunningInstance,
  Transport,
  TransportContext,
  TransportFactories,
  TransportFactory,
} from "./transports/types.ts";
export { StartError } from "./transports/types.ts";
export { DEFAULT_TRANSPORTS, localTransport, sshTransport } from "./transports/defaults.ts";
export { LocalTransport } from "./transports/local.ts";
export { argvFor, denoRuntime } from "./transports/_argv.ts";
export { spawnProcess } from "../_shared/spawn.ts";
export type { SpawnOptions } from "../_shared/spawn.ts";
export { reportLines } from "./reload.ts";
export type { ApplyOptions, ApplyReport, GroupReport, ReplaceMode } from "./reload.ts";
export type {
  GroupConfig,
  LaunchOptions,
  LocalProcessConfig,
  Logger,
  LogRecord,
  ProcessConfig,
  RemoteProcessConfig,
  RestartPolicy,
  Settings,
} from "./types.ts";
