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

/**
 * Decode a non-interlaced grey PNG (8 or 16 bits) or 8-bit indexed one with the browser's own inflate
 * (DecompressionStream), several times faster than a JavaScript inflate on a 512x512 16-bit image;
 * null for any other kind of PNG (the caller falls back to fast-png).
 * Returns the unfiltered rows: (H, W) bytes for 8 bits, (H, W) big-endian byte pairs for 16.
 */
export async function inflateGreyPng(bytes: ArrayBuffer | Uint8Array): Promise<{ width: number; height: number; depth: 8 | 16; rows: Uint8Array } | null> {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (typeof DecompressionStream === "undefined" || b.length < 8 || b[1] !== 0x50 || b[2] !== 0x4e || b[3] !== 0x47) return null;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let width = 0, height = 0, depth = 0, ok = false;
  const idat: Uint8Array[] = [];
  for (let p = 8; p + 8 <= b.length; ) {
    const len = view.getUint32(p);
    const type = String.fromCharCode(b[p + 4], b[p + 5], b[p + 6], b[p + 7]);
    const data = b.subarray(p + 8, p + 8 + len);
    if (type === "IHDR") {
      width = view.getUint32(p + 8);
      height = view.getUint32(p + 12);
      depth = data[8];
      // grey (colour type 0) of 8 or 16 bits, or 8-bit indexed (3: the class indices), not interlaced
      ok = data[12] === 0 && ((data[9] === 0 && (depth === 8 || depth === 16)) || (data[9] === 3 && depth === 8));
    } else if (type === "IDAT") idat.push(data);
    else if (type === "IEND") break;
    p += 12 + len;
  }
  if (!ok || !idat.length) return null;
  const stream = new Blob(idat as BlobPart[]).stream().pipeThrough(new DecompressionStream("deflate"));
  const raw = new Uint8Array(await new Response(stream).arrayBuffer());
  const bpp = depth / 8, stride = width * bpp;
  if (raw.length < height * (stride + 1)) throw new Error(`PNG data is ${raw.length} bytes, ${height * (stride + 1)} expected`);
  const rows = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1, dst = y * stride, up = dst - stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? rows[dst + i - bpp] : 0;
      const c = y > 0 && i >= bpp ? rows[up + i - bpp] : 0;
      const u = y > 0 ? rows[up + i] : 0;
      let v = raw[src + i];
      if (filter === 1) v += a;
      else if (filter === 2) v += u;
      else if (filter === 3) v += (a + u) >> 1;
      else if (filter === 4) {
        const pa = Math.abs(u - c), pb = Math.abs(a - c), pc = Math.abs(a + u - 2 * c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? u : c;
      } else if (filter !== 0) throw new Error(`unknown PNG row filter ${filter}`);
      rows[dst + i] = v; // wraps modulo 256 like the filter
    }
  }
  return { width, height, depth: depth as 8 | 16, rows };
}

/** `decodeGrey16` through the browser's inflate when it can (the editor's slice loading). */
export async function decodeGrey16Fast(bytes: ArrayBuffer, offset: number, scale: number): Promise<RawImage> {
  const png = await inflateGreyPng(bytes).catch(() => null);
  if (!png) return decodeGrey16(bytes, offset, scale);
  const n = png.width * png.height;
  const data = new Uint16Array(n);
  if (png.depth === 16) for (let i = 0; i < n; i++) data[i] = (png.rows[2 * i] << 8) | png.rows[2 * i + 1];
  else data.set(png.rows);
  return { width: png.width, height: png.height, data, offset, scale };
}

/** `decodeMask` through the browser's inflate when it can (8-bit grey or indexed: the values are the classes). */
export async function decodeMaskFast(bytes: ArrayBuffer): Promise<{ width: number; height: number; labels: Uint8Array }> {
  const png = await inflateGreyPng(bytes).catch(() => null);
  if (!png || png.depth !== 8) return decodeMask(bytes);
  return { width: png.width, height: png.height, labels: png.rows };
}
