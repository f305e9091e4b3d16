// Requests: the license requests of the policies that require approval,
// oldest first (the first has waited longest), filtered by status
// (#/requests?status=APPROVED; pending by default), a page at a time.
// Global admins and License admins approve a pending request (the claim runs
// then, and the row says what it led to) or deny it with an optional message
// for the user. A request someone else decided, or that expired, meanwhile
// is a conflict: the row says so and shows the request as it is now.
// Reports readers and operators see the same list without the buttons.
import { html, useState, useEffect, useRef } from "../lib/preact.js";
import { gql } from "../lib/api.js";
import { LICENSE_REQUESTS, LICENSE_REQUEST, PENDING_COUNT, APPROVE_REQUEST, DENY_REQUEST } from "../lib/queries.js";
import { useForm } from "../lib/hooks.js";
import { useSession } from "../lib/session-context.js";
import { href } from "../lib/router.js";
import { approvalOutcome, count, formatDateTime, formatRelative, label, plural, requestStatusNames, triggerNames } from "../lib/format.js";
import { Badge, Empty, ErrorNotice, Field, FormErrors, Icon, Loading, announce, dismissToast, useFocusWhen } from "../components/ui.js";

const PAGE = 20;
const EXPIRY_DAYS = 30;
// MAX_MESSAGE is the most characters a denial's message may have.
const MAX_MESSAGE = 500;

// filters are the statuses the list shows; the first is the default.
const filters = [
  { id: "PENDING", label: "Pending", status: "PENDING" },
  { id: "APPROVED", label: "Approved", status: "APPROVED" },
  { id: "DENIED", label: "Denied", status: "DENIED" },
  { id: "EXPIRED", label: "Expired", status: "EXPIRED" },
  { id: "ALL", label: "All", status: null },
];

const tones = { PENDING: "warning", APPROVED: "success", DENIED: "danger", EXPIRED: "muted" };

// The pending count of the navigation hears of every change the screen makes.
const queueListeners = new Set();
const queueChanged = () => queueListeners.forEach((f) => f());

// PendingCount is the navigation's badge: how many requests are pending. It
// reads the count again when another screen opens and when this screen
// decides a request or reads the list again.
export function PendingCount({ screen }) {
  const { tenant } = useSession();
  const [n, setN] = useState(0);
  useEffect(() => {
    let seq = 0;
    const load = () => {
      const mine = ++seq;
      gql(PENDING_COUNT, { t: tenant.id }).then(
        (d) => mine === seq && setN(d.tenant.licenseRequests.totalCount),
        () => {}
      );
    };
    load();
    queueListeners.add(load);
    return () => {
      seq = -1;
      queueListeners.delete(load);
    };
  }, [tenant.id, screen]);
  if (!n) return null;
  return html`<span class="nav-count" data-pending-count=${n}><span aria-hidden="true">${count(n)}</span><span class="sr-only">, ${count(n)} pending</span></span>`;
}

export function RequestsScreen({ route }) {
  const filter = filters.find((f) => f.id === route.params.get("status")) || filters[0];
  const choose = (id) => {
    location.hash = "#/requests" + (id === filters[0].id ? "" : "?status=" + id);
  };
  return html`
    <div class="page">
      <header class="page-header">
        <div>
          <p class="eyebrow">Billing · Licenses · Auto-claim policy</p>
          <h1 tabindex="-1">Requests</h1>
          <p class="page-lead">Under a policy that requires approval, each claim that would get a license waits here for an admin to approve or deny it.
            A request no one decides within ${EXPIRY_DAYS} days expires.</p>
        </div>
      </header>
      <${Queue} key=${filter.id} filter=${filter} choose=${choose} />
    </div>
  `;
}

// Queue is the list of one filter: its pages so far, each request as the
// last read or decision left it.
function Queue({ filter, choose }) {
  const { tenant, canDecide, canEdit } = useSession();
  const [list, setList] = useState(null); // { nodes, totalCount, pageInfo }
  const [error, setError] = useState(null);
  const [loading, setLoading] = useState(true);
  const seq = useRef(0);
  const tableRef = useRef(null);
  const firstNew = useRef(-1); // the row to focus after Load more
  const load = async (after = null) => {
    const n = ++seq.current;
    setLoading(true);
    setError(null);
    try {
      const d = await gql(LICENSE_REQUESTS, { t: tenant.id, s: filter.status, first: PAGE, after });
      if (n !== seq.current) return;
      const c = d.tenant.licenseRequests;
      setList((l) => ({ nodes: after && l ? [...l.nodes, ...c.nodes] : c.nodes, totalCount: c.totalCount, pageInfo: c.pageInfo }));
    } catch (e) {
      if (n === seq.current) setError(e);
    } finally {
      if (n === seq.current) setLoading(false);
    }
  };
  const reload = () => {
    load();
    queueChanged();
  };
  useEffect(() => {
    load();
  }, []);
  // After Load more, focus goes to the first request loaded.
  useEffect(() => {
    if (firstNew.current < 0 || !tableRef.current) return;
    const row = tableRef.current.querySelectorAll("tbody tr[data-request-id]")[firstNew.current];
    firstNew.current = -1;
    if (row) row.querySelector("th").focus();
  }, [list]);
  // replace shows a request as a decision or a read left it; one that left
  // the pending list stays on screen until the list is read again.
  const replace = (r) => {
    setList((l) => {
      const old = l.nodes.find((x) => x.id === r.id);
      const left = filter.status === "PENDING" && old && old.status === "PENDING" && r.status !== "PENDING";
      return { ...l, nodes: l.nodes.map((x) => (x.id === r.id ? r : x)), totalCount: l.totalCount - (left ? 1 : 0) };
    });
    queueChanged();
  };
  const nodes = list ? list.nodes : [];
  return html`<section class="card" aria-labelledby="requests-h">
    <div class="toolbar">
      <h2 class="card-title" id="requests-h">${filter.status ? `${filter.label} requests` : "All requests"}
        ${list && html`<span class="count" data-requests-total=${list.totalCount}>${count(list.totalCount)}</span>`}</h2>
      <div class="toolbar-actions request-filters" data-filters>
        <${Field} name="status" label="Status" className="field--inline">
          ${(id) => html`<select id=${id} value=${filter.id} onChange=${(e) => choose(e.currentTarget.value)}>
            ${filters.map((f) => html`<option value=${f.id}>${f.label}</option>`)}
          </select>`}
        <//>
        <button type="button" class="btn btn--icon" aria-label="Refresh the requests" title="Refresh" disabled=${loading} onClick=${reload}>
          <${Icon} name="refresh" />
        </button>
      </div>
    </div>
    ${nodes.length > 0 && html`<p class="hint">Oldest first: the first has waited longest.${canDecide ? " Approving runs the claim now: the user gets a license if one is free." : ""}</p>`}
    ${error && html`<${ErrorNotice} error=${error} retry=${() => load()} />`}
    ${!list && !error && html`<${Loading} />`}
    ${list && nodes.length === 0 && html`<${Empty} title=${filter.status === "PENDING" ? "No requests are waiting" : filter.status ? `No ${filter.label.toLowerCase()} requests` : "No requests yet"}>
      <p>${filter.status === "PENDING"
        ? canEdit
          ? html`Requests appear here when a policy requires approval: turn on <strong>Require approval</strong> in a policy's Settings on the <a href=${href("policies")}>Auto-claim policy</a> page.`
          : html`Requests appear here when a Global admin turns on <strong>Require approval</strong> in a policy's Settings.`
        : "Decided and expired requests are kept 90 days."}</p><//>`}
    ${nodes.length > 0 && html`
      <div class="table-wrap">
        <table class="table table--cards requests-table" data-requests ref=${tableRef}>
          <thead><tr>
            <th scope="col">User</th><th scope="col">App</th><th scope="col">What they did</th><th scope="col">Requested</th><th scope="col">Status</th>
            ${canDecide && html`<th scope="col"><span class="sr-only">Actions</span></th>`}
          </tr></thead>
          <tbody>
            ${nodes.map((r) => html`<${RequestRow} key=${r.id} r=${r} canDecide=${canDecide} replace=${replace} />`)}
          </tbody>
        </table>
      </div>
      <div class="pager">
        <span class="hint">${count(nodes.length)} shown${list.pageInfo.hasNextPage ? "; more follow" : ""}</span>
        ${list.pageInfo.hasNextPage && html`<button type="button" class="btn btn--small" data-load-more disabled=${loading} onClick=${() => {
          firstNew.current = nodes.length;
          load(list.pageInfo.endCursor);
        }}>Load more</button>`}
      </div>`}
  </section>`;
}

const nameOf = (r) => (r.user && r.user.displayName) || r.userId;

// RequestRow is one request, and under it the form of a denial or what a
// conflict found.
function RequestRow({ r, canDecide, replace }) {
  const { tenant } = useSession();
  const [denying, setDenying] = useState(false);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState(null); // { conflict, message }
  const [decided, setDecided] = useState(0); // counts decisions, to focus their result
  const resultRef = useRef(null);
  const problemRef = useRef(null);
  useEffect(() => {
    if (decided && resultRef.current) resultRef.current.focus();
  }, [decided]);
  useEffect(() => {
    if (problem && problemRef.current) problemRef.current.focus();
  }, [problem]);
  const focusButton = (which) =>
    requestAnimationFrame(() => {
      const b = document.querySelector(`tr[data-request-id="${CSS.escape(r.id)}"] [data-${which}]`);
      if (b) b.focus();
    });
  // conflict reads the request again: someone decided it, or it expired,
  // before this admin did.
  const conflict = async (err) => {
    setDenying(false);
    dismissToast();
    try {
      const d = await gql(LICENSE_REQUEST, { t: tenant.id, r: r.id });
      replace(d.tenant.licenseRequest);
    } catch {
      // Dropped since, or unreadable: the server's message says enough.
    }
    setProblem({ conflict: true, message: err.message });
  };
  const decide = async (mutation, vars, field) => {
    const d = await gql(mutation, { r: r.id, ...vars });
    const done = d[field];
    setDenying(false);
    setProblem(null);
    replace(done);
    setDecided((n) => n + 1);
    announce(done.status === "APPROVED" ? `${nameOf(done)}'s request approved: ${approvalOutcome(done)}.` : `${nameOf(done)}'s request denied.`);
  };
  const approve = async () => {
    setBusy(true);
    setProblem(null);
    try {
      await decide(APPROVE_REQUEST, {}, "approveLicenseRequest");
    } catch (e) {
      if (e.code === "CONFLICT") await conflict(e);
      else setProblem({ message: e.message });
    } finally {
      setBusy(false);
    }
  };
  const pending = r.status === "PENDING";
  const cols = canDecide ? 6 : 5;
  return html`<tr data-request-id=${r.id} data-status=${r.status} data-user=${r.userId} class=${denying || problem ? "is-editing" : ""}>
      <th scope="row" data-label="User" tabindex="-1"><span><span class="cell-main">${nameOf(r)}</span>
        ${r.user && r.user.userPrincipalName && html`<span class="cell-sub">${r.user.userPrincipalName}</span>`}</span></th>
      <td data-label="App">${r.app.displayName}</td>
      <td data-label="What they did">${label(triggerNames, r.trigger)}</td>
      <td data-label="Requested" class="nowrap"><time datetime=${r.requestedAt} title=${formatDateTime(r.requestedAt)}>${formatRelative(r.requestedAt)}</time></td>
      <td data-label="Status" data-request-status>
        <div class="request-status" tabindex="-1" ref=${resultRef} data-result>
          <${Badge} tone=${tones[r.status] || "muted"}>${label(requestStatusNames, r.status)}<//>
          <${Decision} r=${r} />
        </div>
      </td>
      ${canDecide && html`<td class="actions-cell">
        ${pending && html`<span class="button-row">
          <button type="button" class="btn btn--small btn--primary" data-approve disabled=${busy || denying} onClick=${approve}>
            ${busy ? "Approving…" : "Approve"}<span class="sr-only"> ${nameOf(r)}'s request</span></button>
          <button type="button" class="btn btn--small" data-deny disabled=${busy || denying} onClick=${() => {
            // A toast about an earlier decision would cover the form on a phone.
            dismissToast();
            setProblem(null);
            setDenying(true);
          }}>Deny<span class="sr-only"> ${nameOf(r)}'s request</span></button>
        </span>`}
      </td>`}
    </tr>
    ${(denying || problem) && html`<tr class="edit-row" data-request-id-more=${r.id}><td colspan=${cols}>
      ${problem && html`<div class=${"notice " + (problem.conflict ? "notice--warning" : "notice--error")} role="alert" tabindex="-1" ref=${problemRef}
        data-request-conflict=${problem.conflict ? "true" : undefined} data-request-problem>
        ${problem.conflict
          ? html`<p class="notice-title">${conflictTitles[r.status] || "This request can't be decided now"}</p>
            <p>Nothing changed. ${r.status === "PENDING" ? problem.message : "The row shows the request as it is now: who decided it, and when."}</p>`
          : html`<p>${problem.message}</p>`}
        <button type="button" class="btn btn--small" data-dismiss onClick=${() => {
          setProblem(null);
          focusButton(pending ? "approve" : "result");
        }}>OK</button>
      </div>`}
      ${denying && html`<${DenyForm} r=${r} deny=${(message) => decide(DENY_REQUEST, { m: message || null }, "denyLicenseRequest")}
        onConflict=${conflict} onCancel=${() => {
          setDenying(false);
          focusButton("deny");
        }} />`}
    </td></tr>`}`;
}

// conflictTitles say why a request found decided already can't be decided.
const conflictTitles = {
  APPROVED: "This request was approved already",
  DENIED: "This request was denied already",
  EXPIRED: "This request expired before you decided it",
};

// Decision says how a request stands: when a pending one expires, or what
// its decision was, who made it and when.
function Decision({ r }) {
  const { me } = useSession();
  if (r.status === "PENDING") {
    const expires = new Date(new Date(r.requestedAt).getTime() + EXPIRY_DAYS * 86400000).toISOString();
    return html`<span class="cell-sub">Expires <time datetime=${expires} title=${formatDateTime(expires)}>${formatRelative(expires)}</time></span>`;
  }
  const when = r.decidedAt && html`<time datetime=${r.decidedAt} title=${formatDateTime(r.decidedAt)}>${formatDateTime(r.decidedAt)}</time>`;
  if (r.status === "EXPIRED") return html`<span class="cell-sub">No one decided it within ${EXPIRY_DAYS} days · ${when}</span>`;
  const by = r.decidedBy && (r.decidedBy.subject === me.subject ? `${r.decidedBy.subject} (you)` : r.decidedBy.subject);
  return html`
    ${r.status === "APPROVED" && html`<span class=${"request-outcome request-outcome--" + r.outcome} data-outcome=${r.outcome}>${approvalOutcome(r)}</span>`}
    <span class="cell-sub">by <span data-decided-by=${r.decidedBy ? r.decidedBy.subject : ""}>${by || "someone not recorded"}</span> · ${when}</span>
    ${r.message && html`<q class="request-message" data-message>${r.message}</q>`}`;
}

// denyField maps the server's extensions.field of a denial to the form's field.
export const denyField = (path) => (path === "message" ? "message" : undefined);

// messageProblem is what the page finds wrong with a denial's message, as
// the server would ("" when nothing): too long, or a control character.
function messageProblem(text) {
  const n = [...text.trim()].length;
  if (n > MAX_MESSAGE) return `The message can be at most ${MAX_MESSAGE} characters long; it has ${count(n)}.`;
  if (/[\u0000-\u001f\u007f]/.test(text)) return "The message can't contain control characters such as line breaks.";
  return "";
}

// DenyForm asks for the optional message of a denial; Escape cancels it.
function DenyForm({ r, deny, onConflict, onCancel }) {
  const [message, setMessage] = useState("");
  const inputRef = useFocusWhen(true);
  const form = useForm({
    check: () => {
      const problem = messageProblem(message);
      return problem ? { message: problem } : {};
    },
    run: async () => {
      try {
        await deny(message.trim());
      } catch (e) {
        if (e.code !== "CONFLICT") throw e;
        await onConflict(e);
      }
    },
    fieldFor: denyField,
  });
  const left = MAX_MESSAGE - [...message.trim()].length;
  const onKeyDown = (e) => {
    if (e.key === "Escape") {
      e.preventDefault();
      onCancel();
    }
  };
  return html`<form class="deny-form" onSubmit=${form.submit} onKeyDown=${onKeyDown} novalidate data-form="deny">
    <${Field} name="message" label=${`Message to ${nameOf(r)} (optional)`} error=${form.errors.fields.message}
      hint=${`Why you deny it: the user reads it with the denial. At most ${MAX_MESSAGE} characters, on one line.`}>
      ${(id, d, invalid) => html`<input id=${id} type="text" value=${message} ref=${inputRef} autocomplete="off"
        aria-describedby=${[d, id + "-left"].filter(Boolean).join(" ")} aria-invalid=${invalid} onInput=${(e) => {
          setMessage(e.currentTarget.value);
          if (form.errors.fields.message) form.reset();
        }} />
        <p class=${"char-count" + (left < 0 ? " char-count--over" : "")} id=${id + "-left"} data-chars-left=${left}>${
          left >= 0 ? `${plural(left, "character", "characters")} left` : `${plural(-left, "character", "characters")} too many`}</p>`}
    <//>
    <${FormErrors} messages=${form.errors.form} />
    <div class="button-row">
      <button type="submit" class="btn btn--danger btn--small" disabled=${form.busy}>${form.busy ? "Denying…" : "Deny request"}</button>
      <button type="button" class="btn btn--small" onClick=${onCancel}>Cancel</button>
    </div>
  </form>`;
}
