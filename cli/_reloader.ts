/**
 * The master side of `distarch reload` and `SIGHUP`: reads and validates a
 * config file, then applies it to the running launcher, one reload at a time.
 *
 * @module
 */

import { DEFAULTS } from "../master/defaults.ts";
import type { ApplyOptions, ApplyReport } from "../master/reload.ts";
import type { GroupConfig, LaunchOptions } from "../master/types.ts";
import { configDir, loadConfigFile, parseConfigText } from "./config_file.ts";

/** What a reload is applied to: the running launcher. */
export interface Applier {
  /** See `Launcher.apply`. */
  apply(groups: readonly GroupConfig[], options?: ApplyOptions): Promise<ApplyReport>;
}

/** A config file's content, named by its absolute path. */
export interface ConfigSource {
  /** Absolute path: names the file in messages, anchors its relative paths. */
  file: string;
  /** The content. */
  text: string;
}

/** Reloads one master; reloads run one after the other, never interleaved. */
export class Reloader {
  readonly #launcher: Applier;
  readonly #file: string;
  readonly #overrides: LaunchOptions;
  #queue: Promise<unknown> = Promise.resolve();

  /**
   * @param launcher The running launcher.
   * @param file The file the master was started with (reloaded when no source is given).
   * @param overrides Options given on `run`'s command line: they keep winning over the file's.
   */
  constructor(launcher: Applier, file: string, overrides: LaunchOptions = {}) {
    this.#launcher = launcher;
    this.#file = file;
    this.#overrides = overrides;
  }

  /**
   * Validates `source` (default: the master's own file, read again) and
   * applies it. Throws a `ConfigFileError` listing every problem with its
   * position when it is invalid; then nothing changed.
   */
  reload(source?: ConfigSource, options: { allAtOnce?: boolean } = {}): Promise<ApplyReport> {
    const { allAtOnce = false } = options;
    const next = this.#queue.then(async () => {
      const file = source?.file ?? this.#file;
      const config = source === undefined
        ? await loadConfigFile(file)
        : parseConfigText(source.text, file, { cwd: configDir(file) });
      return await this.#launcher.apply(config.groups, {
        mode: allAtOnce ? "all-at-once" : "rolling",
        // a key taken out of the file goes back to its default
        options: { ...DEFAULTS, ...config.options, ...this.#overrides },
        cwd: configDir(file),
      });
    });
    this.#queue = next.catch(() => {});
    return next;
  }
}
