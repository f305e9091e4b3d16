// The details pane of a policy, in three tabs: its details (on/off, rename,
// the product licenses in claim order — move up/down, add or remove a
// backup —, its settings, the apps and services of each product or of all
// at once, and delete), its waitlist, and the licenses it could reclaim
// (#/policies/<id>, …/waitlist, …/reclaim). Read-only roles see the same
// facts without the controls.
import { html, useState, useEffect } from "../lib/preact.js";
import { gql, placeErrors } from "../lib/api.js";
import { POLICY_DETAILS, SET_POLICY_ON, RENAME, MOVE_PRODUCT, ADD_BACKUP, REMOVE_PRODUCT, SET_PLANS, DELETE_POLICY } from "../lib/queries.js";
import { useQuery, useForm } from "../lib/hooks.js";
import { useSession } from "../lib/session-context.js";
import { href } from "../lib/router.js";
import { count, formatDateTime, plural } from "../lib/format.js";
import { productsForApp, requiredPlans, allPlans } from "../lib/policy.js";
import { Pane, Section, Loading, ErrorNotice, Switch, Field, FormErrors, Badge, StatusBadge, Icon, announce, Confirm, useFocusWhen } from "../components/ui.js";
import { PlanChecklist } from "../components/plans.js";
import { Settings } from "./policy-settings.js";
import { Waitlist } from "./policy-waitlist.js";
import { Reclaim } from "./policy-reclaim.js";

const MAX_PRODUCTS = 5;

// views are the pane's tabs: the route's third part names one.
const views = [
  { id: "", label: "Details" },
  { id: "waitlist", label: "Waitlist" },
  { id: "reclaim", label: "Reclaim" },
];

export function PolicyDetails({ policyId, view = "", onClose, onChanged }) {
  const { tenant } = useSession();
  const q = useQuery(POLICY_DETAILS, { t: tenant.id, p: policyId });
  const [policy, setPolicy] = useState(null);
  useEffect(() => {
    if (q.data) setPolicy(q.data.tenant.policy);
  }, [q.data]);
  // changed takes a mutation's answer (the policy as it is now).
  const changed = (p, message) => {
    setPolicy(p);
    onChanged();
    if (message) announce(message);
  };
  // refresh reads the policy again after a change that answers something
  // else (a waitlist entry removed, licenses reclaimed).
  const refresh = () => {
    onChanged();
    return q.reload();
  };
  const current = views.find((v) => v.id === view) || views[0];
  const title = policy ? policy.name : q.data && !q.data.tenant.policy ? "Policy not found" : "Policy";
  return html`
    <${Pane} title=${title} onClose=${onClose} label=${policy ? undefined : "Policy details"}
      footer=${html`<button type="button" class="btn" onClick=${onClose}>Close</button>`}>
      ${q.error && html`<${ErrorNotice} error=${q.error} retry=${q.reload} />`}
      ${!q.data && !q.error && html`<${Loading} />`}
      ${q.data && !q.data.tenant.policy && html`<p>This policy doesn't exist any more. It may have been deleted.</p>`}
      ${policy && html`
        <nav class="tabs pane-tabs" aria-label="Policy">
          ${views.map((v) => html`<a href=${v.id ? href("policies", policy.id, v.id) : href("policies", policy.id)} data-tab=${v.id || "details"}
            class=${v === current ? "active" : ""} aria-current=${v === current ? "page" : undefined}>${v.label}</a>`)}
        </nav>
        ${current.id === "" && html`<${Details} policy=${policy} products=${q.data.tenant.products} changed=${changed} reload=${q.reload} onDeleted=${() => {
          onChanged();
          onClose();
        }} />`}
        ${current.id === "waitlist" && html`<${Waitlist} policy=${policy} refresh=${refresh} />`}
        ${current.id === "reclaim" && html`<${Reclaim} policy=${policy} refresh=${refresh} />`}
      `}
    <//>
  `;
}

function Details({ policy, products, changed, reload, onDeleted }) {
  const { canEdit } = useSession();
  return html`
    <div class="details" data-policy=${policy.id}>
      <p class="details-meta">
        ${policy.app.displayName} · <${StatusBadge} status=${policy.status} />
        ${policy.autoCreated && html` <${Badge} tone="info">Preconfigured<//>`}
      </p>
      <dl class="stats">
        <div><dt>Available licenses</dt><dd>${count(policy.availableLicenses)}</dd></div>
        <div><dt>Claimed and still held</dt><dd>${count(policy.claimedLicenses)}</dd></div>
        <div><dt>Last changed</dt><dd class="stats-small">${formatDateTime(policy.updatedAt)}</dd></div>
      </dl>
      <${OnOff} policy=${policy} canEdit=${canEdit} changed=${changed} />
      <${Name} policy=${policy} canEdit=${canEdit} changed=${changed} />
      <${ProductLicenses} policy=${policy} products=${products} canEdit=${canEdit} changed=${changed} />
      <${Settings} policy=${policy} canEdit=${canEdit} changed=${changed} reload=${reload} />
      <${AppsAndServices} key=${policy.version} policy=${policy} canEdit=${canEdit} changed=${changed} />
      ${canEdit && html`<${Delete} policy=${policy} onDeleted=${onDeleted} />`}
    </div>
  `;
}

function OnOff({ policy, canEdit, changed }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const set = async (on) => {
    setBusy(true);
    setError(null);
    try {
      const d = await gql(SET_POLICY_ON, { p: policy.id, on });
      changed(d.setAutoClaimPolicyEnabled, on ? "The policy is on." : "The policy is off. Users who claimed keep their licenses.");
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return html`<${Section} title="Turn this policy on or off" id="sec-onoff">
    ${canEdit
      ? html`<${Switch} name="policy-enabled" checked=${policy.enabled} disabled=${busy} onChange=${set}
          label=${policy.enabled ? "On" : "Off"}
          description="When it's off, no more users can claim licenses under it. Users who claimed keep their licenses." />`
      : html`<p>${policy.enabled ? "On: users can claim licenses under it." : "Off: no new claims under it."}</p>`}
    ${error && html`<${FormErrors} messages=${[error.message]} />`}
  <//>`;
}

function Name({ policy, canEdit, changed }) {
  const [editing, setEditing] = useState(false);
  const [value, setValue] = useState(policy.name);
  const [errors, setErrors] = useState({ fields: {}, form: [] });
  const [busy, setBusy] = useState(false);
  const inputRef = useFocusWhen(editing);
  const save = async (e) => {
    e.preventDefault();
    if (!value.trim()) return setErrors({ fields: { name: "Enter a name for the policy." }, form: [] });
    setBusy(true);
    try {
      const d = await gql(RENAME, { p: policy.id, name: value });
      setEditing(false);
      setErrors({ fields: {}, form: [] });
      changed(d.renameAutoClaimPolicy, "The policy's name is saved.");
    } catch (err) {
      setErrors(placeErrors(err, { fieldFor: (f) => (f === "name" ? "name" : undefined), single: "name" }));
    } finally {
      setBusy(false);
    }
  };
  return html`<${Section} title="Policy name" id="sec-name">
    ${!editing
      ? html`<div class="inline-value">
          <span class="value-text" data-policy-name>${policy.name}</span>
          ${canEdit && html`<button type="button" class="btn btn--small" onClick=${() => {
            setValue(policy.name);
            setEditing(true);
          }}><${Icon} name="edit" />Edit<span class="sr-only"> the policy name</span></button>`}
        </div>`
      : html`<form class="inline-form" onSubmit=${save} novalidate data-form="rename">
          <${Field} name="name" label="Name" error=${errors.fields.name}>
            ${(id, d, invalid) => html`<input id=${id} type="text" value=${value} aria-describedby=${d} aria-invalid=${invalid}
              ref=${inputRef} onInput=${(e) => setValue(e.currentTarget.value)} />`}
          <//>
          <${FormErrors} messages=${errors.form} />
          <div class="button-row">
            <button type="submit" class="btn btn--primary" disabled=${busy}>Save</button>
            <button type="button" class="btn" onClick=${() => {
              setEditing(false);
              setErrors({ fields: {}, form: [] });
            }}>Cancel</button>
          </div>
        </form>`}
  <//>`;
}

function ProductLicenses({ policy, products, canEdit, changed }) {
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [confirmRemove, setConfirmRemove] = useState(null);
  const inPolicy = new Set(policy.products.map((pp) => pp.product.id));
  const candidates = productsForApp(products, policy.app.id).filter((p) => !inPolicy.has(p.id));
  const act = async (query, vars, message, refocus) => {
    setBusy(true);
    setError(null);
    try {
      const d = await gql(query, vars);
      changed(Object.values(d)[0], message);
      if (refocus) requestAnimationFrame(refocus);
      return true;
    } catch (e) {
      setError(e);
      return false;
    } finally {
      setBusy(false);
    }
  };
  const move = (pp, dir) =>
    act(MOVE_PRODUCT, { p: policy.id, x: pp.product.id, d: dir }, `${pp.product.displayName} moved ${dir === "UP" ? "up" : "down"}.`, () => {
      // Keep focus on the product that moved, on a button that still works.
      const row = document.querySelector(`[data-order-product="${CSS.escape(pp.product.id)}"]`);
      if (!row) return;
      const want = row.querySelector(`[data-move="${dir}"]:not([disabled])`) || row.querySelector("[data-move]:not([disabled])");
      if (want) want.focus();
    });
  const n = policy.products.length;
  return html`<${Section} title="Product licenses" id="sec-products">
    <p class="hint">Licenses come from the first product that has one, in this order.</p>
    <ol class="order-list" data-product-order>
      ${policy.products.map(
        (pp, i) => html`<li key=${pp.product.id} data-order-product=${pp.product.id}>
          <span class="order-pos" aria-hidden="true">${pp.position}</span>
          <div class="order-main">
            <span class="order-name">${pp.product.displayName}</span>
            <span class="order-sub">${pp.isPrimary ? "Primary" : `Backup ${pp.position - 1}`} · ${plural(pp.availableLicenses, "license", "licenses")} available</span>
          </div>
          ${canEdit && html`<div class="order-actions">
            <button type="button" class="btn btn--icon" data-move="UP" disabled=${busy || i === 0}
              aria-label=${`Move ${pp.product.displayName} up`} title="Move up" onClick=${() => move(pp, "UP")}><${Icon} name="up" /></button>
            <button type="button" class="btn btn--icon" data-move="DOWN" disabled=${busy || i === n - 1}
              aria-label=${`Move ${pp.product.displayName} down`} title="Move down" onClick=${() => move(pp, "DOWN")}><${Icon} name="down" /></button>
            ${n > 1 && html`<button type="button" class="btn btn--icon btn--danger-icon" disabled=${busy}
              aria-label=${`Remove ${pp.product.displayName}`} title="Remove" onClick=${() => setConfirmRemove(pp)}><${Icon} name="trash" /></button>`}
          </div>`}
        </li>`
      )}
    </ol>
    ${confirmRemove && html`<${Confirm} label="Confirm removal" confirmLabel="Remove" busy=${busy} onCancel=${() => setConfirmRemove(null)}
      onConfirm=${async () => {
        if (await act(REMOVE_PRODUCT, { p: policy.id, x: confirmRemove.product.id }, `${confirmRemove.product.displayName} removed from the policy.`)) setConfirmRemove(null);
      }}>
      Remove <strong>${confirmRemove.product.displayName}</strong> from this policy? No new licenses come from it; users who have one keep it.
    <//>`}
    ${error && html`<${FormErrors} messages=${[error.message]} />`}
    ${canEdit && n < MAX_PRODUCTS && candidates.length > 0 && html`<${AddBackup} policy=${policy} candidates=${candidates} busy=${busy} changed=${changed} />`}
    ${canEdit && n < MAX_PRODUCTS && candidates.length === 0 && html`<p class="hint">Every product of your organization that serves ${policy.app.displayName} is in this policy.</p>`}
    ${canEdit && n >= MAX_PRODUCTS && html`<p class="hint">A policy has at most ${MAX_PRODUCTS} products: a primary and four backups.</p>`}
  <//>`;
}

// AddBackup adds a product at the end of the policy's order; the server's
// error about the product shows at its choice.
function AddBackup({ policy, candidates, busy, changed }) {
  const [adding, setAdding] = useState("");
  const p = candidates.find((c) => c.id === adding) || candidates[0];
  const form = useForm({
    run: async () => {
      const d = await gql(ADD_BACKUP, { p: policy.id, x: p.id });
      setAdding("");
      changed(d.addBackupProduct, `${p.displayName} added as a backup.`);
    },
    fieldFor: (path) => (path === "productId" ? "backup" : undefined),
    single: "backup",
  });
  return html`<form class="add-backup" data-form="add-backup" onSubmit=${form.submit} novalidate>
    <${Field} name="backup" label="Add a backup product to this policy" error=${form.errors.fields.backup}>
      ${(id, d, invalid) => html`<select id=${id} value=${p.id} aria-describedby=${d} aria-invalid=${invalid} onChange=${(e) => {
        setAdding(e.currentTarget.value);
        form.reset();
      }}>
        ${candidates.map((c) => html`<option value=${c.id}>${c.displayName} (${count(c.availableLicenses)} available)</option>`)}
      </select>`}
    <//>
    <button type="submit" class="btn" disabled=${busy || form.busy}><${Icon} name="plus" />Add</button>
    <${FormErrors} messages=${form.errors.form} />
  </form>`;
}

function AppsAndServices({ policy, canEdit, changed }) {
  const { catalog } = useSession();
  const [which, setWhich] = useState(policy.products.length > 1 ? "" : policy.products[0].product.id);
  const [disabled, setDisabled] = useState(() => initialDisabled(policy, which));
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState({ fields: {}, form: [] });
  const products = policy.products.map((pp) => pp.product);
  const required = requiredPlans(catalog, products, policy.app.id);
  const shown = which ? products.filter((p) => p.id === which) : products;
  const plans = allPlans(shown);
  const locked = {};
  for (const p of shown) if (required[p.id]) locked[required[p.id]] = policy.app.displayName;
  const pick = (id) => {
    setWhich(id);
    setDisabled(initialDisabled(policy, id));
    setErrors({ fields: {}, form: [] });
  };
  const save = async (e) => {
    e.preventDefault();
    setBusy(true);
    try {
      const d = await gql(SET_PLANS, { p: policy.id, x: which || null, off: [...disabled] });
      setErrors({ fields: {}, form: [] });
      changed(d.setPolicyServicePlans, "Apps and services saved.");
    } catch (err) {
      setErrors(placeErrors(err, { fieldFor: plansField, single: "plans" }));
    } finally {
      setBusy(false);
    }
  };
  if (!canEdit) {
    return html`<${Section} title="Apps and services" id="sec-plans">
      ${policy.products.map((pp) => html`<div class="plans-product"><h4>${pp.product.displayName}</h4>
        <${PlanChecklist} readOnly plans=${pp.product.servicePlans} disabled=${new Set(pp.disabledServicePlans.map((s) => s.id))} /></div>`)}
    <//>`;
  }
  const original = initialDisabled(policy, which);
  const dirty = original.size !== disabled.size || [...disabled].some((id) => !original.has(id));
  return html`<${Section} title="Apps and services" id="sec-plans">
    <form onSubmit=${save} novalidate data-form="plans">
      <${Field} name="plans-product" label="Product" hint="Choose which apps and services a claimed license includes, for one product or for all at once."
        error=${errors.fields["plans-product"]}>
        ${(id, d, invalid) => html`<select id=${id} aria-describedby=${d} aria-invalid=${invalid} value=${which} onChange=${(e) => pick(e.currentTarget.value)}>
          ${policy.products.length > 1 && html`<option value="">All products</option>`}
          ${products.map((p) => html`<option value=${p.id}>${p.displayName}</option>`)}
        </select>`}
      <//>
      <${PlanChecklist} name="plans" legend=${which ? "Included apps and services" : "Included apps and services (all products)"} plans=${plans}
        disabled=${disabled} locked=${locked} error=${errors.fields.plans}
        onChange=${(id, off) => {
          const next = new Set(disabled);
          off ? next.add(id) : next.delete(id);
          setDisabled(next);
        }} />
      <${FormErrors} messages=${errors.form} />
      <div class="button-row">
        <button type="submit" class="btn btn--primary" disabled=${busy || !dirty}>Save apps and services</button>
        ${dirty && html`<button type="button" class="btn" onClick=${() => setDisabled(original)}>Undo changes</button>`}
      </div>
    </form>
  <//>`;
}

// plansField maps setPolicyServicePlans's arguments to the form's fields.
const plansField = (path) =>
  path === "productId" ? "plans-product" : path === "disabledServicePlanIds" || path.startsWith("disabledServicePlanIds[") ? "plans" : undefined;

// initialDisabled: the plans left off for one product, or for "all
// products" those left off in every product that has them.
function initialDisabled(policy, productId) {
  const pps = productId ? policy.products.filter((pp) => pp.product.id === productId) : policy.products;
  const out = new Set();
  for (const s of allPlans(pps.map((pp) => pp.product))) {
    const having = pps.filter((pp) => pp.product.servicePlans.some((x) => x.id === s.id));
    if (having.every((pp) => pp.disabledServicePlans.some((x) => x.id === s.id))) out.add(s.id);
  }
  return out;
}

function Delete({ policy, onDeleted }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  return html`<${Section} title="Delete this policy" id="sec-delete">
    ${!confirming
      ? html`<button type="button" class="btn btn--danger-outline" onClick=${() => setConfirming(true)}><${Icon} name="trash" />Delete policy</button>`
      : html`<${Confirm} label="Confirm delete" confirmLabel="Delete" busy=${busy} onCancel=${() => setConfirming(false)}
          onConfirm=${async () => {
            setBusy(true);
            try {
              await gql(DELETE_POLICY, { p: policy.id });
              announce(`${policy.name} deleted.`);
              onDeleted();
            } catch (e) {
              setError(e);
              setBusy(false);
            }
          }}>
          Delete <strong>${policy.name}</strong>? Users who claimed licenses under it keep them; no new claims are made for ${policy.app.displayName}.
        <//>`}
    ${error && html`<${FormErrors} messages=${[error.message]} />`}
  <//>`;
}
