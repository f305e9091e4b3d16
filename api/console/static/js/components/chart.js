// DailyChart draws one count of a report's days (claims, by default, denied
// or reclaimed) as bars in an SVG the page builds itself (no charting
// library), and optionally a part of each count (the waitlist fills among
// the claims) as the bottom of its bar, in another colour, with a legend.
// Each bar carries its date and its counts (data-claims, data-denied,
// data-waitlist-fills…).
import { html, useRef, useState, useLayoutEffect } from "../lib/preact.js";
import { count, formatDay } from "../lib/format.js";

const PAD = { top: 12, right: 8, bottom: 26, left: 34 };

// of names the count: the days' field, and its unit (one, many).
const CLAIMS = { field: "claims", one: "claim", many: "claims" };

export function DailyChart({ daily, label, of = CLAIMS, part = null, height: H = 200, tone = "" }) {
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
  const pv = (d) => (part ? Math.min(d[part.field], v(d)) : 0);
  const partTotal = daily.reduce((n, d) => n + pv(d), 0);
  const summary = `${label}: ${count(total)} ${total === 1 ? of.one : of.many}${
    partTotal > 0 ? ` (${count(partTotal)} ${partTotal === 1 ? part.one : part.many})` : ""
  } from ${formatDay(daily[0].date, true)} to ${formatDay(daily[daily.length - 1].date, true)}${
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
          const data = { ["data-" + of.field]: v(d) };
          if (part) data["data-" + dashed(part.field)] = pv(d);
          const title = `${formatDay(d.date, true)}: ${count(v(d))}${pv(d) > 0 ? `, ${count(pv(d))} ${pv(d) === 1 ? part.one : part.many}` : ""}`;
          return html`<g>
            <rect class=${"chart-bar" + (v(d) ? "" : " chart-bar--zero")} x=${x} y=${PAD.top + ih - h} width=${bw} height=${Math.max(h, 0)}
              data-date=${d.date} ...${data}><title>${title}</title></rect>
            ${pv(d) > 0 && html`<rect class="chart-bar chart-bar--part" x=${x} y=${PAD.top + ih - (pv(d) / top) * ih} width=${bw}
              height=${(pv(d) / top) * ih} aria-hidden="true"><title>${title}</title></rect>`}
          </g>`;
        })}
        ${daily.map((d, i) =>
          (i % labelEvery === 0 && daily.length - 1 - i >= labelEvery / 2) || i === daily.length - 1
            ? html`<text class="chart-x" x=${PAD.left + i * step + step / 2} y=${H - 8} text-anchor=${i === 0 ? "start" : i === daily.length - 1 ? "end" : "middle"}>${formatDay(d.date)}</text>`
            : null
        )}
      </svg>
      ${partTotal > 0
        ? html`<figcaption class="chart-legend" data-chart-legend>
            <span class="sr-only">${summary}</span>
            <span aria-hidden="true"><span class="legend-swatch"></span>${part.rest}</span>
            <span aria-hidden="true"><span class="legend-swatch legend-swatch--part"></span>${part.label}</span>
          </figcaption>`
        : html`<figcaption class="sr-only">${summary}</figcaption>`}
    </figure>
  `;
}

// dashed turns a field's name into its data attribute's: waitlistFills → waitlist-fills.
const dashed = (field) => field.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());

// niceMax rounds a maximum up to 1, 2 or 5 times a power of ten (and even, so
// that the middle grid line is a whole number).
function niceMax(n) {
  if (n <= 2) return 2;
  const p = 10 ** Math.floor(Math.log10(n));
  for (const m of [1, 2, 5, 10]) if (m * p >= n) return m * p;
  return 10 * p;
}
