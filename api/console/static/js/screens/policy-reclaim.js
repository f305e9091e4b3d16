// The Reclaim tab of a policy's details pane: the dry run — the licenses
// claimed under the policy and unused for a number of days, with their
// holders and when each was last used, a page at a time — then, for a
// Global admin, "Reclaim N licenses", after saying so, and how many were.
import { html, useState, useRef, useEffect } from "../lib/preact.js";
import { gql, placeErrors } from "../lib/api.js";
import { INACTIVE, RECLAIM } from "../lib/queries.js";
import { useQuery, useAction } from "../lib/hooks.js";
import { useSession } from "../lib/session-context.js";
import { href } from "../lib/router.js";
import { count, formatDateTime, formatAgo, plural } from "../lib/format.js";
import { Loading, ErrorNotice, Empty, Field, FormErrors, Confirm, Icon, announce } from "../components/ui.js";

const PAGE = 20;
const MIN_DAYS = 7;
const MAX_DAYS = 365;

export function Reclaim({ policy, refresh }) {
  const { canEdit } = useSession();
  const start = policy.reclaimInactiveAfterDays || 30;
  // days is the period listed; text what the field holds.
  const [days, setDays] = useState(start);
  const [text, setText] = useState(String(start));
  const [fieldError, setFieldError] = useState("");
  const [reclaimed, setReclaimed] = useState(null); // { n, days } of the last reclaim
  const doneRef = useRef(null);
  // The confirmation is gone: focus goes to what the reclaim did.
  useEffect(() => {
    if (reclaimed && doneRef.current) doneRef.current.focus();
  }, [reclaimed]);
  const show = (e) => {
    e.preventDefault();
    const n = Number(text.trim());
    if (!/^\d+$/.test(text.trim()) || n < MIN_DAYS || n > MAX_DAYS) {
      setFieldError(`Enter a whole number of days from ${MIN_DAYS} to ${MAX_DAYS}.`);
      return;
    }
    setFieldError("");
    setReclaimed(null);
    setDays(n);
  };
  return html`
    <section class="flow-view" aria-labelledby="reclaim-h" data-reclaim>
      <h3 id="reclaim-h" class="sub-title">Licenses nobody uses</h3>
      <p class="hint">A license is used when a claim finds that it covers what its holder does (the first such claim of each day counts).
        Reclaiming one gives it back to its pool, and to users waiting; its holder gets a license again the next time they need one, if one is free.
        Licenses assigned directly are never reclaimed.</p>
      <p class="hint" data-reclaim-setting>${policy.reclaimInactiveAfterDays
        ? `This policy also reclaims licenses unused for ${plural(policy.reclaimInactiveAfterDays, "day", "days")} by itself, every hour.`
        : html`This policy doesn't reclaim licenses by itself${canEdit ? html`: set a period under <a href=${href("policies", policy.id)}>Settings</a>` : ""}.`}</p>
      <form class="dry-run-form" onSubmit=${show} novalidate data-form="dry-run">
        <${Field} name="reclaim-days" label="Unused for" error=${fieldError}>
          ${(id, d, invalid) => html`<div class="input-unit">
            <input id=${id} type="number" min=${MIN_DAYS} max=${MAX_DAYS} step="1" inputmode="numeric" value=${text}
              aria-describedby=${d} aria-invalid=${invalid} onInput=${(e) => setText(e.currentTarget.value)} />
            <span aria-hidden="true">days</span>
          </div>`}
        <//>
        <button type="submit" class="btn">Show licenses</button>
      </form>
      ${reclaimed && html`<div class="notice notice--success" tabindex="-1" ref=${doneRef} data-reclaimed=${reclaimed.n}>
        <p><strong>${plural(reclaimed.n, "license", "licenses")} reclaimed</strong>, unused for ${plural(reclaimed.days, "day", "days")} or more${
          reclaimed.n === 0 ? ": those listed were used since." : reclaimed.n === 1 ? ". It went back to its pool, or to the first user waiting for one." : ". They went back to their pools, or to users waiting for one."}</p>
      </div>`}
      <${Unused} key=${days} policy=${policy} days=${days} canEdit=${canEdit} onReclaimed=${(n) => {
        setReclaimed({ n, days });
        refresh();
      }} onFieldError=${setFieldError} />
    </section>
  `;
}

// Unused lists the licenses unused for days days, and reclaims them.
function Unused({ policy, days, canEdit, onReclaimed, onFieldError }) {
  const { tenant } = useSession();
  const [cursors, setCursors] = useState([null]);
  const [confirming, setConfirming] = useState(false);
  const buttonRef = useRef(null);
  const q = useQuery(INACTIVE, { t: tenant.id, p: policy.id, days, first: PAGE, after: cursors[cursors.length - 1] });
  const conn = q.data && q.data.tenant.policy && q.data.tenant.policy.inactiveLicenses;
  const n = cursors.length - 1;
  const reclaim = useAction(async () => {
    try {
      const d = await gql(RECLAIM, { p: policy.id, days });
      const k = d.reclaimInactiveLicenses;
      announce(`${plural(k, "license", "licenses")} reclaimed.`);
      setConfirming(false);
      setCursors([null]);
      onReclaimed(k);
      await q.reload();
    } catch (err) {
      // An error about the days belongs to the field that gave them.
      const placed = placeErrors(err, { fieldFor: (f) => (f === "days" ? "days" : undefined) });
      if (!placed.fields.days) throw err;
      onFieldError(placed.fields.days);
      setConfirming(false);
    }
  });
  const total = conn ? conn.totalCount : 0;
  return html`
    ${q.error && html`<${ErrorNotice} error=${q.error} retry=${q.reload} />`}
    ${!conn && !q.error && html`<${Loading} />`}
    ${conn && html`
      <div class="toolbar">
        <p class="dry-run-total" data-inactive-total=${total} data-days=${days}>
          <strong>${plural(total, "license", "licenses")}</strong> unused for ${plural(days, "day", "days")}</p>
        <button type="button" class="btn btn--icon" aria-label="Refresh the list" title="Refresh" onClick=${q.reload}><${Icon} name="refresh" /></button>
      </div>
      ${total === 0 && html`<${Empty} title="No unused licenses">
        <p>Every license claimed under this policy was used in the past ${plural(days, "day", "days")}.</p><//>`}
      ${conn.nodes.length > 0 && html`
        <table class="table table--compact table--cards" data-inactive>
          <thead><tr><th scope="col">User</th><th scope="col">Product</th><th scope="col">Last used</th><th scope="col">Claimed</th></tr></thead>
          <tbody>
            ${conn.nodes.map((l) => html`<tr key=${l.userId + l.product.id} data-inactive-user=${l.userId} data-product-id=${l.product.id}>
              <th scope="row" data-label="User"><span><span class="cell-main">${(l.user && l.user.displayName) || l.userId}</span>
                ${l.user && l.user.userPrincipalName && html`<span class="cell-sub">${l.user.userPrincipalName}</span>`}</span></th>
              <td data-label="Product">${l.product.displayName}</td>
              <td data-label="Last used"><span><time class="cell-main" datetime=${l.lastUsedAt} data-last-used>${formatAgo(l.lastUsedAt)}</time>
                <span class="cell-sub">${formatDateTime(l.lastUsedAt)}</span></span></td>
              <td data-label="Claimed"><time datetime=${l.assignedAt}>${formatDateTime(l.assignedAt)}</time></td>
            </tr>`)}
          </tbody>
        </table>
        ${(n > 0 || conn.pageInfo.hasNextPage) && html`<div class="pager">
          <span class="hint">${count(n * PAGE + 1)}–${count(n * PAGE + conn.nodes.length)} of ${count(total)}</span>
          <button type="button" class="btn btn--small" disabled=${n === 0 || q.loading} onClick=${() => setCursors(cursors.slice(0, -1))}>Previous</button>
          <button type="button" class="btn btn--small" disabled=${!conn.pageInfo.hasNextPage || q.loading}
            onClick=${() => setCursors([...cursors, conn.pageInfo.endCursor])}>Next</button>
        </div>`}`}
      ${canEdit && total > 0 && !confirming && html`<div class="button-row reclaim-action">
        <button type="button" class="btn btn--danger-outline" data-reclaim-button ref=${buttonRef} onClick=${() => setConfirming(true)}>
          Reclaim ${plural(total, "license", "licenses")}</button>
      </div>`}
      ${canEdit && confirming && html`<${Confirm} label="Confirm reclaim" confirmLabel=${`Reclaim ${plural(total, "license", "licenses")}`} busy=${reclaim.busy}
        onCancel=${() => {
          setConfirming(false);
          requestAnimationFrame(() => buttonRef.current && buttonRef.current.focus());
        }} onConfirm=${() => reclaim.run()}>
        Reclaim the ${plural(total, "license", "licenses")} unused for ${plural(days, "day", "days")} or more? Their holders lose them now;
        each goes back to its pool, or to the first user waiting for one. A license used since this list was read is kept.
      <//>`}
      ${reclaim.error && html`<${FormErrors} messages=${[reclaim.error.message]} />`}
    `}
  `;
}
