/**
 * bench/results/chart.svg, drawn by hand from the result files: one bar per (metric, baseline),
 * Duet ÷ baseline on a log scale around 1× (parity), the target as a dashed mark. Green: the target
 * is met (or, without a target, Duet is no worse than the baseline); red: it is not.
 */

export interface Target {
  min?: number;
  max?: number;
}

export interface ChartMetric {
  label: string;
  /** A short name for the chart's rows. */
  short?: string;
  /** A target on the absolute figure (e.g. p99 < 20 ms), shown beside the bars. */
  absoluteTarget?: { max: number; unit: string; met: boolean };
  duet?: unknown;
  better: 'lower' | 'higher';
  ratio_vs_raw?: number | null;
  ratio_vs_peerjs?: number | null;
  /** Scale-out only: two Duet processes over Redis ÷ one in-memory Duet process. */
  ratio_vs_memory?: number | null;
  targets?: { raw?: Target; peerjs?: Target };
}

interface ResultFile {
  timestamp?: string;
  machine?: { cpus: number; model: string; chromium: string | null; node: string };
  metrics?: Record<string, ChartMetric>;
}

const TITLES: Record<string, string> = {
  'call-setup': 'Call setup',
  'file-transfer': 'File transfer',
  signaling: 'Signaling server',
  'scale-out': 'Scale-out: 2 Duet processes over Redis ÷ 1 in memory',
};

/** Each bar: a ratio field of the metric, its baseline's name, and where its target is. */
const BASELINES = [
  { key: 'ratio_vs_raw', name: 'raw', target: 'raw' },
  { key: 'ratio_vs_peerjs', name: 'PeerJS', target: 'peerjs' },
  { key: 'ratio_vs_memory', name: '1 node in memory', target: null },
] as const;

const WIDTH = 960;
const LABEL_W = 330;
const ROW_H = 26;
const PLOT_X = LABEL_W + 20;
const PLOT_W = WIDTH - PLOT_X - 70;
/** log2 range shown: ¼× … 4×; bars beyond are clipped with an arrow. */
const LOG_RANGE = 2;

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function x(ratio: number): number {
  const l = Math.max(-LOG_RANGE, Math.min(LOG_RANGE, Math.log2(ratio)));
  return PLOT_X + ((l + LOG_RANGE) / (2 * LOG_RANGE)) * PLOT_W;
}

function verdict(metric: ChartMetric, ratio: number, target: Target | undefined): 'good' | 'bad' | 'neutral' {
  if (target) {
    if (target.max !== undefined) {
      return ratio <= target.max ? 'good' : 'bad';
    }
    if (target.min !== undefined) {
      return ratio >= target.min ? 'good' : 'bad';
    }
  }
  const noWorse = metric.better === 'lower' ? ratio <= 1 : ratio >= 1;
  return noWorse ? 'good' : 'neutral';
}

const COLORS = { good: '#2e9d5b', bad: '#d64545', neutral: '#8a94a6' } as const;

export function renderChart(results: Record<string, unknown>): string {
  const rows: string[] = [];
  let y = 70;
  let meta = '';
  for (const [name, raw] of Object.entries(results)) {
    const result = raw as ResultFile;
    // Only results with ratios have bars (the soak has none: its chart is soak.svg).
    const metrics = Object.values(result.metrics ?? {});
    if (!metrics.some((m) => BASELINES.some((b) => typeof m[b.key] === 'number'))) {
      continue;
    }
    if (!meta && result.machine) {
      const m = result.machine;
      meta = `${m.cpus} × ${m.model} · Node ${m.node}${m.chromium ? ` · Chromium ${m.chromium}` : ''}`;
    }
    rows.push(
      `<text x="16" y="${y + 4}" class="h">${esc(TITLES[name] ?? name)}` +
        `${result.timestamp ? ` <tspan class="s">${esc(result.timestamp.slice(0, 16).replace('T', ' '))} UTC</tspan>` : ''}</text>`,
    );
    y += ROW_H;
    for (const metric of metrics) {
      for (const baseline of BASELINES) {
        const ratio = metric[baseline.key];
        if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) {
          continue;
        }
        const target = baseline.target ? metric.targets?.[baseline.target] : undefined;
        const color = COLORS[verdict(metric, ratio, target)];
        const x1 = x(1);
        const x2 = x(ratio);
        const label = `${metric.short ?? metric.label}  ÷ ${baseline.name}`;
        const arrow = metric.better === 'lower' ? '↓' : '↑';
        rows.push(
          `<text x="${LABEL_W}" y="${y + 5}" class="l" text-anchor="end">${esc(label)} <tspan class="s">${arrow}</tspan></text>`,
        );
        rows.push(
          `<rect x="${Math.min(x1, x2).toFixed(1)}" y="${y - 8}" width="${Math.max(1, Math.abs(x2 - x1)).toFixed(1)}" height="16" fill="${color}" rx="2"/>`,
        );
        const clipped = Math.abs(Math.log2(ratio)) > LOG_RANGE;
        const tx = x2 + (ratio >= 1 ? 6 : -6);
        rows.push(
          `<text x="${tx.toFixed(1)}" y="${y + 5}" class="v" text-anchor="${ratio >= 1 ? 'start' : 'end'}">${ratio.toFixed(2)}×${clipped ? ' ▸' : ''}</text>`,
        );
        if (target) {
          const t = target.max ?? target.min!;
          const tx2 = x(t).toFixed(1);
          rows.push(
            `<line x1="${tx2}" x2="${tx2}" y1="${y - 11}" y2="${y + 11}" stroke="#222" stroke-width="2" stroke-dasharray="3 2"/>`,
          );
        }
        y += ROW_H;
      }
      const abs = metric.absoluteTarget;
      if (abs) {
        const figure = typeof metric.duet === 'number' ? `Duet ${metric.duet} ${abs.unit}` : 'no figure';
        rows.push(
          `<text x="${LABEL_W}" y="${y + 2}" class="s" text-anchor="end">target &lt; ${abs.max} ${esc(abs.unit)}: ` +
            `<tspan fill="${abs.met ? COLORS.good : COLORS.bad}">${abs.met ? 'met' : 'missed'} (${esc(figure)})</tspan></text>`,
        );
        y += ROW_H - 6;
      }
    }
    y += 10;
  }
  const height = y + 40;
  const ticks = [0.25, 0.5, 1, 2, 4]
    .map((t) => {
      const tx = x(t).toFixed(1);
      return (
        `<line x1="${tx}" x2="${tx}" y1="56" y2="${y - 6}" stroke="${t === 1 ? '#444' : '#ddd'}" stroke-width="${t === 1 ? 1.5 : 1}"/>` +
        `<text x="${tx}" y="${y + 10}" class="s" text-anchor="middle">${t}×</text>`
      );
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">
<style>
  .t { font-size: 17px; font-weight: 600; fill: #111; }
  .h { font-size: 14px; font-weight: 600; fill: #111; }
  .l { font-size: 12px; fill: #333; }
  .v { font-size: 12px; fill: #111; font-weight: 600; }
  .s { font-size: 11px; fill: #666; font-weight: 400; }
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="16" y="26" class="t">Duet ÷ baseline, measured side by side in one run (log scale, 1× = parity)</text>
<text x="16" y="44" class="s">${esc(meta)} · ↓ lower is better, ↑ higher is better · dashed: target · green: met / no worse · red: missed</text>
${ticks}
${rows.join('\n')}
<text x="16" y="${height - 12}" class="s">Regenerate: npm run bench (see bench/README.md). Medians; two cores, expect ±30% run to run.</text>
</svg>
`;
}
