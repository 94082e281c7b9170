// Time-series charts (uPlot, served from /vendor/uplot/) and 24 h sparklines (inline SVG).
// Every chart has a caption and a text summary: the canvas alone says nothing to a screen reader.
import uPlot from '/vendor/uplot/uPlot.esm.js';
import { el, number, STEP } from './lib.js';

/** Colours with at least 3:1 contrast on white, told apart by dash pattern too (not by colour alone). */
export const COLOURS = ['#0b5cad', '#a4161a', '#8a5a00', '#1b6e3a', '#6b2fa3', '#00606b', '#4a5560'];
const DASHES = [[], [6, 3], [2, 2], [8, 2, 2, 2], [4, 4], [1, 3], [10, 4]];

/**
 * A line chart over time. `buckets` are API buckets ({start, …}); each series reads its value
 * from a bucket. Buckets the API left out (no events) are drawn as 0 when `zeros` is set.
 */
export function timeChart({ title, buckets, series, from, to, granularity, zeros = true, unit = '' }) {
  const step = STEP[granularity];
  const byStart = new Map(buckets.map((b) => [Math.floor(new Date(b.start).getTime() / step) * step, b]));
  const xs = [];
  for (let t = Math.floor(new Date(from).getTime() / step) * step; t < new Date(to).getTime(); t += step)
    xs.push(t);
  const data = [xs.map((t) => t / 1000)];
  for (const s of series)
    data.push(xs.map((t) => (byStart.has(t) ? s.value(byStart.get(t)) : zeros ? 0 : null)));
  const peaks = series.map((s, i) => {
    const values = data[i + 1].filter((v) => v !== null);
    return `${s.label}: peak ${number(values.length ? Math.max(...values) : 0)}${unit}`;
  });
  const holder = el('div', { class: 'chart-canvas' });
  const figure = el(
    'figure',
    { class: 'chart', role: 'group', 'aria-label': title },
    el('figcaption', {}, title),
    holder,
    el('p', { class: 'visually-hidden' }, `${title}. ${peaks.join('; ')}.`),
  );
  let plot;
  const observer = new ResizeObserver(() => {
    const width = Math.max(240, holder.clientWidth);
    if (plot) plot.setSize({ width, height: 220 });
    else if (holder.isConnected)
      plot = new uPlot(
        {
          width,
          height: 220,
          scales: { x: { time: true } },
          legend: { live: true },
          cursor: { drag: { x: false, y: false } },
          axes: [{ stroke: '#4a5560' }, { stroke: '#4a5560', size: 60 }],
          series: [
            {},
            ...series.map((s, i) => ({
              label: s.label,
              stroke: COLOURS[i % COLOURS.length],
              dash: DASHES[i % DASHES.length],
              width: 2,
              spanGaps: false,
              points: { show: xs.length < 80 },
            })),
          ],
        },
        data,
        holder,
      );
  });
  observer.observe(holder);
  return figure;
}

/** A 24 h sparkline of hourly counts: an inline SVG with a text alternative. */
export function sparkline(values) {
  const ns = 'http://www.w3.org/2000/svg';
  const width = 100;
  const height = 24;
  const max = Math.max(1, ...values);
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('width', String(width));
  svg.setAttribute('height', String(height));
  svg.setAttribute('role', 'img');
  svg.setAttribute('class', 'sparkline');
  const total = values.reduce((a, b) => a + b, 0);
  svg.setAttribute(
    'aria-label',
    `last 24 h: ${number(total)} requests, at most ${number(Math.max(0, ...values))} in an hour`,
  );
  const points = values
    .map(
      (v, i) =>
        `${((i * width) / Math.max(1, values.length - 1)).toFixed(1)},${(height - 2 - (v * (height - 4)) / max).toFixed(1)}`,
    )
    .join(' ');
  const line = document.createElementNS(ns, 'polyline');
  line.setAttribute('points', points);
  line.setAttribute('fill', 'none');
  line.setAttribute('stroke', COLOURS[0]);
  line.setAttribute('stroke-width', '1.5');
  svg.append(line);
  return svg;
}
