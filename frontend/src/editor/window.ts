/**
 * Window/level on the full bit depth. The server sends a 16-bit grey PNG whose pixel p stands for
 * the real value p * scale + offset; the canvas would drop it to 8 bits, so the greys are computed
 * here through a 65,536-entry lookup table rebuilt on every window change.
 */

export interface RawImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint16Array; // (H, W) stored values
  readonly offset: number;
  readonly scale: number;
}

export interface ChannelStats {
  readonly min: number;
  readonly max: number;
  readonly p1: number;
  readonly p99: number;
}

/** Window width and centre (level) in real units. */
export interface WindowLevel {
  readonly window: number;
  readonly level: number;
}

export interface WindowPreset {
  readonly name: string;
  readonly wl: WindowLevel;
}

export const fromRange = (lo: number, hi: number): WindowLevel => ({ window: Math.max(1e-6, hi - lo), level: (lo + hi) / 2 });

export function presets(stats: ChannelStats): WindowPreset[] {
  const span = Math.max(1, stats.p99 - stats.p1);
  return [
    { name: "Auto (p1–p99)", wl: fromRange(stats.p1, stats.p99) },
    { name: "Full range", wl: fromRange(stats.min, stats.max) },
    { name: "High contrast", wl: fromRange(stats.p1 + 0.15 * span, stats.p99 - 0.25 * span) },
    { name: "Bright (fluid)", wl: fromRange(stats.p1 + 0.4 * span, stats.p99 + 0.2 * span) },
  ];
}

/** Right-drag / W-L mode: horizontal motion changes the window, vertical the level. */
export function dragWindow(start: WindowLevel, dx: number, dy: number, stats: ChannelStats): WindowLevel {
  const unit = Math.max(1e-3, (stats.max - stats.min) / 512);
  return { window: Math.max(unit, start.window + dx * unit * 2), level: start.level - dy * unit * 2 };
}

/** grey[p] for every stored value p. (65536,) uint8 */
export function greyLut(wl: WindowLevel, offset: number, scale: number): Uint8Array {
  const lut = new Uint8Array(65536);
  const lo = wl.level - wl.window / 2;
  const k = 255 / wl.window;
  for (let p = 0; p < 65536; p++) {
    const g = (p * scale + offset - lo) * k;
    lut[p] = g <= 0 ? 0 : g >= 255 ? 255 : g + 0.5;
  }
  return lut;
}

/** Write the windowed image as opaque grey RGBA into `out` ((H, W) uint32, little-endian ABGR). */
export function renderGrey(img: RawImage, wl: WindowLevel, out: Uint32Array): void {
  const lut = greyLut(wl, img.offset, img.scale);
  const d = img.data;
  for (let i = 0; i < d.length; i++) {
    const g = lut[d[i]];
    out[i] = 0xff000000 | (g << 16) | (g << 8) | g;
  }
}
