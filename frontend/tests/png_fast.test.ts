import { describe, expect, it } from "vitest";
import { encode } from "fast-png";
import { decodeGrey16, decodeGrey16Fast, decodeMask, decodeMaskFast, encodeMask, inflateGreyPng } from "../src/editor/png";

/** A grey PNG whose row y uses filter `filters[y % 5]` (CRCs left zero: the decoder does not read them). */
async function filteredPng(width: number, height: number, depth: 8 | 16, rows: Uint8Array, filters: number[]): Promise<Uint8Array> {
  const bpp = depth / 8, stride = width * bpp;
  const out = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    const f = filters[y % filters.length];
    out[y * (stride + 1)] = f;
    for (let i = 0; i < stride; i++) {
      const x = rows[y * stride + i];
      const a = i >= bpp ? rows[y * stride + i - bpp] : 0;
      const u = y > 0 ? rows[(y - 1) * stride + i] : 0;
      const c = y > 0 && i >= bpp ? rows[(y - 1) * stride + i - bpp] : 0;
      const pa = Math.abs(u - c), pb = Math.abs(a - c), pc = Math.abs(a + u - 2 * c);
      const paeth = pa <= pb && pa <= pc ? a : pb <= pc ? u : c;
      const pred = [0, a, u, (a + u) >> 1, paeth][f];
      out[y * (stride + 1) + 1 + i] = (x - pred) & 255;
    }
  }
  const chunk = (type: string, data: Uint8Array) => {
    const c = new Uint8Array(12 + data.length);
    new DataView(c.buffer).setUint32(0, data.length);
    c.set([...type].map((ch) => ch.charCodeAt(0)), 4);
    c.set(data, 8);
    return c;
  };
  const ihdr = new Uint8Array(13);
  new DataView(ihdr.buffer).setUint32(0, width);
  new DataView(ihdr.buffer).setUint32(4, height);
  ihdr[8] = depth;
  const zlib = new Uint8Array(await new Response(new Blob([out]).stream().pipeThrough(new CompressionStream("deflate"))).arrayBuffer());
  const parts = [new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]), chunk("IHDR", ihdr), chunk("IDAT", zlib), chunk("IEND", new Uint8Array())];
  const png = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) (png.set(p, o), (o += p.length));
  return png;
}

describe("grey PNG decoding through the platform's inflate", () => {
  it("undoes every row filter, 8 and 16 bits", async () => {
    for (const depth of [8, 16] as const) {
      const w = 13, h = 11, rows = new Uint8Array(w * h * (depth / 8));
      for (let i = 0; i < rows.length; i++) rows[i] = (i * 37 + (i >> 3) * 11) & 255;
      const got = await inflateGreyPng(await filteredPng(w, h, depth, rows, [0, 1, 2, 3, 4]));
      expect(got).not.toBeNull();
      expect(got!.depth).toBe(depth);
      expect(Array.from(got!.rows)).toEqual(Array.from(rows));
    }
  });

  it("gives the same image as fast-png for a 16-bit image", async () => {
    const w = 40, h = 30, data = new Uint16Array(w * h).map((_, i) => (i * 2654435761) % 65536);
    const png = encode({ width: w, height: h, data, depth: 16, channels: 1 });
    const fast = await decodeGrey16Fast(png.slice().buffer, -100, 0.5);
    const slow = decodeGrey16(png, -100, 0.5);
    expect(Array.from(fast.data)).toEqual(Array.from(slow.data));
    expect([fast.width, fast.height, fast.offset, fast.scale]).toEqual([w, h, -100, 0.5]);
  });

  it("gives the same labels as fast-png for a mask", async () => {
    const labels = new Uint8Array(24 * 16).map((_, i) => (i * 7) % 12);
    const png = encodeMask(labels, 24, 16);
    expect(Array.from((await decodeMaskFast(png.slice().buffer)).labels)).toEqual(Array.from(decodeMask(png).labels));
  });

  it("leaves other PNGs to fast-png", async () => {
    const rgb = encode({ width: 2, height: 2, data: new Uint8Array(12), depth: 8, channels: 3 });
    expect(await inflateGreyPng(rgb)).toBeNull();
    expect(await inflateGreyPng(new Uint8Array([1, 2, 3]))).toBeNull();
  });
});
