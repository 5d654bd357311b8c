import assert from "node:assert/strict";
import { listenStopSignals, type SignalSource, type StopSignal } from "./_signals.ts";

/** Signals delivered by hand. */
class FakeSignals implements SignalSource {
  readonly listeners = new Map<StopSignal, Set<() => void>>();
  addSignalListener(signal: StopSignal, handler: () => void): void {
    const set = this.listeners.get(signal) ?? new Set();
    this.listeners.set(signal, set.add(handler));
  }
  removeSignalListener(signal: StopSignal, handler: () => void): void {
    this.listeners.get(signal)?.delete(handler);
  }
  send(signal: StopSignal): void {
    for (const h of this.listeners.get(signal) ?? []) h();
  }
}

Deno.test("listenStopSignals() counts SIGINT and SIGTERM together, until removed", () => {
  const source = new FakeSignals();
  const seen: [StopSignal, number][] = [];
  const remove = listenStopSignals((name, count) => seen.push([name, count]), { source });
  source.send("SIGTERM");
  source.send("SIGINT");
  source.send("SIGINT");
  remove();
  source.send("SIGINT");
  assert.deepEqual(seen, [["SIGTERM", 1], ["SIGINT", 2], ["SIGINT", 3]]);
  assert.deepEqual([...source.listeners.values()].map((s) => s.size), [0, 0]);
});
