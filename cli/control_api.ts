/**
 * What a master answers on its control socket: each request mapped to a
 * {@linkcode Launcher} call.
 *
 * @module
 */

import type { Launcher, RunSummary } from "../master/launcher.ts";
import type { Logger } from "../master/types.ts";
import { type ControlRequest, parseRequest, type StopReport } from "./control_protocol.ts";
import type { Reply, RequestHandler } from "./control_server.ts";
import type { LogRing } from "./log_ring.ts";
import { ConfigFileError } from "./config_file.ts";
import type { Reloader } from "./_reloader.ts";
import type { Handover } from "./_handover.ts";
import { errorMessage } from "../_shared/errors.ts";

/** What the handler works on. */
export interface ControlContext {
  /** The running launcher. */
  launcher: Launcher;
  /** Recent records, for `logs`. */
  ring: LogRing;
  /** The promise `launcher.run()` returned. */
  done: Promise<RunSummary>;
  /** When the master started (ms since epoch). */
  startedAt: number;
  /** Bytes a `logs` client may fall behind before it is dropped. @default {4 MiB} */
  maxBacklog?: number;
  /** Where the master logs what it does to clients (a dropped follower). */
  logger?: Logger;
  /** Applies `reload` requests; without it, `reload` is refused. */
  reloader?: Reloader;
  /** Answers `leave` requests; without it, `leave` is refused. */
  handover?: Handover;
}

/** How long the kept lines `logs` sends first wait for a client that reads none of them (ms). */
const STALL_MS = 60_000;

/** Counts instances per final state. */
export function stopReport(summary: RunSummary): StopReport {
  const states: Record<string, number> = {};
  for (const i of summary.instances) states[i.state] = (states[i.state] ?? 0) + 1;
  return { ok: summary.ok, reason: summary.reason, states };
}

/**
 * The request handler of a master's control socket.
 *
 * Requests: `ping`, `ps`, `suspend`, `resume`, `scale`, `restart`,
 * `reload`, `stop`, `leave`, `logs` (see control_protocol.ts).
 */
export function controlHandler(ctx: ControlContext): RequestHandler {
  return async (raw, reply) => {
    const req = parseRequest(raw);
    if (typeof req === "string") return void await reply.send({ ok: false, error: req });
    await answer(ctx, req, reply);
  };
}

async function answer(ctx: ControlContext, req: ControlRequest, reply: Reply): Promise<void> {
  const { launcher } = ctx;
  switch (req.cmd) {
    case "ping":
      return void await reply.send({
        ok: true,
        pid: Deno.pid,
        startedAt: ctx.startedAt,
        groups: launcher.groupNames(),
      });
    case "ps":
      return void await reply.send({
        ok: true,
        pid: Deno.pid,
        now: Date.now(),
        startedAt: ctx.startedAt,
        instances: launcher.list(),
      });
    case "suspend": {
      if (req.group === undefined) await launcher.suspendAll({ force: req.force === true });
      else await launcher.suspendGroup(req.group, { force: req.force === true });
      const what = req.group === undefined ? "every group" : `group ${JSON.stringify(req.group)}`;
      return void await reply.send({ ok: true, message: `suspended ${what}` });
    }
    case "resume": {
      const started = req.group === undefined
        ? launcher.resumeAll()
        : launcher.resumeGroup(req.group);
      const what = req.group === undefined ? "every group" : `group ${JSON.stringify(req.group)}`;
      const message = started === 0
        ? `nothing to resume: no instance of ${what} is suspended`
        : `resumed ${what} (${started} instance${started === 1 ? "" : "s"} started)`;
      return void await reply.send({ ok: true, message });
    }
    case "scale":
      await launcher.scaleGroup(req.group, req.instances);
      return void await reply.send({
        ok: true,
        message: `scaled group ${JSON.stringify(req.group)} to ${req.instances} per host`,
      });
    case "restart":
      await launcher.restartGroup(
        req.group,
        req.aliveTimeout === undefined ? {} : { aliveTimeout: req.aliveTimeout },
      );
      return void await reply.send({
        ok: true,
        message: `restarted group ${JSON.stringify(req.group)}`,
      });
    case "stop": {
      await launcher.stop();
      const summary = await ctx.done;
      return void await reply.send({ ok: true, stopped: stopReport(summary) });
    }
    case "leave": {
      if (ctx.handover === undefined) {
        return void await reply.send({ ok: false, error: "this master cannot leave" });
      }
      try {
        const left = await ctx.handover.leave();
        return void await reply.send({ ok: true, left });
      } catch (e) {
        // the launcher refused (adoption off): the master keeps running
        return void await reply.send({ ok: false, error: errorMessage(e) });
      }
    }
    case "logs":
      return await streamLogs(ctx, req, reply);
    case "reload": {
      if (ctx.reloader === undefined) {
        return void await reply.send({ ok: false, error: "this master cannot reload" });
      }
      const source = req.file !== undefined && req.text !== undefined
        ? { file: req.file, text: req.text }
        : undefined;
      try {
        const report = await ctx.reloader.reload(source, { allAtOnce: req.allAtOnce === true });
        return void await reply.send({ ok: true, report });
      } catch (e) {
        if (!(e instanceof ConfigFileError)) throw e;
        return void await reply.send({ ok: false, error: e.message, issues: e.issues });
      }
    }
  }
}

async function streamLogs(
  ctx: ControlContext,
  req: Extract<ControlRequest, { cmd: "logs" }>,
  reply: Reply,
): Promise<void> {
  const { maxBacklog = 4 << 20 } = ctx;
  const { group } = req;
  if (group !== undefined && !ctx.launcher.groupNames().includes(group)) {
    const known = ctx.launcher.groupNames().join(", ");
    return void await reply.send({
      ok: false,
      error: `no group named ${JSON.stringify(group)} (groups: ${known})`,
    });
  }
  const behind = `dropped: this client fell more than ${maxBacklog >> 20} MiB behind the log`;
  const drop = () => {
    void reply.send({ ok: false, error: `${behind}; read faster, or ask for one GROUP` });
    // later, not from inside the logger that called us
    setTimeout(() =>
      ctx.logger?.log({ level: "warning", message: dropped(maxBacklog), time: Date.now() })
    );
  };
  const wanted = (r: { group?: string }) => group === undefined || r.group === group;
  const recent = ctx.ring.recent().filter(wanted);
  const tail = req.lines === undefined ? recent : recent.slice(recent.length - req.lines);
  for (const record of req.lines === 0 ? [] : tail) {
    void reply.send({ record });
    if (reply.pendingBytes <= maxBacklog) continue;
    // the kept lines are a finite list: wait for the client to read them, unless it stopped
    if (!(await reply.drainUnlessStalled(STALL_MS))) return drop();
    if (reply.signal.aborted) return;
  }
  if (!req.follow) return void await reply.send({ ok: true, end: true });
  await new Promise<void>((resolve) => {
    const unfollow = ctx.ring.follow((record) => {
      if (!wanted(record)) return;
      if (reply.pendingBytes > maxBacklog) {
        drop();
        finish();
      } else void reply.send({ record });
    });
    const finish = () => {
      unfollow();
      reply.signal.removeEventListener("abort", finish);
      resolve();
    };
    if (reply.signal.aborted) finish();
    else reply.signal.addEventListener("abort", finish);
  });
}

function dropped(maxBacklog: number): string {
  return `dropped a "logs -f" client: more than ${maxBacklog >> 20} MiB behind (it does not read)`;
}
