/**
 * One-shot ssh commands (the probe, uploads): running one to its end, its
 * result, and the error that says ssh itself failed.
 *
 * @module
 */

/** Result of one ssh command. */
export interface SshResult {
  /** ssh's exit code (255: ssh itself failed). */
  code: number;
  /** The command's stdout. */
  stdout: string;
  /** ssh's and the command's stderr. */
  stderr: string;
}

/**
 * Runs `argv` (`ssh <args> <command>`, or `sh -c <command>` for this machine)
 * to its end; `stdinFile` (a local path) is streamed to its stdin.
 */
export async function runSsh(argv: readonly string[], stdinFile?: string): Promise<SshResult> {
  const [program, ...args] = argv;
  const child = new Deno.Command(program!, {
    args,
    stdin: stdinFile === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const feeding = stdinFile === undefined ? Promise.resolve() : (async () => {
    const file = await Deno.open(stdinFile);
    await file.readable.pipeTo(child.stdin, { preventClose: false });
  })().catch(() => {});
  const [out] = await Promise.all([child.output(), feeding]);
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

/** The probe (or an upload) failed at the ssh level: the result tells why. */
export class ProbeError extends Error {
  /** The failed ssh command's result. */
  readonly result: SshResult;
  /** Creates the error. */
  constructor(result: SshResult) {
    super(`ssh failed with code ${result.code}: ${result.stderr.trim()}`);
    this.name = "ProbeError";
    this.result = result;
  }
}

/**
 * Reads `stream` as text until it ends or `signal` aborts: each chunk goes
 * to `onText`, each non-blank line (the last one even without its newline)
 * to `onLine`. A broken pipe just ends it.
 */
export async function readTextLines(
  stream: ReadableStream<Uint8Array>,
  signal: AbortSignal,
  onText: (text: string) => void,
  onLine: (line: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let rest = "";
  const reader = stream.getReader();
  const cancel = () => void reader.cancel().catch(() => {});
  signal.addEventListener("abort", cancel, { once: true });
  try {
    while (true) {
      const { done, value: chunk } = await reader.read();
      if (done) break;
      const text = decoder.decode(chunk, { stream: true });
      onText(text);
      rest += text;
      const lines = rest.split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) if (line.trim() !== "") onLine(line);
    }
  } catch {
    // the pipe broke
  } finally {
    signal.removeEventListener("abort", cancel);
    reader.releaseLock();
  }
  if (rest.trim() !== "") onLine(rest);
}
