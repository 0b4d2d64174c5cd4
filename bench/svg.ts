// A hand-written SVG grouped bar chart (no dependency): one group of bars per shape, one bar colour per variant, used
// for the GFLOP/s plot written next to each benchmark's JSON results.

export interface BarSeries {
  name: string;
  /** One value per group; null leaves a gap (not run, or skipped). */
  values: (number | null)[];
}

export interface BarChart {
  title: string;
  subtitle?: string;
  yLabel: string;
  groups: string[];
  series: BarSeries[];
}

const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac', '#1b9e77', '#d95f02'];

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A "nice" axis maximum and tick step (1, 2 or 5 times a power of ten) for values up to `max`. */
function axis(max: number): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.2 };
  const raw = max / 5;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? 10 * p;
  return { top: Math.ceil(max / step) * step, step };
}

/** Render the chart as a standalone SVG document. */
export function barChartSvg(c: BarChart): string {
  const bar = 12;
  const gap = 18;
  const groupWidth = Math.max(1, c.series.length) * bar + gap;
  const left = 64;
  const top = c.subtitle ? 64 : 48;
  const plotH = 320;
  const labelH = 150;
  const legendW = 190;
  const plotW = Math.max(240, c.groups.length * groupWidth);
  const width = left + plotW + 24 + legendW;
  const height = top + plotH + labelH;
  const max = Math.max(0, ...c.series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v))));
  const { top: yTop, step } = axis(max);
  const y = (v: number): number => top + plotH - (v / yTop) * plotH;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${left}" y="22" font-size="15" font-weight="bold">${esc(c.title)}</text>`);
  if (c.subtitle) out.push(`<text x="${left}" y="42" font-size="12" fill="#444">${esc(c.subtitle)}</text>`);
  for (let v = 0; v <= yTop + step / 2; v += step) {
    const yy = y(v).toFixed(1);
    out.push(`<line x1="${left}" x2="${left + plotW}" y1="${yy}" y2="${yy}" stroke="#ddd"/>`);
    out.push(`<text x="${left - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${+v.toPrecision(6)}</text>`);
  }
  out.push(`<text transform="translate(16 ${top + plotH / 2}) rotate(-90)" text-anchor="middle">${esc(c.yLabel)}</text>`);
  out.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#333"/>`);
  out.push(`<line x1="${left}" x2="${left + plotW}" y1="${top + plotH}" y2="${top + plotH}" stroke="#333"/>`);
  c.groups.forEach((g, gi) => {
    const x0 = left + gi * groupWidth + gap / 2;
    c.series.forEach((s, si) => {
      const v = s.values[gi];
      if (v === null || !Number.isFinite(v)) return;
      const x = x0 + si * bar;
      const yy = y(v);
      out.push(
        `<rect x="${x.toFixed(1)}" y="${yy.toFixed(1)}" width="${bar - 1}" height="${(top + plotH - yy).toFixed(1)}" fill="${PALETTE[si % PALETTE.length]}">` +
          `<title>${esc(`${s.name} on ${g}: ${v.toPrecision(4)}`)}</title></rect>`,
      );
    });
    const cx = x0 + (c.series.length * bar) / 2;
    out.push(`<text transform="translate(${cx.toFixed(1)} ${top + plotH + 8}) rotate(50)" text-anchor="start">${esc(g)}</text>`);
  });
  const lx = left + plotW + 24;
  c.series.forEach((s, si) => {
    const ly = top + si * 18;
    out.push(`<rect x="${lx}" y="${ly}" width="12" height="12" fill="${PALETTE[si % PALETTE.length]}"/>`);
    out.push(`<text x="${lx + 18}" y="${ly + 10}">${esc(s.name)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
