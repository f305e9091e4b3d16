// Live: claim decisions as they happen, over graphql-transport-ws. The feed
// and its cursor outlive the screen: coming back (or reconnecting after the
// connection dropped) resumes after the last event shown, so nothing is
// missed and nothing repeats.
import { html, useState, useEffect } from "../lib/preact.js";
import { subscribe } from "../lib/ws.js";
import { CLAIM_EVENTS } from "../lib/queries.js";
import { useSession } from "../lib/session-context.js";
import { label, outcomeNames, reasonNames, triggerNames, formatTime, count } from "../lib/format.js";
import { Badge, Empty } from "../components/ui.js";

const KEEP = 200;
// feeds keeps each tenant's events (newest first) and last event id.
const feeds = new Map();

function feedOf(tenantId) {
  if (!feeds.has(tenantId)) feeds.set(tenantId, { events: [], after: null, since: new Date() });
  return feeds.get(tenantId);
}

const statusText = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  error: "Error",
  closed: "Stopped",
};

export function LiveScreen() {
  const { tenant } = useSession();
  const feed = feedOf(tenant.id);
  const [events, setEvents] = useState(feed.events);
  const [status, setStatus] = useState({ s: "connecting", detail: "" });
  useEffect(
    () =>
      subscribe({
        query: CLAIM_EVENTS,
        variables: { t: tenant.id },
        after: feed.after,
        cursor: (d) => d.claimEvents.id,
        onData: (d) => {
          feed.after = d.claimEvents.id;
          feed.events = [d.claimEvents, ...feed.events].slice(0, KEEP);
          setEvents(feed.events);
        },
        onStatus: (s, detail = "") => setStatus({ s, detail }),
      }),
    [tenant.id]
  );
  const claimed = events.filter((e) => e.outcome === "CLAIMED").length;
  const denied = events.filter((e) => e.outcome === "DENIED").length;
  return html`
    <div class="page">
      <header class="page-header">
        <div>
          <p class="eyebrow">Billing · Licenses · Auto-claim policy</p>
          <h1 tabindex="-1">Live claims</h1>
          <p class="page-lead">Every claim decision of your organization as it happens.</p>
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
      ${status.detail && html`<p class="hint live-detail">${status.detail}</p>`}
      <section class="card" aria-labelledby="feed-h">
        <div class="toolbar">
          <h2 class="card-title" id="feed-h">Claim events</h2>
          <p class="hint">${count(claimed)} claimed · ${count(denied)} denied · ${count(events.length - claimed - denied)} already licensed, since ${formatTime(feed.since.toISOString())}</p>
        </div>
        ${events.length === 0
          ? html`<${Empty} title="Waiting for claims">
              <p>When an app claims a license for a user, the decision shows up here at once.</p><//>`
          : html`<ol class="feed" data-live-feed aria-live="polite" aria-relevant="additions">
              ${events.map((e) => html`<${EventRow} key=${e.id} e=${e} />`)}
            </ol>`}
      </section>
    </div>
  `;
}

function EventRow({ e }) {
  const tone = e.outcome === "CLAIMED" ? "success" : e.outcome === "DENIED" ? "danger" : "muted";
  const who = (e.user && e.user.displayName) || e.userId;
  return html`<li class="feed-item" data-event-id=${e.id} data-user=${e.userId} data-outcome=${e.outcome}>
    <time class="feed-time" datetime=${e.at}>${formatTime(e.at)}</time>
    <div class="feed-main">
      <p class="feed-title"><strong>${who}</strong> <${Badge} tone=${tone}>${label(outcomeNames, e.outcome)}<//>
        ${e.reason && html` <span class="feed-reason">${label(reasonNames, e.reason)}</span>`}</p>
      <p class="feed-sub">${label(triggerNames, e.trigger)} in ${e.app.displayName}${e.product ? html` · ${e.product.displayName}` : ""}${
        e.policy ? html` · ${e.policy.name}` : ""
      } · ${count(e.availableAfter)} left</p>
    </div>
  </li>`;
}
