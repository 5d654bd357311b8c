/**
 * `distarch run [FILE]`: the master. Loads the config, binds the control
 * socket, starts every group and supervises them until they end or are
 * stopped; shows the live summary in a terminal.
 *
 * @module
 */

import { ConfigError } from "../../master/config.ts";
import type { RunSummary } from "../../master/launcher.ts";
import { type WriterLogger, writerLogger } from "../../master/log.ts";
import type { LaunchOptions } from "../../master/types.ts";
import { numberOption, parseCommand, stringOption } from "../_args.ts";
import { CliError, EXIT } from "../_errors.ts";
import { controlHandler, stopReport } from "../control_api.ts";
import { ConfigFileError } from "../config_file.ts";
import { Reloader } from "../_reloader.ts";
import { reportLines } from "../../master/reload.ts";
import type { Logger } from "../../master/types.ts";
import { ControlServer } from "../control_server.ts";
import { configDir, loadConfigFile } from "./_load.ts";
import { LiveView } from "../live.ts";
import { LogRing, teeLogger } from "../log_ring.ts";
import { LogFeed } from "../../master/http/log_feed.ts";
import { MeasuredLauncher, startDashboard } from "./dashboard.ts";
import { socketPath, stateDirPath } from "../socket_path.ts";
import { Handover } from "../_handover.ts";
import type { LeftReport } from "../control_protocol.ts";
import { DEFAULTS } from "../../master/defaults.ts";

/** The options of `run`. */
export const RUN_OPTIONS = {
  "max-running-time": { type: "string" },
  "max-process-timeout": { type: "string" },
  timeout: { type: "string" },
  service: { type: "boolean" },
  "log-file": { type: "string" },
  "pid-file": { type: "string" },
  "log-format": { type: "string" },
  socket: { type: "string" },
  "state-dir": { type: "string" },
  plain: { type: "boolean" },
  http: { type: "string" },
} as const;

/** Runs the master; resolves to the exit code (0 when everything ended cleanly). */
export async function runCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseCommand("run", args, RUN_OPTIONS, 1);
  const format = stringOption(values, "log-format") ?? "text";
  if (format !== "text" && format !== "json") {
    throw new CliError(
      `--log-format must be "text" or "json": got ${JSON.stringify(format)}`,
      EXIT.usage,
    );
  }
  const overrides: LaunchOptions = {};
  const maxRunningTime = numberOption(values, "max-running-time");
  const maxProcessTimeouts = numberOption(values, "max-process-timeout", { integer: true });
  const timeout = numberOption(values, "timeout");
  if (maxRunningTime !== undefined) overrides.maxRunningTime = maxRunningTime;
  if (maxProcessTimeouts !== undefined) overrides.maxProcessTimeouts = maxProcessTimeouts;
  if (timeout !== undefined) overrides.timeout = timeout;
  if (values.service === true) overrides.service = true;

  const { file, config } = await loadConfigFile(positionals[0]);
  const logFile = stringOption(values, "log-file");
  const pidFile = stringOption(values, "pid-file");
  const out = logFile === undefined ? undefined : openLogFile(logFile);
  const sink: WriterLogger = writerLogger(out ?? Deno.stdout, {
    format,
    name: logFile === undefined ? "stdout" : `--log-file ${logFile}`,
  });
  const ring = new LogRing();
  const feed = new LogFeed(); // the dashboard's log stream and counts (cheap without --http)
  // the sink's backpressure reaches the relay: local instances wait while the log is behind
  const logger = { ...teeLogger(sink, ring, feed), backpressure: () => sink.backpressure() };
  const path = socketPath({ option: stringOption(values, "socket") });
  // beside the socket, in its private directory: a new run on the same socket adopts what was left
  const stateDir = absolute(stateDirPath(path, stringOption(values, "state-dir")));
  let launcher: MeasuredLauncher;
  try {
    launcher = new MeasuredLauncher({ // list() has CPU and memory: ps --json, live view, dashboard
      logger,
      handleSignals: true,
      cwd: configDir(file),
      stateDir,
      ...config.options,
      ...overrides,
    });
  } catch (e) {
    out?.close();
    if (e instanceof ConfigError) throw new CliError(e.message, EXIT.config, { cause: e });
    throw e;
  }

  const reloader = new Reloader(launcher, file, overrides);
  const startedAt = Date.now();
  const done = Promise.withResolvers<RunSummary>();
  done.promise.catch(() => {});
  const handover = new Handover(launcher, config.options.adoptWindow ?? DEFAULTS.adoptWindow);
  let server: ControlServer;
  try {
    server = await ControlServer.listen(
      path,
      controlHandler({
        launcher,
        ring,
        done: done.promise,
        startedAt,
        logger,
        reloader,
        handover,
      }),
    );
  } catch (e) {
    out?.close();
    throw e;
  }
  // the dashboard (--http or the config's http:), beside the control socket
  let dashboard;
  try {
    const option = stringOption(values, "http");
    dashboard = startDashboard({
      option,
      config: config.http,
      launcher,
      feed,
      logger,
      socket: path,
    });
  } catch (e) {
    await server.close();
    out?.close();
    throw e;
  }
  if (pidFile !== undefined) Deno.writeTextFileSync(pidFile, `${Deno.pid}\n`);
  const live = values.plain !== true && (logFile !== undefined || format === "text") &&
      roomForLiveView(config.groups.length)
    ? new LiveView(() => launcher.list(), startedAt, {
      note: `control ${path}`,
      groups: config.groups.length,
    })
    : undefined;
  let summary: RunSummary;
  const removeHup = onSighup(() => reloadOnSignal(reloader, file, logger));
  try {
    summary = await launcher.run(config.groups);
    done.resolve(summary);
  } catch (e) {
    done.reject(e);
    throw e;
  } finally {
    removeHup();
    await sink.flush();
    live?.close();
    launcher.sampler[Symbol.dispose]();
    await dashboard?.close();
    await server.close();
    if (pidFile !== undefined) removePidFile(pidFile);
    out?.close();
  }
  const left = await handover.left();
  if (left !== undefined) return leftCode(left, lostLines(sink));
  return exitCode(summary, lostLines(sink));
}

/**
 * The exit code of a run that ended by `stop --leave-running`: 0, and a last
 * line saying what runs on (nothing was stopped, so no "stopped" summary).
 */
function leftCode(left: LeftReport, lost: string | undefined): number {
  if (lost !== undefined) console.error(`distarch: the log is incomplete: ${lost}`);
  const { instances, adoptWindow } = left;
  console.log(
    `left ${instances} instance${instances === 1 ? "" : "s"} running for the next master ` +
      `(adoptWindow ${adoptWindow} s)`,
  );
  return EXIT.ok;
}

/** Calls `reload` on each SIGHUP; returns the function that stops listening. */
function onSighup(reload: () => void): () => void {
  try {
    Deno.addSignalListener("SIGHUP", reload);
  } catch {
    return () => {}; // no SIGHUP on this platform
  }
  return () => Deno.removeSignalListener("SIGHUP", reload);
}

/** SIGHUP: reloads the master's file, logging the report (or why nothing changed). */
function reloadOnSignal(reloader: Reloader, file: string, logger: Logger): void {
  const log = (level: "notice" | "error", message: string) =>
    logger.log({ level, message, time: Date.now() });
  log("notice", `SIGHUP: reloading ${file}`);
  reloader.reload().then(
    (report) => {
      for (const line of reportLines(report)) log("notice", `reload: ${line}`);
    },
    (e) => {
      const why = e instanceof ConfigFileError ? e.message : String(e);
      log("error", `reload of ${file} refused, nothing changed:\n${why}`);
    },
  );
}

/** What the log lost, as a sentence (undefined when nothing was lost). */
function lostLines(sink: WriterLogger): string | undefined {
  const { lost, dropped, error } = sink.stats();
  if (lost === 0 && dropped === 0) return undefined;
  const parts = [];
  if (lost > 0) parts.push(`${lost} log line${lost === 1 ? "" : "s"} lost (${error})`);
  if (dropped > 0) {
    parts.push(`${dropped} log record${dropped === 1 ? "" : "s"} dropped (the output was blocked)`);
  }
  return parts.join(", ");
}

/**
 * The exit code of a finished run, throwing a {@linkcode CliError} with a
 * message when not 0: a run whose log lost lines is not a success either.
 */
function exitCode(summary: RunSummary, lost: string | undefined): number {
  if (summary.reason === "signal" && summary.signal !== undefined) {
    if (lost !== undefined) console.error(`distarch: the log is incomplete: ${lost}`);
    return summary.signal === "SIGINT" ? EXIT.sigint : EXIT.sigterm;
  }
  if (summary.ok && lost !== undefined) {
    throw new CliError(`run ended, but the log is incomplete: ${lost}`, EXIT.failed);
  }
  if (summary.ok) return EXIT.ok;
  const failed = summary.instances.filter((i) => i.state === "failed");
  const states = Object.entries(stopReport(summary).states).map(([s, n]) => `${n} ${s}`);
  const which = failed.slice(0, 5).map((i) => `${i.group}/${i.id} on ${i.host}`).join(", ");
  throw new CliError(
    `run ended with failures (${states.join(", ")})${which ? `: ${which}` : ""}` +
      (lost === undefined ? "" : `; the log is incomplete: ${lost}`),
    EXIT.failed,
  );
}

/** True when stdout is a terminal tall enough for the summary and some log lines. */
function roomForLiveView(groups: number): boolean {
  if (!Deno.stdout.isTerminal()) return false;
  try {
    const { rows, columns } = Deno.consoleSize();
    return rows >= groups + 8 && columns >= 40;
  } catch {
    return false;
  }
}

/** `path` against the current directory (the launcher resolves commands against the config's). */
function absolute(path: string): string {
  return path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
}

function openLogFile(path: string): Deno.FsFile {
  try {
    return Deno.openSync(path, { append: true, create: true });
  } catch (e) {
    throw new CliError(`cannot open --log-file ${path}: ${e}`, EXIT.usage, { cause: e });
  }
}

function removePidFile(path: string): void {
  try {
    if (Deno.readTextFileSync(path).trim() === String(Deno.pid)) Deno.removeSync(path);
  } catch {
    // gone already
  }
}
