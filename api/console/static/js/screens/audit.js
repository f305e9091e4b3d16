// The audit log: who changed what in the organization, newest first — one
// entry per admin or operator change, with its targets and each field's
// value before and after. Filtered by action and by a first day (kept in
// the route: #/audit?action=renameAutoClaimPolicy&since=2026-11-01), and
// read a page at a time.
import { html, useState } from "../lib/preact.js";
import { AUDIT_LOG } from "../lib/queries.js";
import { useQuery } from "../lib/hooks.js";
import { useSession } from "../lib/session-context.js";
import { href } from "../lib/router.js";
import { actionNames, changeFieldNames, roleNames, requestStatusNames, outcomeNames, reasonNames, label, count, formatDateTime } from "../lib/format.js";
import { Loading, ErrorNotice, Empty, Field, Icon } from "../components/ui.js";

const PAGE = 20;

export function AuditScreen({ route }) {
  const action = route.params.get("action") || "";
  const since = /^\d{4}-\d{2}-\d{2}$/.test(route.params.get("since") || "") ? route.params.get("since") : "";
  const filter = (next) => {
    const p = new URLSearchParams();
    const f = { action, since, ...next };
    if (f.action) p.set("action", f.action);
    if (f.since) p.set("since", f.since);
    location.hash = "#/audit" + (p.toString() ? "?" + p : "");
  };
  return html`
    <div class="page">
      <header class="page-header">
        <div>
          <p class="eyebrow">Settings</p>
          <h1 tabindex="-1">Audit log</h1>
          <p class="page-lead">Who changed what in your organization, newest first.</p>
        </div>
      </header>
      <section class="card" aria-labelledby="audit-h">
        <div class="toolbar">
          <h2 class="card-title" id="audit-h">Changes</h2>
          <div class="toolbar-actions audit-filters" data-filters>
            <${Field} name="action" label="Action" className="field--inline">
              ${(id) => html`<select id=${id} value=${action} onChange=${(e) => filter({ action: e.currentTarget.value })}>
                <option value="">All actions</option>
                ${Object.entries(actionNames).map(([k, v]) => html`<option value=${k}>${v}</option>`)}
              </select>`}
            <//>
            <${Field} name="since" label="Since" className="field--inline">
              ${(id) => html`<input id=${id} type="date" value=${since} onChange=${(e) => filter({ since: e.currentTarget.value })} />`}
            <//>
            ${(action || since) && html`<button type="button" class="btn btn--small" data-clear-filters onClick=${() => filter({ action: "", since: "" })}>Clear filters</button>`}
          </div>
        </div>
        <${Entries} key=${action + "|" + since} action=${action} since=${since} />
      </section>
    </div>
  `;
}

function Entries({ action, since }) {
  const { tenant, catalog, me } = useSession();
  // cursors[i] is the cursor before page i (null for the first).
  const [cursors, setCursors] = useState([null]);
  const q = useQuery(AUDIT_LOG, {
    t: tenant.id,
    first: PAGE,
    after: cursors[cursors.length - 1],
    action: action || null,
    // The day starts at midnight where the admin is.
    since: since ? new Date(since + "T00:00:00").toISOString() : null,
  });
  const t = q.data && q.data.tenant;
  const conn = t && t.auditLog;
  const n = cursors.length - 1;
  const names = t && nameIndex(t, tenant, catalog);
  return html`
    ${conn && html`<p class="hint" data-audit-total=${conn.totalCount}>The log keeps ${count(conn.totalCount)} ${conn.totalCount === 1 ? "entry" : "entries"}.</p>`}
    ${q.error && html`<${ErrorNotice} error=${q.error} retry=${q.reload} />`}
    ${!conn && !q.error && html`<${Loading} />`}
    ${conn && conn.nodes.length === 0 && html`<${Empty} title=${action || since ? "No changes match" : "No changes yet"}>
      <p>${action || since ? "Try another action or an earlier day." : "Each change an admin makes shows up here."}</p><//>`}
    ${conn && conn.nodes.length > 0 && html`
      <ol class="audit-list" data-audit-log>
        ${conn.nodes.map((e) => html`<${Entry} key=${e.id} e=${e} names=${names} me=${me} />`)}
      </ol>
      <div class="pager">
        <span class="hint">${count(n * PAGE + 1)}–${count(n * PAGE + conn.nodes.length)}</span>
        <button type="button" class="btn btn--icon" aria-label="Refresh the log" title="Refresh" onClick=${q.reload}><${Icon} name="refresh" /></button>
        <button type="button" class="btn btn--small" disabled=${n === 0 || q.loading} onClick=${() => setCursors(cursors.slice(0, -1))}>Previous</button>
        <button type="button" class="btn btn--small" disabled=${!conn.pageInfo.hasNextPage || q.loading}
          onClick=${() => setCursors([...cursors, conn.pageInfo.endCursor])}>Next</button>
      </div>`}
  `;
}

// nameIndex names what the log's ids stand for: the tenant, its products
// and policies, the catalog's apps, products and service plans.
function nameIndex(t, tenant, catalog) {
  const names = new Map([[tenant.id, tenant.name]]);
  for (const a of catalog.apps) names.set(a.id, a.displayName);
  for (const p of catalog.products) {
    names.set(p.skuPartNumber, p.displayName);
    for (const s of p.servicePlans) names.set(s.id, s.displayName);
  }
  for (const p of t.products) names.set(p.id, p.displayName);
  for (const p of t.policies) names.set(p.id, p.name);
  return { of: (id) => names.get(id) || id, policies: new Set(t.policies.map((p) => p.id)) };
}

// title says what an entry did; a switch says which way it went.
function title(e) {
  const to = (field) => {
    const c = e.changes.find((x) => x.field === field);
    return c && (c.after === "true" ? "on" : c.after === "false" ? "off" : "");
  };
  if (e.action === "setAutoClaimEnabled" && to("autoClaimEnabled")) return `Turned auto-claim ${to("autoClaimEnabled")}`;
  if (e.action === "setAutoClaimPolicyEnabled" && to("enabled")) return `Turned a policy ${to("enabled")}`;
  return label(actionNames, e.action);
}

function Entry({ e, names, me }) {
  const who = e.actor.subject === me.subject ? `${(me.user && me.user.displayName) || e.actor.subject} (you)` : e.actor.subject;
  // The server's own changes (the demo data it seeds) carry no roles.
  const as = e.actor.roles.length > 0 ? e.actor.roles.map((r) => label(roleNames, r)).join(", ") : "the server itself";
  return html`<li class="audit-entry" data-audit-id=${e.id} data-action=${e.action}>
    <time class="audit-time" datetime=${e.at}>${formatDateTime(e.at)}</time>
    <div class="audit-main">
      <p class="audit-title"><strong>${title(e)}</strong> <code class="audit-action">${e.action}</code></p>
      <p class="audit-sub">
        by <span class="audit-actor" data-actor=${e.actor.subject} title=${e.actor.subject}>${who}</span><span class="hint-inline"> · ${as}</span>
        ${e.targetIds.length > 0 && html` · ${e.targetIds.map((id, i) => html`${i > 0 && ", "}<${Target} id=${id} names=${names} />`)}`}
      </p>
      ${e.changes.length > 0 && html`<table class="table table--compact audit-changes">
        <thead><tr><th scope="col">Field</th><th scope="col">Before</th><th scope="col">After</th></tr></thead>
        <tbody>${e.changes.map((c) => html`<tr data-change=${c.field}>
          <th scope="row">${fieldLabel(c.field, names)}</th>
          <td data-before>${value(c.field, c.before, names)}</td>
          <td data-after>${value(c.field, c.after, names)}</td>
        </tr>`)}</tbody>
      </table>`}
    </div>
  </li>`;
}

function Target({ id, names }) {
  const name = names.of(id);
  if (names.policies.has(id)) return html`<a href=${href("policies", id)} data-target=${id}>${name}</a>`;
  return html`<span data-target=${id} title=${name === id ? undefined : id}>${name}</span>`;
}

// fieldLabel names a change's field: disabledServicePlans[<product id>] is
// the plans a policy leaves off that product, license[<user id>] the license
// an approval gave that user.
function fieldLabel(field, names) {
  const m = /^(\w+)\[(.+)\]$/.exec(field);
  if (m) return html`${label(changeFieldNames, m[1])} <span class="cell-sub">${names.of(m[2])}</span>`;
  return changeFieldNames[field] || field;
}

const none = html`<span class="audit-none" aria-label="none">—</span>`;

// value shows a change's value as the admin knows it: on/off, names for ids
// and words for a license request's status and what its approval led to.
function value(field, v, names) {
  if (v === null || v === undefined) return none;
  if (v === "true" || v === "false") return v === "true" ? "On" : "Off";
  if (field === "status") return label(requestStatusNames, v);
  if (field === "outcome") return label(outcomeNames, v);
  if (field === "reason") return label(reasonNames, v);
  if (field.startsWith("license[")) return names.of(v);
  const list = (sep) => (v === "" ? "None" : v.split(",").map(names.of).join(sep));
  if (field === "products") return list(", then ");
  if (field.startsWith("disabledServicePlans")) return list(", ");
  if (field === "license") {
    const m = /^(.+) \((\w+)\)$/.exec(v);
    if (m) return `${names.of(m[1])} (${m[2] === "DIRECT" ? "assigned directly" : "auto-claim"})`;
  }
  return field === "app" || field === "skuPartNumber" ? names.of(v) : v;
}
