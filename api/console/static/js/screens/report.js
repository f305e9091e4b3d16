// The auto-claim policy report: licenses each policy assigned over the past
// 1, 7, 30 or 90 days (default 90), per day as a chart, per product, and the
// users who claimed them, a page at a time.
import { html, useState } from "../lib/preact.js";
import { gql } from "../lib/api.js";
import { REPORT, CLAIMED_USERS } from "../lib/queries.js";
import { useQuery } from "../lib/hooks.js";
import { useSession } from "../lib/session-context.js";
import { count, formatDateTime, formatDay, plural } from "../lib/format.js";
import { Loading, ErrorNotice, Empty, Field, StatusBadge, Icon } from "../components/ui.js";
import { DailyChart } from "../components/chart.js";

const PERIODS = [1, 7, 30, 90];
const PAGE = 10;

export function ReportScreen({ route }) {
  const { tenant } = useSession();
  const fromRoute = Number(route.params.get("days"));
  const days = PERIODS.includes(fromRoute) ? fromRoute : 90;
  const q = useQuery(REPORT, { t: tenant.id, days, first: PAGE });
  const r = q.data && q.data.tenant.autoClaimReport;
  return html`
    <div class="page">
      <header class="page-header">
        <div>
          <p class="eyebrow">Billing · Licenses · Auto-claim policy</p>
          <h1 tabindex="-1">Auto-claim policy report</h1>
          <p class="page-lead">Licenses assigned by each policy, and who claimed them.</p>
        </div>
        <div class="page-header-actions">
          <${Field} name="days" label="Period" className="field--inline">
            ${(id) => html`<select id=${id} value=${days} onChange=${(e) => (location.hash = `#/report?days=${e.currentTarget.value}`)}>
              ${PERIODS.map((d) => html`<option value=${d}>${d === 1 ? "Today" : `Past ${d} days`}</option>`)}
            </select>`}
          <//>
          <button type="button" class="btn btn--icon" aria-label="Refresh the report" title="Refresh" onClick=${q.reload}><${Icon} name="refresh" /></button>
        </div>
      </header>
      ${q.error && html`<${ErrorNotice} error=${q.error} retry=${q.reload} />`}
      ${!r && !q.error && html`<${Loading} />`}
      ${r && html`
        <p class="report-summary" data-report-total=${r.totalClaims}>
          <strong>${plural(r.totalClaims, "license", "licenses")}</strong> assigned by auto-claim policies from ${formatDay(r.since.slice(0, 10), true)} to today (UTC).
        </p>
        ${r.policies.length === 0 && html`<section class="card"><${Empty} title="No policies to report on">
          <p>Reports appear here once a policy exists.</p><//></section>`}
        ${r.policies.map((pr) => html`<${PolicyReport} key=${pr.policy.id + days} report=${pr} days=${days} />`)}
      `}
    </div>
  `;
}

function PolicyReport({ report, days }) {
  const { policy } = report;
  return html`
    <section class="card report-card" aria-labelledby=${"rep-" + policy.id} data-report-policy=${policy.id}>
      <div class="report-head">
        <div>
          <h2 class="card-title" id=${"rep-" + policy.id}>${policy.name}</h2>
          <p class="hint">${policy.app.displayName} · <${StatusBadge} status=${policy.status} /></p>
        </div>
        <p class="big-number" data-policy-claims=${report.claims}><span>${count(report.claims)}</span> ${report.claims === 1 ? "license" : "licenses"} assigned</p>
      </div>
      <${DailyChart} daily=${report.daily} label=${`Licenses assigned per day by ${policy.name}`} />
      <div class="report-grid">
        <div>
          <h3 class="sub-title">By product</h3>
          <table class="table table--compact">
            <thead><tr><th scope="col">Product</th><th scope="col" class="num">Licenses assigned</th></tr></thead>
            <tbody>
              ${report.products.map((p) => html`<tr data-report-product=${p.product.id}><td>${p.product.displayName}</td><td class="num">${count(p.claims)}</td></tr>`)}
            </tbody>
          </table>
        </div>
        <${ClaimedUsers} policyId=${policy.id} days=${days} first=${report.claimedUsers} />
      </div>
    </section>
  `;
}

function ClaimedUsers({ policyId, days, first }) {
  const { tenant } = useSession();
  // cursors[i] is the cursor before page i (null for the first).
  const [cursors, setCursors] = useState([null]);
  const [page, setPage] = useState(first);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const go = async (list) => {
    setBusy(true);
    setError(null);
    try {
      const d = await gql(CLAIMED_USERS, { t: tenant.id, days, first: PAGE, after: list[list.length - 1] });
      const pr = d.tenant.autoClaimReport.policies.find((x) => x.policy.id === policyId);
      setPage(pr ? pr.claimedUsers : { totalCount: 0, nodes: [], pageInfo: { hasNextPage: false } });
      setCursors(list);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const n = cursors.length - 1;
  const from = n * PAGE + 1;
  return html`
    <div>
      <h3 class="sub-title">Users who claimed <span class="count">${count(page.totalCount)}</span></h3>
      ${page.totalCount === 0
        ? html`<p class="hint">No one claimed a license under this policy in this period.</p>`
        : html`
          <table class="table table--compact" data-claimed-users>
            <thead><tr><th scope="col">User</th><th scope="col">Claimed</th></tr></thead>
            <tbody>
              ${page.nodes.map((u) => html`<tr><td><span class="cell-main">${(u.user && u.user.displayName) || u.userId}</span>
                ${u.user && html`<span class="cell-sub">${u.user.userPrincipalName}</span>`}</td>
                <td class="nowrap">${formatDateTime(u.claimedAt)}</td></tr>`)}
            </tbody>
          </table>
          <div class="pager">
            <span class="hint">${count(from)}–${count(from + page.nodes.length - 1)} of ${count(page.totalCount)}</span>
            <button type="button" class="btn btn--small" disabled=${busy || n === 0} onClick=${() => go(cursors.slice(0, -1))}>Previous</button>
            <button type="button" class="btn btn--small" disabled=${busy || !page.pageInfo.hasNextPage}
              onClick=${() => go([...cursors, page.pageInfo.endCursor])}>Next</button>
          </div>
        `}
      ${error && html`<${ErrorNotice} error=${error} />`}
    </div>
  `;
}
