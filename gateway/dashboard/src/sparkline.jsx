// A small uPlot line of one series over time.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export function Sparkline({ points, index, color, label }) {
  const el = useRef(null);
  const plot = useRef(null);
  const data = [points.map((p) => p[0] / 1000), points.map((p) => p[index])];
  useEffect(() => {
    if (!el.current) return undefined;
    plot.current = new uPlot(
      {
        width: 120,
        height: 32,
        legend: { show: false },
        cursor: { show: false },
        axes: [{ show: false }, { show: false }],
        scales: { x: { time: true }, y: { range: (u, min, max) => { const top = Math.max(max * 1.15, 1); return [-0.06 * top, top]; } } },
        series: [{}, { stroke: color, fill: color + '33', width: 1.5, points: { show: false } }],
      },
      data,
      el.current,
    );
    return () => plot.current && plot.current.destroy();
  }, []);
  useEffect(() => {
    if (plot.current) plot.current.setData(data);
  });
  return <div class="spark" title={label} aria-label={label} ref={el} />;
}
