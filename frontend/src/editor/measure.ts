/**
 * Vertebral body measurement overlay: the trapezoid, the anterior / middle / posterior height lines,
 * the disc distances and a label with the level, heights and Genant grade of each body, drawn as an
 * SVG layer that follows the viewport like the canvases. Data: GET /api/slices/{id}/measurements/
 * of the head mask (the model pre-label's, marked as such, until the first save), refreshed after
 * each save (the API measures stored masks only).
 *
 * The API gives points with pixel (r, c) centred on (x = c, y = r); the editor's image coordinates
 * put pixel i on [i, i + 1), so a point moves by half a pixel on the way in (toEditor).
 */
import type { Viewport } from "../shared/geometry";

export interface MeasurePoint { x: number; y: number }
export interface MeasureLine { start: MeasurePoint; end: MeasurePoint; mm: number }
export interface MeasureGrade { grade: number; label: string; shape: string | null; loss: number }
export interface MeasureBody {
  label: string;
  measurable: boolean;
  reason: string | null;
  fragment: boolean;
  centroid: MeasurePoint;
  trapezoid: { corners: MeasurePoint[]; rotation_deg: number } | null;
  anterior: MeasureLine | null;
  middle: MeasureLine | null;
  posterior: MeasureLine | null;
  grade: MeasureGrade | null;
}
export interface SliceMeasurements {
  revision: { id: number; source: string; prelabel: boolean };
  spacing_mm: [number, number];
  spacing_assumed: string | null;
  naming: string;
  measurable: boolean;
  reason: string | null;
  bodies: MeasureBody[];
  discs: { upper: string; lower: string; anterior: MeasureLine; posterior: MeasureLine }[];
}

export type OverlayShape =
  | { kind: "polygon"; points: [number, number][]; grade: number; measurable: boolean }
  | { kind: "line"; a: [number, number]; b: [number, number]; role: "anterior" | "middle" | "posterior" | "disc" }
  | { kind: "text"; at: [number, number]; lines: string[]; grade: number };

const toEditor = (p: MeasurePoint): [number, number] => [p.x + 0.5, p.y + 0.5];

export const LINE_COLOURS: Record<string, string> = {
  anterior: "#e5484d", middle: "#f5d90a", posterior: "#3e9bff", disc: "#ffffff",
};
export const GRADE_COLOURS = ["#4ade80", "#ffd166", "#ff9f43", "#ff5c5c"];

/** The shapes of a measurement, in editor image coordinates. Pure: unit-tested. */
export function overlayShapes(m: SliceMeasurements): OverlayShape[] {
  const out: OverlayShape[] = [];
  for (const body of m.bodies) {
    const grade = body.grade?.grade ?? 0;
    if (body.trapezoid) {
      out.push({ kind: "polygon", points: body.trapezoid.corners.map(toEditor), grade, measurable: body.measurable });
    }
    for (const role of ["anterior", "middle", "posterior"] as const) {
      const line = body[role];
      if (line) out.push({ kind: "line", a: toEditor(line.start), b: toEditor(line.end), role });
    }
    out.push({ kind: "text", at: toEditor(body.centroid), lines: bodyText(body), grade });
  }
  for (const disc of m.discs) {
    for (const line of [disc.anterior, disc.posterior]) {
      out.push({ kind: "line", a: toEditor(line.start), b: toEditor(line.end), role: "disc" });
    }
  }
  return out;
}

/** "L3 · 26.1 / 24.0 / 25.8 mm" + "grade 2 moderate · crush", or why it is not measurable. */
export function bodyText(body: MeasureBody): string[] {
  if (!body.measurable || !body.anterior || !body.middle || !body.posterior) {
    return [body.label, `not measurable: ${body.reason ?? "unknown"}`];
  }
  const mm = [body.anterior, body.middle, body.posterior].map((l) => l.mm.toFixed(1)).join(" / ");
  const g = body.grade;
  const grade = g ? `grade ${g.grade} ${g.label}${g.shape ? ` · ${g.shape}` : ""}` : "";
  return [`${body.label} · ${mm} mm`, grade];
}

const SVG = "http://www.w3.org/2000/svg";

function node<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** Draw the shapes into an image-sized SVG (width x height user units = image pixels). */
export function drawOverlay(svg: SVGSVGElement, shapes: readonly OverlayShape[], width: number, height: number): void {
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("width", String(width));
  svg.setAttribute("height", String(height));
  const font = Math.max(6, Math.round(Math.max(width, height) / 55));
  const children: SVGElement[] = [];
  for (const s of shapes) {
    if (s.kind === "polygon") {
      const poly = node("polygon", {
        points: s.points.map((p) => p.join(",")).join(" "), fill: "none", stroke: GRADE_COLOURS[s.grade] ?? "#fff",
        "stroke-width": 1.5, "vector-effect": "non-scaling-stroke", class: "measure-trapezoid",
      });
      if (!s.measurable) poly.setAttribute("stroke-dasharray", "4 3");
      children.push(poly);
    } else if (s.kind === "line") {
      children.push(node("line", {
        x1: s.a[0], y1: s.a[1], x2: s.b[0], y2: s.b[1], stroke: LINE_COLOURS[s.role], "stroke-width": s.role === "disc" ? 1 : 2,
        "vector-effect": "non-scaling-stroke", class: `measure-line measure-${s.role}`,
        ...(s.role === "disc" ? { "stroke-dasharray": "3 2" } : {}),
      }));
    } else {
      const text = node("text", {
        x: s.at[0], y: s.at[1], "font-size": font, "font-family": "sans-serif", "text-anchor": "middle",
        fill: s.grade > 0 ? GRADE_COLOURS[s.grade] : "#fff", stroke: "#000", "stroke-width": font / 6, "paint-order": "stroke",
        class: "measure-label",
      });
      s.lines.forEach((line, i) => {
        const span = node("tspan", { x: s.at[0], dy: i === 0 ? 0 : font * 1.15 });
        span.textContent = line;
        text.appendChild(span);
      });
      children.push(text);
    }
  }
  svg.replaceChildren(...children);
}

/** The overlay's state: on/off, the last measurements, and its placement on the stage. */
export class MeasureOverlay {
  visible = false;
  data: SliceMeasurements | null = null;
  private pending: Promise<void> | null = null;

  constructor(
    readonly svg: SVGSVGElement,
    readonly status: HTMLElement,
    readonly width: number,
    readonly height: number,
    readonly fetchMeasurements: () => Promise<SliceMeasurements | null>,
  ) {}

  place(v: Viewport): void {
    this.svg.style.transform = `translate(${v.offsetX}px, ${v.offsetY}px) scale(${v.zoom})`;
  }

  async toggle(on = !this.visible): Promise<void> {
    this.visible = on;
    this.svg.toggleAttribute("hidden", !on);
    this.status.hidden = !on;
    document.body.dataset.measure = on ? "loading" : "off";
    if (on) await this.refresh();
  }

  /** Fetch and draw (only while visible); concurrent calls share one request. */
  async refresh(): Promise<void> {
    if (!this.visible) return;
    if (this.pending) return this.pending;
    this.pending = (async () => {
      try {
        this.data = await this.fetchMeasurements();
        this.render();
      } catch (e) {
        this.status.textContent = `Measurements failed: ${e instanceof Error ? e.message : e}`;
        document.body.dataset.measure = "error";
      } finally {
        this.pending = null;
      }
    })();
    return this.pending;
  }

  private render(): void {
    const m = this.data;
    if (!m) {
      this.svg.replaceChildren();
      this.status.textContent = "No saved mask to measure yet: paint, then save.";
      document.body.dataset.measure = "empty";
      return;
    }
    drawOverlay(this.svg, overlayShapes(m), this.width, this.height);
    const graded = m.bodies.filter((b) => (b.grade?.grade ?? 0) > 0).map((b) => `${b.label} ${b.grade!.label}`);
    const source = m.revision.prelabel ? `Model pre-label (revision ${m.revision.id})` : `Revision ${m.revision.id}`;
    this.status.textContent = m.measurable
      ? `${source}: ${m.bodies.filter((b) => b.measurable).length} bodies measured` +
        (graded.length ? `; ${graded.join(", ")}` : "; no height loss over 20 %") +
        (m.spacing_assumed ? ` (${m.spacing_assumed})` : "")
      : `${source} not measurable: ${m.reason}`;
    document.body.dataset.measure = `revision-${m.revision.id}`;
  }
}
