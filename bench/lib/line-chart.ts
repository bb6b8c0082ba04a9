/**
 * A small SVG line chart drawn by hand (as chart.ts draws the bar chart): series of (x, y) points
 * on linear axes from 0, each with an optional dashed limit line (e.g. +10 % of a level) over a
 * range of x. For figures over time, such as the soak's heaps over calls.
 */

export interface LineSeries {
  name: string;
  color: string;
  points: ReadonlyArray<readonly [number, number]>;
  /** A dashed horizontal line at `y` from `fromX` on, in the series' colour. */
  limit?: { y: number; fromX: number };
}

export interface LineChart {
  title: string;
  subtitle: string;
  xLabel: string;
  yLabel: string;
  series: readonly LineSeries[];
  footer?: string;
}

const WIDTH = 960;
const HEIGHT = 460;
const LEFT = 70;
const RIGHT = 200;
const TOP = 64;
const BOTTOM = 56;

export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A round step for about `count` ticks over 0…`max`: 1, 2 or 5 × a power of ten. */
function tickStep(max: number, count: number): number {
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const unit = raw / power;
  return (unit <= 1 ? 1 : unit <= 2 ? 2 : unit <= 5 ? 5 : 10) * power;
}

export function renderLineChart(chart: LineChart): string {
  const xs = chart.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = chart.series.flatMap((s) => [...s.points.map((p) => p[1]), s.limit?.y ?? 0]);
  const xMax = Math.max(1, ...xs);
  const yStep = tickStep(Math.max(1e-9, ...ys) * 1.05, 6);
  const yMax = Math.ceil((Math.max(1e-9, ...ys) * 1.05) / yStep) * yStep;
  const plotW = WIDTH - LEFT - RIGHT;
  const plotH = HEIGHT - TOP - BOTTOM;
  const px = (x: number): number => LEFT + (x / xMax) * plotW;
  const py = (y: number): number => TOP + plotH - (y / yMax) * plotH;
  const parts: string[] = [];
  for (let y = 0; y <= yMax + yStep / 2; y += yStep) {
    const ty = py(y).toFixed(1);
    parts.push(
      `<line x1="${LEFT}" x2="${LEFT + plotW}" y1="${ty}" y2="${ty}" stroke="${y === 0 ? '#444' : '#e3e3e3'}"/>`,
      `<text x="${LEFT - 8}" y="${(py(y) + 4).toFixed(1)}" class="s" text-anchor="end">${Number(y.toPrecision(6))}</text>`,
    );
  }
  const xStep = tickStep(xMax, 6);
  for (let x = 0; x <= xMax; x += xStep) {
    const tx = px(x).toFixed(1);
    parts.push(
      `<line x1="${tx}" x2="${tx}" y1="${TOP}" y2="${TOP + plotH}" stroke="${x === 0 ? '#444' : '#f0f0f0'}"/>`,
      `<text x="${tx}" y="${TOP + plotH + 18}" class="s" text-anchor="middle">${x}</text>`,
    );
  }
  parts.push(
    `<text x="${LEFT + plotW / 2}" y="${TOP + plotH + 36}" class="l" text-anchor="middle">${esc(chart.xLabel)}</text>`,
    `<text x="18" y="${TOP + plotH / 2}" class="l" text-anchor="middle" transform="rotate(-90 18 ${TOP + plotH / 2})">${esc(chart.yLabel)}</text>`,
  );
  chart.series.forEach((series, i) => {
    if (series.limit) {
      const ly = py(series.limit.y).toFixed(1);
      parts.push(
        `<line x1="${px(series.limit.fromX).toFixed(1)}" x2="${LEFT + plotW}" y1="${ly}" y2="${ly}" stroke="${series.color}" stroke-width="1.5" stroke-dasharray="5 4" opacity="0.8"/>`,
      );
    }
    const path = series.points.map((p) => `${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join(' ');
    parts.push(
      `<polyline points="${path}" fill="none" stroke="${series.color}" stroke-width="2"/>`,
      ...series.points.map(
        (p) =>
          `<circle cx="${px(p[0]).toFixed(1)}" cy="${py(p[1]).toFixed(1)}" r="2.5" fill="${series.color}"/>`,
      ),
    );
    const ly = TOP + 10 + i * 22;
    parts.push(
      `<line x1="${LEFT + plotW + 16}" x2="${LEFT + plotW + 40}" y1="${ly}" y2="${ly}" stroke="${series.color}" stroke-width="3"/>`,
      `<text x="${LEFT + plotW + 46}" y="${ly + 4}" class="l">${esc(series.name)}</text>`,
    );
  });
  if (chart.series.some((s) => s.limit)) {
    const ly = TOP + 10 + chart.series.length * 22;
    parts.push(
      `<line x1="${LEFT + plotW + 16}" x2="${LEFT + plotW + 40}" y1="${ly}" y2="${ly}" stroke="#666" stroke-width="1.5" stroke-dasharray="5 4"/>`,
      `<text x="${LEFT + plotW + 46}" y="${ly + 4}" class="l">limit</text>`,
    );
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">
<style>
  .t { font-size: 17px; font-weight: 600; fill: #111; }
  .l { font-size: 12px; fill: #333; }
  .s { font-size: 11px; fill: #666; }
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="16" y="26" class="t">${esc(chart.title)}</text>
<text x="16" y="44" class="s">${esc(chart.subtitle)}</text>
${parts.join('\n')}
${chart.footer ? `<text x="16" y="${HEIGHT - 6}" class="s">${esc(chart.footer)}</text>` : ''}
</svg>
`;
}
