// DailyChart draws one count of a report's days (claims, by default, or
// denied) as bars in an SVG the page builds itself (no charting library).
// Each bar carries its date and its count (data-claims, data-denied).
import { html, useRef, useState, useLayoutEffect } from "../lib/preact.js";
import { count, formatDay } from "../lib/format.js";

const PAD = { top: 12, right: 8, bottom: 26, left: 34 };

// of names the count: the days' field, and its unit (one, many).
const CLAIMS = { field: "claims", one: "claim", many: "claims" };

export function DailyChart({ daily, label, of = CLAIMS, height: H = 200, tone = "" }) {
  // Drawn at the figure's own width in pixels, so text stays crisp and sized.
  const ref = useRef(null);
  const [W, setW] = useState(720);
  useLayoutEffect(() => {
    const el = ref.current;
    const measure = () => el.clientWidth && setW(Math.round(el.clientWidth));
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  const v = (d) => d[of.field];
  const max = Math.max(1, ...daily.map(v));
  const top = niceMax(max);
  const iw = W - PAD.left - PAD.right;
  const ih = H - PAD.top - PAD.bottom;
  const step = iw / Math.max(1, daily.length);
  const bw = Math.max(1.5, Math.min(28, step * 0.7));
  const total = daily.reduce((n, d) => n + v(d), 0);
  const busiest = daily.reduce((b, d) => (v(d) > (b ? v(b) : 0) ? d : b), null);
  const summary = `${label}: ${count(total)} ${total === 1 ? of.one : of.many} from ${formatDay(daily[0].date, true)} to ${formatDay(daily[daily.length - 1].date, true)}${
    busiest ? `; the most on ${formatDay(busiest.date, true)} (${count(v(busiest))})` : ""
  }.`;
  const ticks = [0, top / 2, top];
  const labelEvery = Math.ceil(daily.length / Math.max(2, Math.floor(W / 90)));
  return html`
    <figure class=${"chart" + (tone ? " chart--" + tone : "")} ref=${ref}>
      <svg width=${W} height=${H} viewBox=${`0 0 ${W} ${H}`} role="img" aria-label=${summary} data-chart-total=${total}>
        ${ticks.map((v) => {
          const y = PAD.top + ih - (v / top) * ih;
          return html`<g class="chart-grid"><line x1=${PAD.left} x2=${W - PAD.right} y1=${y} y2=${y} />
            <text x=${PAD.left - 6} y=${y + 4} text-anchor="end">${count(v)}</text></g>`;
        })}
        ${daily.map((d, i) => {
          const h = (v(d) / top) * ih;
          const x = PAD.left + i * step + (step - bw) / 2;
          return html`<rect class=${"chart-bar" + (v(d) ? "" : " chart-bar--zero")} x=${x} y=${PAD.top + ih - h} width=${bw} height=${Math.max(h, 0)}
            data-date=${d.date} ...${{ ["data-" + of.field]: v(d) }}><title>${formatDay(d.date, true)}: ${count(v(d))}</title></rect>`;
        })}
        ${daily.map((d, i) =>
          (i % labelEvery === 0 && daily.length - 1 - i >= labelEvery / 2) || i === daily.length - 1
            ? html`<text class="chart-x" x=${PAD.left + i * step + step / 2} y=${H - 8} text-anchor=${i === 0 ? "start" : i === daily.length - 1 ? "end" : "middle"}>${formatDay(d.date)}</text>`
            : null
        )}
      </svg>
      <figcaption class="sr-only">${summary}</figcaption>
    </figure>
  `;
}

// niceMax rounds a maximum up to 1, 2 or 5 times a power of ten (and even, so
// that the middle grid line is a whole number).
function niceMax(n) {
  if (n <= 2) return 2;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}
