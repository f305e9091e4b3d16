// The auto-claim policy report: over the past 1, 7, 30 or 90 days (default
// 90), for each policy (a deleted one too, under its last name) the licenses
// it assigned per day (those given to users waiting on its waitlist marked)
// and per product, the licenses reclaimed unused per day (the totals of
// both when there are some, or the policy has a waitlist or a reclaim
// period), the claims it
// turned away per day and per reason, and every claim (who, when, which
// product, on which trigger), a page at a time; above them, the totals and
// the claims turned away across the organization.
// Download CSV saves the period's claims as the server exports them.
import { html, useState } from "../lib/preact.js";
import { gql } from "../lib/api.js";
import { reportCSV } from "../lib/config.js";
import { fetchFile, saveFile } from "../lib/files.js";
import { REPORT, CLAIMED_USERS } from "../lib/queries.js";
import { useQuery, useAction } from "../lib/hooks.js";
import { useSession } from "../lib/session-context.js";
import { count, formatDateTime, formatDay, plural, label, reasonNames, triggerNames } from "../lib/format.js";
import { Loading, ErrorNotice, Empty, Field, StatusBadge, Badge, Icon, announce } from "../components/ui.js";
import { DailyChart } from "../components/chart.js";

const PERIODS = [1, 7, 30, 90];
const PAGE = 10;
const DENIED = { field: "denied", one: "claim turned away", many: "claims turned away" };
const RECLAIMED = { field: "reclaimed", one: "license reclaimed", many: "licenses reclaimed" };
const FILLS = { field: "waitlistFills", one: "from the waitlist", many: "from the waitlist", label: "Given to users waiting", rest: "Claimed at once" };

const sum = (denials) => denials.reduce((n, d) => n + d.count, 0);
const fills = (r) => r.policies.reduce((n, p) => n + p.waitlistFills, 0);
const reclaimedOf = (r) => r.policies.reduce((n, p) => n + p.reclaimed, 0);

export function ReportScreen({ route }) {
  const { tenant } = useSession();
  const fromRoute = Number(route.params.get("days"));
  const days = PERIODS.includes(fromRoute) ? fromRoute : 90;
  const q = useQuery(REPORT, { t: tenant.id, days, first: PAGE });
  const r = q.data && q.data.tenant.autoClaimReport;
  const csv = useAction(async () => {
    const url = new URL(reportCSV);
    url.searchParams.set("tenantId", tenant.id);
    url.searchParams.set("days", days);
    const file = await fetchFile(url, `autoclaim-${tenant.id}-${days}d.csv`);
    saveFile(file.blob, file.name);
    announce(`The claims of the period are downloading as ${file.name}.`);
  });
  return html`
    <div class="page">
      <header class="page-header">
        <div>
          <p class="eyebrow">Billing · Licenses · Auto-claim policy</p>
          <h1 tabindex="-1">Auto-claim policy report</h1>
          <p class="page-lead">Licenses assigned by each policy, who claimed them, and the claims turned away.</p>
        </div>
        <div class="page-header-actions">
          <${Field} name="days" label="Period" className="field--inline">
            ${(id) => html`<select id=${id} value=${days} onChange=${(e) => (location.hash = `#/report?days=${e.currentTarget.value}`)}>
              ${PERIODS.map((d) => html`<option value=${d}>${d === 1 ? "Today" : `Past ${d} days`}</option>`)}
            </select>`}
          <//>
          <button type="button" class="btn" data-download-csv disabled=${csv.busy} onClick=${() => csv.run()}
            title="Every claim of the period, one row each, for a spreadsheet"><${Icon} name="download" />${csv.busy ? "Preparing…" : "Download CSV"}</button>
          <button type="button" class="btn btn--icon" aria-label="Refresh the report" title="Refresh" onClick=${q.reload}><${Icon} name="refresh" /></button>
        </div>
      </header>
      ${csv.error && html`<div data-download-error><${ErrorNotice} error=${csv.error} retry=${() => csv.run()} /></div>`}
      ${q.error && html`<${ErrorNotice} error=${q.error} retry=${q.reload} />`}
      ${!r && !q.error && html`<${Loading} />`}
      ${r && html`
        <div class="report-summary">
          <p data-report-total=${r.totalClaims}>
            <strong>${plural(r.totalClaims, "license", "licenses")}</strong> assigned by auto-claim policies from ${formatDay(r.since.slice(0, 10), true)} to today (UTC)${
              fills(r) > 0 ? html`, <strong data-report-fills=${fills(r)}>${count(fills(r))}</strong> of them to users waiting on a waitlist` : ""}.
          </p>
          ${reclaimedOf(r) > 0 && html`<p data-report-reclaimed=${reclaimedOf(r)}>
            <strong>${plural(reclaimedOf(r), "license", "licenses")}</strong> reclaimed, unused.</p>`}
          <p data-report-denied=${sum(r.denials)}>
            ${r.denials.length === 0
              ? "No claim was turned away."
              : html`<strong>${plural(sum(r.denials), "claim", "claims")}</strong> turned away, for any app (one with no policy too): <${ReasonList} denials=${r.denials} />`}
          </p>
        </div>
        ${r.policies.length === 0 && html`<section class="card"><${Empty} title="No policies to report on">
          <p>Reports appear here once a policy exists.</p><//></section>`}
        ${r.policies.map((pr) => html`<${PolicyReport} key=${pr.policy.id + days} report=${pr} days=${days} />`)}
      `}
    </div>
  `;
}

// ReasonList is the denials of the organization in a sentence's room.
function ReasonList({ denials }) {
  return html`<span class="reason-list" data-report-denials>${denials.map(
    (d, i) => html`${i > 0 && " · "}<span data-reason=${d.reason} data-count=${d.count}>${label(reasonNames, d.reason)} (${count(d.count)})</span>`
  )}</span>`;
}

function PolicyReport({ report, days }) {
  const { policy, policyName, deleted } = report;
  const denied = sum(report.denials);
  return html`
    <section class=${"card report-card" + (deleted ? " report-card--deleted" : "")} aria-labelledby=${"rep-" + policy.id}
      data-report-policy=${policy.id} data-deleted=${deleted ? "true" : "false"}>
      <div class="report-head">
        <div>
          <h2 class="card-title" id=${"rep-" + policy.id}><span data-policy-name>${policyName}</span>${deleted && html` <${Badge} tone="muted">Deleted<//>`}</h2>
          <p class="hint">${policy.app.displayName} · ${deleted
            ? "Deleted: its claims of the period stay here, under its last name."
            : html`<${StatusBadge} status=${policy.status} />`}</p>
        </div>
        <div class="report-numbers">
          <p class="big-number" data-policy-claims=${report.claims}><span>${count(report.claims)}</span> ${report.claims === 1 ? "license" : "licenses"} assigned</p>
          ${(report.waitlistFills > 0 || policy.waitlistEnabled) &&
            html`<p class="big-number" data-policy-fills=${report.waitlistFills}><span>${count(report.waitlistFills)}</span> from the waitlist</p>`}
          ${(report.reclaimed > 0 || policy.reclaimInactiveAfterDays) &&
            html`<p class="big-number" data-policy-reclaimed=${report.reclaimed}><span>${count(report.reclaimed)}</span> reclaimed</p>`}
          <p class="big-number" data-policy-denied=${denied}><span>${count(denied)}</span> turned away</p>
        </div>
      </div>
      <h3 class="sub-title">Assigned per day</h3>
      <${DailyChart} daily=${report.daily} part=${FILLS} label=${`Licenses assigned per day by ${policyName}`} />
      ${report.reclaimed > 0 && html`
        <h3 class="sub-title">Reclaimed per day</h3>
        <div data-reclaimed-chart><${DailyChart} daily=${report.daily} of=${RECLAIMED} height=${120} tone="reclaimed" label=${`Licenses reclaimed unused per day under ${policyName}`} /></div>`}
      ${denied > 0 && html`
        <h3 class="sub-title">Turned away per day</h3>
        <div data-denied-chart><${DailyChart} daily=${report.daily} of=${DENIED} height=${120} tone="denied" label=${`Claims turned away per day under ${policyName}`} /></div>`}
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
        <div>
          <h3 class="sub-title">Turned away, by reason</h3>
          ${report.denials.length === 0
            ? html`<p class="hint">No claim was turned away under this policy in this period.</p>`
            : html`<table class="table table--compact" data-policy-denials>
                <thead><tr><th scope="col">Reason</th><th scope="col" class="num">Claims</th></tr></thead>
                <tbody>
                  ${report.denials.map((d) => html`<tr data-reason=${d.reason} data-count=${d.count}><td>${label(reasonNames, d.reason)}</td><td class="num">${count(d.count)}</td></tr>`)}
                </tbody>
              </table>`}
        </div>
      </div>
      <${Claims} policyId=${policy.id} days=${days} first=${report.claimedUsers} />
    </section>
  `;
}

// Claims pages through the policy's claims, newest first.
function Claims({ policyId, days, first }) {
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
    <div class="report-claims">
      <h3 class="sub-title">Claims <span class="count">${count(page.totalCount)}</span></h3>
      ${page.totalCount === 0
        ? html`<p class="hint">No one claimed a license under this policy in this period.</p>`
        : html`
          <table class="table table--compact table--cards" data-claimed-users>
            <thead><tr><th scope="col">User</th><th scope="col">Product</th><th scope="col">What they did</th><th scope="col">Claimed</th></tr></thead>
            <tbody>
              ${page.nodes.map((c) => html`<tr data-claim data-user-id=${c.userId} data-product-id=${c.productId} data-trigger=${c.trigger} data-claimed-at=${c.claimedAt}>
                <th scope="row" data-label="User"><span><span class="cell-main">${(c.user && c.user.displayName) || c.userId}</span>
                  ${c.user && html`<span class="cell-sub">${c.user.userPrincipalName}</span>`}</span></th>
                <td data-label="Product" data-cell="product">${c.product.displayName}</td>
                <td data-label="What they did" data-cell="trigger">${label(triggerNames, c.trigger)}</td>
                <td data-label="Claimed" class="nowrap">${formatDateTime(c.claimedAt)}</td></tr>`)}
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
