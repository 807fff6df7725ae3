/** PNG coding for masks (8-bit greyscale, value = class index) and 16-bit grey images. */
import { decode, encode } from "fast-png";
import type { RawImage } from "./window";

/** Encode an (H, W) label map as an 8-bit greyscale PNG (the server accepts mode L). */
export function encodeMask(labels: Uint8Array, width: number, height: number): Uint8Array {
  return encode({ width, height, data: labels, depth: 8, channels: 1 });
}

/** Decode an indexed or greyscale mask PNG into an (H, W) label map of class indices. */
export function decodeMask(bytes: ArrayBuffer | Uint8Array): { width: number; height: number; labels: Uint8Array } {
  const png = decode(bytes);
  if (png.depth !== 8 || png.channels !== 1) {
    throw new Error(`mask PNG must be 8-bit single-channel (indexed or grey), got ${png.depth}-bit x${png.channels}`);
  }
  return { width: png.width, height: png.height, labels: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length) };
}

/** Decode a 16-bit (or 8-bit) grey PNG; real value = pixel * scale + offset. */
export function decodeGrey16(bytes: ArrayBuffer | Uint8Array, offset: number, scale: number): RawImage {
  const png = decode(bytes);
  if (png.channels !== 1) throw new Error(`expected a grey PNG, got ${png.channels} channels`);
  const data = png.data instanceof Uint16Array ? png.data : Uint16Array.from(png.data);
  return { width: png.width, height: png.height, data, offset, scale };
}
