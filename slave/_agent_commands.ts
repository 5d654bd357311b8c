/**
 * The agent's command dispatch: one line from the master, parsed and
 * checked, calls the handler of its kind; anything else is a warning.
 *
 * @module
 */

import type { AgentCommand, AgentStartSpec } from "../protocol/agent.ts";

const SIGNALS: ReadonlySet<string> = new Set(["SIGTERM", "SIGKILL", "SIGINT", "SIGHUP"]);

type Signal = Extract<AgentCommand, { t: "signal" }>["signal"];

/** What each command does, given the agent. */
export interface CommandHandlers {
  /** `start`: starts instance `key`. */
  start(key: number, spec: AgentStartSpec): void;
  /** `signal`: a known signal for instance `key`. */
  signal(key: number, signal: Signal): void;
  /** `stdin`: a text for instance `key`'s stdin. */
  stdin(key: number, text: string): void;
  /** `hb` with an acknowledged frame number. */
  ack(seq: number): void;
  /** `bye`: the master is done. */
  bye(): void;
  /** `hello`, with the master's secret. */
  hello(secret: string): void;
  /** Diagnostics: a line that is no command. */
  warn(message: string): void;
}

/** Parses `line` and calls its handler in `on`; a blank line does nothing. */
export function handleCommand(line: string, on: CommandHandlers): void {
  if (line.trim() === "") return;
  let cmd: AgentCommand;
  try {
    cmd = JSON.parse(line) as AgentCommand;
  } catch {
    on.warn(`ignoring a line that is not JSON: ${line.slice(0, 80)}`);
    return;
  }
  switch (cmd.t) {
    case "start":
      on.start(cmd.key, cmd.spec);
      break;
    case "signal":
      if (SIGNALS.has(cmd.signal)) on.signal(cmd.key, cmd.signal);
      break;
    case "stdin":
      if (typeof cmd.text === "string") on.stdin(cmd.key, cmd.text);
      break;
    case "hb":
      if (typeof cmd.ack === "number") on.ack(cmd.ack);
      break;
    case "bye":
      on.bye();
      break;
    case "hello":
      if (typeof cmd.secret === "string") on.hello(cmd.secret);
      break;
    default:
      on.warn(`ignoring an unknown command: ${line.slice(0, 80)}`);
  }
}
