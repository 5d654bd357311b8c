/**
 * The master's reader of agent frames (see `protocol/agent.ts`), for the hot
 * path: a frame that lies whole in one chunk is handed over as a view of that
 * chunk (no copy); a frame split across chunks is joined once, when its last
 * byte has arrived (never re-copying a growing buffer chunk after chunk).
 *
 * @module
 */

import { FRAME_HEADER } from "../../protocol/agent.ts";

/** Receives one frame; `payload` is the caller's to keep (nothing reuses it). */
export type FrameHandler = (kind: number, key: number, payload: Uint8Array) => void;

function join(parts: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Splits a stream of fresh (never reused) chunks into frames. */
export class FrameReader {
  #parts: Uint8Array[] = [];
  #size = 0;
  #need = FRAME_HEADER;
  readonly #onFrame: FrameHandler;

  /** @param onFrame Called for each frame, in order. */
  constructor(onFrame: FrameHandler) {
    this.#onFrame = onFrame;
  }

  /** Bytes held that do not yet make a whole frame. */
  get pending(): number {
    return this.#size;
  }

  /** Adds a chunk; calls the handler for every frame now complete. */
  push(chunk: Uint8Array): void {
    if (this.#size > 0) {
      this.#parts.push(chunk);
      this.#size += chunk.length;
      if (this.#size < this.#need) return;
      const all = join(this.#parts, this.#size);
      this.#parts = [];
      this.#size = 0;
      this.#need = FRAME_HEADER;
      chunk = all;
    }
    const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let pos = 0;
    while (chunk.length - pos >= FRAME_HEADER) {
      const end = pos + FRAME_HEADER + view.getUint32(pos + 5);
      if (end > chunk.length) {
        this.#need = end - pos;
        break;
      }
      this.#onFrame(
        view.getUint8(pos),
        view.getUint32(pos + 1),
        chunk.subarray(pos + FRAME_HEADER, end),
      );
      pos = end;
    }
    if (pos < chunk.length) {
      this.#parts.push(chunk.subarray(pos));
      this.#size = chunk.length - pos;
    }
  }
}
