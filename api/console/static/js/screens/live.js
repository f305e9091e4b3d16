// Live: what happens in the organization as it happens, over
// graphql-transport-ws, in two tabs: claim decisions (#/live) and admin
// changes with who made them (#/live/changes). Each feed and its cursor
// outlive the screen: coming back (or reconnecting after the connection
// dropped) resumes after the last event shown, so nothing is missed and
// nothing repeats.
import { html, useState, useEffect } from "../lib/preact.js";
import { subscribe } from "../lib/ws.js";
import { CLAIM_EVENTS, POLICY_EVENTS, HOLDINGS } from "../lib/queries.js";
import { useQuery } from "../lib/hooks.js";
import { useSession } from "../lib/session-context.js";
import { href } from "../lib/router.js";
import { label, outcomeNames, reasonNames, triggerNames, changeKindNames, roleNames, approvalOutcome, formatTime, count, plural } from "../lib/format.js";
import { Badge, Empty } from "../components/ui.js";

const KEEP = 200;
// feeds keeps each tenant's events of each kind (newest first) and the last event id.
const feeds = new Map();

function feedOf(tenantId, kind) {
  const key = tenantId + "/" + kind;
  if (!feeds.has(key)) feeds.set(key, { events: [], after: null, since: new Date() });
  return feeds.get(key);
}

const statusText = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  error: "Error",
  closed: "Stopped",
};

const tabs = [
  { id: "claims", label: "Claims", query: CLAIM_EVENTS, field: "claimEvents" },
  { id: "changes", label: "Admin changes", query: POLICY_EVENTS, field: "policyEvents" },
];

export function LiveScreen({ route }) {
  const tab = tabs.find((t) => t.id === route.parts[1]) || tabs[0];
  return html`<${Feed} key=${tab.id} tab=${tab} />`;
}

function Feed({ tab }) {
  const { tenant } = useSession();
  const feed = feedOf(tenant.id, tab.id);
  const [events, setEvents] = useState(feed.events);
  const [status, setStatus] = useState({ s: "connecting", detail: "" });
  useEffect(
    () =>
      subscribe({
      query: tab.query,
      variables: { t: tenant.id },
      after: feed.after,
      cursor: (d) => d[tab.field].id,
      onData: (d) => {
        feed.after = d[tab.field].id;
        feed.events = [d[tab.field], ...feed.events].slice(0, KEEP);
        setEvents(feed.events);
      },
      onStatus: (s, detail = "") => setStatus({ s, detail }),
    }),
    [tenant.id]
  );
  return html`
    <div class="page">
      <header class="page-header">
        <div>
          <p class="eyebrow">Billing · Licenses · Auto-claim policy</p>
          <h1 tabindex="-1">Live</h1>
          <p class="page-lead">${tab.id === "claims" ? "Every claim decision of your organization as it happens." : "Every admin change of your organization as it happens, and who made it."}</p>
        </div>
        <div class="page-header-actions">
          <p class=${"live-status live-status--" + status.s} role="status" data-live-status=${status.s}>
            <span class="live-dot" aria-hidden="true"></span>${statusText[status.s]}
          </p>
          <button type="button" class="btn btn--small" disabled=${events.length === 0} onClick=${() => {
            feed.events = [];
            setEvents([]);
          }}>Clear</button>
        </div>
      </header>
      <nav class="tabs" aria-label="Live feeds">
        ${tabs.map((t) => html`<a href=${t.id === "claims" ? href("live") : href("live", t.id)} class=${t.id === tab.id ? "active" : ""}
          aria-current=${t.id === tab.id ? "page" : undefined} data-tab=${t.id}>${t.label}</a>`)}
      </nav>
      ${status.detail && html`<p class="hint live-detail">${status.detail}</p>`}
      ${tab.id === "claims" ? html`<${Claims} events=${events} since=${feed.since} />` : html`<${Changes} events=${events} since=${feed.since} />`}
    </div>
  `;
}

// isFill: a license given to a user who waited for it on a waitlist.
const isFill = (e) => e.outcome === "CLAIMED" && e.trigger === "WAITLIST";

function Claims({ events, since }) {
  const of = (outcome) => events.filter((e) => e.outcome === outcome).length;
  const fills = events.filter(isFill).length;
  const claimed = of("CLAIMED");
  const queued = of("QUEUED");
  const denied = of("DENIED");
  const asked = of("PENDING_APPROVAL");
  return html`<section class="card" aria-labelledby="feed-h">
    <div class="toolbar">
      <h2 class="card-title" id="feed-h">Claim events</h2>
      <p class="hint">${count(claimed)} claimed${fills > 0 ? ` (${count(fills)} from the waitlist)` : ""} · ${queued > 0 ? `${count(queued)} waitlisted · ` : ""}${
        asked > 0 ? `${count(asked)} asked for approval · ` : ""}${count(denied)} denied · ${
        count(events.length - claimed - queued - denied - asked)} already licensed, since ${formatTime(since.toISOString())}</p>
    </div>
    ${events.length === 0
      ? html`<${Empty} title="Waiting for claims">
          <p>When an app claims a license for a user, the decision shows up here at once.</p><//>`
      : html`<ol class="feed" data-live-feed aria-live="polite" aria-relevant="additions">
          ${events.map((e) => html`<${ClaimRow} key=${e.id} e=${e} />`)}
        </ol>`}
  </section>`;
}

const tones = { CLAIMED: "success", DENIED: "danger", QUEUED: "warning", PENDING_APPROVAL: "info" };

// The feed's words for an outcome: a claim that made a license request
// asked for approval.
const claimOutcomeNames = { ...outcomeNames, PENDING_APPROVAL: "Asked for approval" };

function ClaimRow({ e }) {
  const fill = isFill(e);
  const who = (e.user && e.user.displayName) || e.userId;
  // A fill's trigger is the waitlist, not something the user did now.
  const what = fill ? `Waited for a ${e.app.displayName} license` : `${label(triggerNames, e.trigger)} in ${e.app.displayName}`;
  return html`<li class="feed-item" data-event-id=${e.id} data-user=${e.userId} data-outcome=${e.outcome} data-fill=${fill ? "true" : undefined}>
    <time class="feed-time" datetime=${e.at}>${formatTime(e.at)}</time>
    <div class="feed-main">
      <p class="feed-title"><strong>${who}</strong> <${Badge} tone=${tones[e.outcome] || "muted"}>${fill ? "Filled from the waitlist" : label(claimOutcomeNames, e.outcome)}<//>
        ${e.reason && html` <span class="feed-reason">${label(reasonNames, e.reason)}</span>`}
        ${e.outcome === "QUEUED" && html` <span class="feed-note">No license free: waiting for the next one</span>`}
        ${e.outcome === "PENDING_APPROVAL"
          ? html` <a class="feed-link" href=${href("requests")}>See the request</a>`
          : e.requestId && html` <span class="feed-note feed-note--info">after an admin approved the request</span>`}</p>
      <p class="feed-sub">${what}${e.product ? html` · ${e.product.displayName}` : ""}${
        e.policy ? html` · ${e.policy.name}` : ""
      } · ${count(e.availableAfter)} left</p>
    </div>
  </li>`;
}

function Changes({ events, since }) {
  return html`<section class="card" aria-labelledby="changes-h">
    <div class="toolbar">
      <h2 class="card-title" id="changes-h">Admin changes</h2>
      <p class="hint">${plural(events.length, "change", "changes")} since ${formatTime(since.toISOString())} · <a href=${href("audit")}>Audit log</a></p>
    </div>
    ${events.length === 0
      ? html`<${Empty} title="Waiting for changes">
          <p>When an admin changes a policy, the org setting, a product or a license, or a product runs low, it shows up here at once.</p><//>`
      : html`<ol class="feed" data-changes-feed aria-live="polite" aria-relevant="additions">
          ${events.map((e) => html`<${ChangeRow} key=${e.id} e=${e} />`)}
        </ol>`}
  </section>`;
}

// what says what an admin change did, in a line.
function what(e) {
  const product = (e.product && e.product.displayName) || e.productId;
  const policy = (e.policy && e.policy.name) || e.policyId;
  switch (e.kind) {
    case "AUTO_CLAIM_SETTING_CHANGED":
      return `Auto-claim turned ${e.enabled ? "on" : "off"} for the organization`;
    case "PRODUCT_ADDED":
      return `${product}: ${plural(e.totalLicenses, "license", "licenses")} bought`;
    case "LICENSE_QUANTITY_CHANGED":
      return `${product} now has ${plural(e.totalLicenses, "license", "licenses")}, ${count(e.assignedLicenses)} assigned`;
    case "LICENSE_ASSIGNED":
      return `${product} assigned to ${e.userId}`;
    case "LICENSE_REMOVED":
      return `${product} removed from ${e.userId}`;
    case "POLICY_CREATED":
    case "POLICY_UPDATED":
      return `${policy} · ${e.enabled ? "on" : "off"}`;
    case "POLICY_DELETED":
      return policy;
    case "LICENSE_RECLAIMED":
      return `${product} reclaimed from ${e.userId}, unused`;
    case "LOW_LICENSES":
      return `${product} is running low: ${count(e.totalLicenses - e.assignedLicenses)} available, the alert is at ${count(e.lowLicenseThreshold)}`;
    case "LOW_LICENSE_THRESHOLD_CHANGED":
      return `${product} runs low at ${count(e.lowLicenseThreshold)} available`;
    case "WAITLIST_ENTRY_REMOVED":
      return `${e.userId} taken off the waitlist of ${policy}`;
    case "LICENSE_SUPERSEDED":
      return html`<${Superseded} e=${e} product=${product} />`;
    case "LICENSE_REQUEST_APPROVED":
      return `${requester(e)}'s license request under ${policy}${e.request && e.request.outcome ? `: ${approvalOutcome(e.request)}` : ""}`;
    case "LICENSE_REQUEST_DENIED":
      return html`${requester(e)}'s license request under ${policy}${e.request && e.request.message
        ? html`: <q class="feed-quote">${e.request.message}</q>` : ""}`;
    case "LICENSE_REQUEST_EXPIRED":
      return `${requester(e)}'s license request under ${policy}: no one decided it within 30 days`;
  }
  return "";
}

// requester names the user of a license request event.
const requester = (e) => (e.request && e.request.user && e.request.user.displayName) || e.userId;

// Superseded says which license went back and which one of the user's
// superseded it: the latest the user claimed under the same policy by then
// (the event names only the one given back).
function Superseded({ e, product }) {
  const { tenant } = useSession();
  const q = useQuery(HOLDINGS, { t: tenant.id, u: e.userId });
  const user = q.data && q.data.tenant.user;
  const at = new Date(e.at).getTime();
  const by = user && user.licenses
    .filter((l) => l.source === "AUTO_CLAIM" && l.policy && l.policy.id === e.policyId && l.product.id !== e.productId && new Date(l.assignedAt).getTime() <= at)
    .sort((a, b) => new Date(b.assignedAt) - new Date(a.assignedAt))[0];
  const who = (user && user.displayName) || e.userId;
  return html`Gave back ${who}'s ${product}: superseded by <span data-superseded-by=${by ? by.product.id : ""}>${
    by ? by.product.displayName : q.loading ? "…" : "a license they claimed since"}</span>`;
}

// noActor says why an event that no one made happened.
const noActor = {
  LOW_LICENSES: "An alert: the product's available licenses fell to its threshold",
  LICENSE_REQUEST_EXPIRED: "no one decided it",
  LICENSE_SUPERSEDED: "given back by the policy (Give back superseded licenses) when the user claimed the license that covers it",
};

function ChangeRow({ e }) {
  const tone = e.kind === "LOW_LICENSES" ? "danger" : ["POLICY_DELETED", "LICENSE_REMOVED", "LICENSE_RECLAIMED"].includes(e.kind) ? "warning" : "info";
  return html`<li class="feed-item" data-event-id=${e.id} data-kind=${e.kind} data-actor=${e.actor ? e.actor.subject : ""}>
    <time class="feed-time" datetime=${e.at}>${formatTime(e.at)}</time>
    <div class="feed-main">
      <p class="feed-title"><${Badge} tone=${tone}>${label(changeKindNames, e.kind)}<//> ${what(e)}</p>
      <p class="feed-sub">${e.actor
        ? e.actor.roles.length === 0 && e.kind === "LICENSE_RECLAIMED"
          ? html`by <strong>${e.actor.subject}</strong>'s hourly sweep of licenses unused for the policy's period`
          : html`by <strong>${e.actor.subject}</strong>${e.actor.roles.length > 0 && ` (${e.actor.roles.map((r) => label(roleNames, r)).join(", ")})`}`
        : noActor[e.kind] || "by someone not recorded"}</p>
    </div>
  </li>`;
}
