/**
 * The transports of a run, one per {@linkcode Target.key}, each made by the
 * factory registered for its target's `type`. The launcher asks for a
 * target's transport and never knows which kind it holds.
 *
 * @module
 */

import type { Target } from "./plan.ts";
import type {
  Transport,
  TransportContext,
  TransportFactories,
  TransportFactory,
} from "./transports/types.ts";

/** Transports made on demand, kept until {@linkcode TransportPool.close}. */
export class TransportPool {
  readonly #factories: TransportFactories;
  #context: TransportContext;
  readonly #transports = new Map<string, Promise<Transport>>();
  /** The transports made so far, by target key. */
  readonly #made = new Map<string, Transport>();

  /** Creates an empty pool that makes its transports with `factories`. */
  constructor(factories: TransportFactories, context: TransportContext) {
    this.#factories = factories;
    this.#context = context;
  }

  /** Seconds a transport's own stops wait after SIGTERM before SIGKILL, for transports made from now on. */
  set gracePeriod(seconds: number) {
    this.#context = { ...this.#context, gracePeriod: seconds };
  }

  /**
   * The transport of `target`, made by its type's factory on first use.
   * Throws when no factory serves that type.
   */
  for(target: Target): Promise<Transport> {
    let t = this.#transports.get(target.key);
    if (t === undefined) {
      const factory: TransportFactory | undefined = this.#factories[target.type];
      if (factory === undefined) {
        const known = Object.keys(this.#factories).join(", ");
        return Promise.reject(
          new Error(`No transport for targets of type "${target.type}" (known: ${known})`),
        );
      }
      t = (async () => await factory(target, this.#context))();
      this.#transports.set(target.key, t);
      const key = target.key;
      t.then((made) => {
        if (this.#transports.get(key) === t) this.#made.set(key, made);
      }, () => this.#transports.delete(key));
    }
    return t;
  }

  /** The transports made so far, by target key. */
  made(): IterableIterator<[string, Transport]> {
    return this.#made.entries();
  }

  /** Changes the context of the transports made from now on. */
  configure(patch: Partial<TransportContext>): void {
    this.#context = { ...this.#context, ...patch };
  }

  /**
   * Ends every transport without stopping its instances where it can
   * ({@linkcode Transport.leave}), else closes it; empties the pool.
   */
  async leave(): Promise<void> {
    const all = [...this.#transports.values()];
    this.#transports.clear();
    this.#made.clear();
    await Promise.all(
      all.map((t) => t.then((x) => x.leave ? x.leave() : x.close()).catch(() => {})),
    );
  }

  /**
   * Closes the transports no target of `used` needs any more (after a
   * reload): one that several groups share stays as long as any of their
   * targets has its key.
   */
  async release(used: Iterable<Target>): Promise<void> {
    const keep = new Set([...used].map((t) => t.key));
    const gone = [...this.#transports].filter(([key]) => !keep.has(key));
    for (const [key] of gone) {
      this.#transports.delete(key);
      this.#made.delete(key);
    }
    await Promise.all(gone.map(([, t]) => t.then((x) => x.close()).catch(() => {})));
  }

  /** Closes every transport (errors ignored) and empties the pool. */
  async close(): Promise<void> {
    const all = [...this.#transports.values()];
    this.#transports.clear();
    this.#made.clear();
    await Promise.all(all.map((t) => t.then((x) => x.close()).catch(() => {})));
  }
}
