/**
 * The master's stop signals: SIGINT and SIGTERM, counted, so that a second
 * one can force what the first asked gently.
 *
 * @module
 */

/** The signals that stop the master. */
export type StopSignal = "SIGINT" | "SIGTERM";

/** Where signal listeners are added: `Deno`, or a fake in tests. */
export interface SignalSource {
  /** Adds a listener. */
  addSignalListener(signal: StopSignal, handler: () => void): void;
  /** Removes it. */
  removeSignalListener(signal: StopSignal, handler: () => void): void;
}

/**
 * Calls `onSignal` with the signal's name and how many stop signals came so
 * far (1 for the first, whichever it was). Returns the function that removes
 * the listeners.
 *
 * @example
 * ```ts
 * import { listenStopSignals } from "./_signals.ts";
 * const remove = listenStopSignals((name, count) => console.log(name, count));
 * remove();
 * ```
 */
export function listenStopSignals(
  onSignal: (name: StopSignal, count: number) => void,
  options: {
    /** Where the listeners go. @default {Deno} */
    source?: SignalSource;
  } = {},
): () => void {
  const { source = Deno } = options;
  let count = 0;
  const handlers = (["SIGINT", "SIGTERM"] as const).map((name) => {
    const handler = () => onSignal(name, ++count);
    source.addSignalListener(name, handler);
    return [name, handler] as const;
  });
  return () => {
    for (const [name, handler] of handlers) source.removeSignalListener(name, handler);
  };
}
