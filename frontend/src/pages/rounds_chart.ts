/**
 * The rounds dashboard's pure parts: learning-curve chart layout (drawn as inline SVG by rounds.ts;
 * no CDN, the machine may be offline), percentages, the simulation table's rows.
 */

/** [x, y, std?]; y in 0..1 (null: no value at this x). */
export type CurvePoint = [number, number | null | undefined, number?];
export interface CurveSeries { name: string; points: CurvePoint[] }

export const COLOURS = ["#4363d8", "#e6194b", "#3cb44b", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#469990", "#9a6324", "#808000"];
export const pct = (v: number | null | undefined): string => (v === null || v === undefined ? "–" : `${(v * 100).toFixed(1)} %`);

export const CHART = { W: 560, H: 270, L: 48, B: 36, T: 24, R: 150 } as const;

export interface ChartLayout {
  yTop: number;
  xTicks: { x: number; label: string }[];
  yTicks: { y: number; label: string }[];
  lines: {
    name: string; colour: string; legendY: number; polyline: string;
    whiskers: { x: number; y1: number; y2: number }[];
    dots: { x: number; y: number; title: string }[];
  }[];
  sx(x: number): number;
  sy(y: number): number;
}

/**
 * Where everything of a line chart goes (SVG user units), or null when there is no point at all.
 * The y axis runs from 0 to the next tenth above the data (so low early-round IoUs stay readable);
 * a third value per point draws a +- std whisker.
 */
export function chartLayout(series: CurveSeries[]): ChartLayout | null {
  const { W, H, L, B, T, R } = CHART;
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  if (!xs.length) return null;
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs) === x0 ? x0 + 1 : Math.max(...xs);
  const sx = (x: number) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const has = (p: CurvePoint): p is [number, number, number?] => p[1] !== null && p[1] !== undefined;
  const tops = series.flatMap((s) => s.points.filter(has).map((p) => p[1] + (p[2] || 0)));
  const yTop = Math.min(1, Math.max(0.1, Math.ceil(Math.max(0, ...tops) * 10 - 1e-9) / 10));
  const sy = (y: number) => H - B - (y / yTop) * (H - B - T);
  const digits = ((yTop * 100) / 4) % 1 ? 1 : 0;
  const distinct = [...new Set(xs)].sort((a, b) => a - b);
  return {
    yTop, sx, sy,
    yTicks: [0, 0.25, 0.5, 0.75, 1].map((f) => ({ y: sy(f * yTop), label: (f * yTop * 100).toFixed(digits) })),
    xTicks: (distinct.length <= 12 ? distinct : [x0, x1]).map((v) => ({ x: sx(v), label: String(Math.round(v)) })),
    lines: series.map((s, i) => {
      const pts = s.points.filter(has);
      return {
        name: s.name, colour: COLOURS[i % COLOURS.length], legendY: T + 12 + 14 * i,
        polyline: pts.map((p) => `${sx(p[0])},${sy(p[1])}`).join(" "),
        whiskers: pts.filter((p) => p[2]).map((p) => ({ x: sx(p[0]), y1: sy(Math.max(0, p[1] - p[2]!)), y2: sy(Math.min(yTop, p[1] + p[2]!)) })),
        dots: pts.map((p) => ({ x: sx(p[0]), y: sy(p[1]), title: `${s.name}: ${pct(p[1])} at ${p[0]}` })),
      };
    }),
  };
}

export interface SimulationPoint { labelled: number; mean_iou: number; mean_iou_std?: number }
export interface Simulation {
  id: number; name: string; config?: { seeds?: unknown[]; initial?: number | null; batch?: number; pool_size?: number };
  curves: Record<string, SimulationPoint[]>;
}

export function simulationCaption(s: Simulation): string {
  const c = s.config || {};
  const parts = [s.name];
  if (c.seeds) parts.push(`${c.seeds.length} seed(s)`);
  if (c.initial !== undefined && c.initial !== null) parts.push(`${c.initial} labelled at start, +${c.batch} per round`);
  if (c.pool_size) parts.push(`pool of ${c.pool_size} slices`);
  return parts.join(" · ");
}

/** Rows: labelled slices; columns: strategies; cells: mean IoU +- std over seeds, best per row marked. */
export function simulationRows(s: Simulation): { labelled: string; cells: ({ text: string; best: boolean } | null)[] }[] {
  const names = Object.keys(s.curves);
  const rows = Math.max(...names.map((n) => s.curves[n].length));
  const out = [];
  for (let r = 0; r < rows; r++) {
    const values = names.map((n) => s.curves[n][r]);
    const best = Math.max(...values.filter(Boolean).map((p) => p.mean_iou));
    const first = values.find(Boolean);
    out.push({
      labelled: first ? String(first.labelled) : "",
      cells: values.map((p) => (p ? { text: `${pct(p.mean_iou)} ± ${(100 * (p.mean_iou_std || 0)).toFixed(1)}`, best: p.mean_iou === best } : null)),
    });
  }
  return out;
}

/** The task column of a round's job: kind, architecture and fold ("all subjects" for fold -1). */
export function jobTask(kind: string, params: { arch?: string; fold?: number }): string {
  const fold = params.fold === -1 ? "all subjects" : params.fold !== undefined ? `fold ${params.fold}` : "";
  return `${kind} ${params.arch || ""} ${fold}`;
}
