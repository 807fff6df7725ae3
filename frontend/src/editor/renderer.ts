/**
 * Rendering. The image and the mask live on canvases at image resolution that the browser scales
 * with a CSS transform (so zoom/pan never re-render pixels); the mask canvas is updated only inside
 * the dirty rectangle of each change via putImageData and a colour lookup table. A screen-resolution
 * interactive canvas on top draws the brush cursor and the lasso path.
 */
import type { ImagePoint, Rect, Viewport } from "../shared/geometry";
import { clip, expand, isEmpty, toScreen } from "../shared/geometry";

/** Colour of each class as little-endian RGBA packed in a uint32; alpha 0 for hidden classes. (256,) */
export function colourLut(colours: readonly string[], visible: readonly boolean[]): Uint32Array {
  const lut = new Uint32Array(256);
  colours.forEach((hex, i) => {
    if (i === 0 || !visible[i]) return; // background is transparent
    const n = parseInt(hex.slice(1), 16);
    const r = (n >> 16) & 255, g = (n >> 8) & 255, b = n & 255;
    lut[i] = (0xff << 24) | (b << 16) | (g << 8) | r;
  });
  return lut;
}

/**
 * Fill `out` (rect-sized RGBA as uint32) from `labels` ((H, W)) inside `r`. In outline mode only
 * pixels with a 4-neighbour of another class are coloured; hatched (an interpolation proposal, told
 * apart from the mask) adds every fourth diagonal inside the outline.
 */
export function paintRect(labels: Uint8Array, width: number, height: number, r: Rect, lut: Uint32Array, outline: boolean, out: Uint32Array, hatch = false): void {
  const w = r.x1 - r.x0;
  for (let y = r.y0; y < r.y1; y++) {
    const row = y * width;
    let o = (y - r.y0) * w;
    for (let x = r.x0; x < r.x1; x++, o++) {
      const v = labels[row + x];
      if (outline && v !== 0) {
        const edge =
          (x > 0 && labels[row + x - 1] !== v) || (x < width - 1 && labels[row + x + 1] !== v) ||
          (y > 0 && labels[row - width + x] !== v) || (y < height - 1 && labels[row + width + x] !== v);
        out[o] = edge || (hatch && (x + y) % 4 === 0) ? lut[v] : 0;
      } else {
        out[o] = lut[v];
      }
    }
  }
}

/** Draws a label map onto an image-resolution canvas, dirty rectangle by dirty rectangle. */
export class MaskLayer {
  private readonly ctx: CanvasRenderingContext2D;
  private readonly mirrorCtx: CanvasRenderingContext2D | null = null;
  lut: Uint32Array = new Uint32Array(256);
  outline = false;
  /** Outline plus diagonal hatching (used for proposals); implies outline. */
  hatch = false;

  /** `mirror`, when given, receives the same pixels (the right pane of side by side). */
  constructor(readonly canvas: HTMLCanvasElement, readonly width: number, readonly height: number, mirror: HTMLCanvasElement | null = null) {
    canvas.width = width;
    canvas.height = height;
    this.ctx = canvas.getContext("2d")!;
    if (mirror) {
      mirror.width = width;
      mirror.height = height;
      this.mirrorCtx = mirror.getContext("2d")!;
    }
  }

  render(labels: Uint8Array, dirty: Rect | null = null): void {
    let r = dirty ?? { x0: 0, y0: 0, x1: this.width, y1: this.height };
    // Outlines depend on neighbours, so a change can alter the outline one pixel around it.
    const outline = this.outline || this.hatch;
    if (outline && dirty) r = expand(r, 1);
    r = clip(r, this.width, this.height);
    if (isEmpty(r)) return;
    const img = this.ctx.createImageData(r.x1 - r.x0, r.y1 - r.y0);
    paintRect(labels, this.width, this.height, r, this.lut, outline, new Uint32Array(img.data.buffer), this.hatch);
    this.ctx.putImageData(img, r.x0, r.y0);
    this.mirrorCtx?.putImageData(img, r.x0, r.y0);
  }
}

/** Put image-resolution canvases on screen with the viewport transform (no pixel work). */
export function placeLayers(layers: HTMLCanvasElement[], v: Viewport): void {
  const t = `translate(${v.offsetX}px, ${v.offsetY}px) scale(${v.zoom})`;
  for (const c of layers) c.style.transform = t;
}

/** The interactive overlay: brush cursor at its true size and the lasso path, in screen pixels. */
export function drawInteractive(
  ctx: CanvasRenderingContext2D, v: Viewport, cursor: ImagePoint | null, brushSize: number | null, lasso: readonly ImagePoint[],
  clear = true,
): void {
  const dpr = window.devicePixelRatio || 1;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  if (clear) ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  if (lasso.length > 1) {
    ctx.beginPath();
    lasso.forEach((p, i) => {
      const s = toScreen(p, v);
      if (i === 0) ctx.moveTo(s.x, s.y);
      else ctx.lineTo(s.x, s.y);
    });
    ctx.closePath();
    ctx.strokeStyle = "#fff";
    ctx.setLineDash([4, 3]);
    ctx.stroke();
    ctx.setLineDash([]);
  }
  if (cursor && brushSize !== null) {
    // Centre on the pixel the brush is snapped to, radius = size / 2 image pixels.
    const c = toScreen({ x: Math.floor(cursor.x) + 0.5, y: Math.floor(cursor.y) + 0.5, space: "image" }, v);
    const r = Math.max(1, (brushSize / 2) * v.zoom);
    ctx.beginPath();
    ctx.arc(c.x, c.y, r, 0, Math.PI * 2);
    ctx.strokeStyle = "rgba(0,0,0,0.8)";
    ctx.lineWidth = 3;
    ctx.stroke();
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = 1;
    ctx.stroke();
  }
}
