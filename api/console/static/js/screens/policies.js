// The Auto-claim policy tab: the products running low, the org setting, the
// policy list, and the details pane (#/policies/<id>, with its waitlist at
// …/waitlist and its reclaim at …/reclaim) or the create wizard
// (#/policies/new) on top of it.
import { html, useState } from "../lib/preact.js";
import { gql } from "../lib/api.js";
import { POLICIES, SET_ORG, SET_POLICY_LIMIT } from "../lib/queries.js";
import { useQuery, useForm } from "../lib/hooks.js";
import { useSession } from "../lib/session-context.js";
import { href, navigate } from "../lib/router.js";
import { count, plural } from "../lib/format.js";
import { Loading, ErrorNotice, Empty, StatusBadge, Badge, Switch, Icon, announce, FormErrors, Field } from "../components/ui.js";
import { PolicyDetails } from "./policy-details.js";
import { CreateWizard } from "./wizard.js";

export function PoliciesScreen({ route }) {
  const { tenant, canEdit, isOperator } = useSession();
  const q = useQuery(POLICIES, { t: tenant.id });
  const open = route.parts[1];
  const t = q.data && q.data.tenant;
  const policies = (t && t.policies) || [];
  const atLimit = t && policies.length >= t.policyLimit;
  const close = () => navigate("policies");
  return html`
    <div class="page">
      <header class="page-header">
        <div>
          <p class="eyebrow">Billing · Licenses</p>
          <h1 tabindex="-1">Auto-claim policy</h1>
          <p class="page-lead">Let users claim a license the first time they use an app that needs one, from the products
            you choose, in the order you choose.</p>
        </div>
      </header>
      ${q.error && html`<${ErrorNotice} error=${q.error} retry=${q.reload} />`}
      ${!t && !q.error && html`<${Loading} />`}
      ${t && html`
        ${t.productsRunningLow.length > 0 && html`<${RunningLow} products=${t.productsRunningLow} canEdit=${canEdit} />`}
        <${OrgSetting} tenant=${t} canEdit=${canEdit} onChanged=${q.reload} />
        <section class="card" aria-labelledby="policies-h">
          <div class="toolbar">
            <h2 id="policies-h" class="card-title">Policies <span class="count">${policies.length}</span></h2>
            <div class="toolbar-actions">
              ${canEdit && html`<a class=${"btn btn--primary" + (atLimit ? " is-disabled" : "")} href=${atLimit ? undefined : href("policies", "new")}
                  role=${atLimit ? "link" : undefined} aria-disabled=${atLimit ? "true" : undefined} aria-describedby="limit-note">
                  <${Icon} name="plus" />Add a policy</a>`}
              <a class="btn" href=${href("report")}><${Icon} name="chart" />View report</a>
              <button type="button" class="btn btn--icon" aria-label="Refresh the list" title="Refresh" onClick=${q.reload}>
                <${Icon} name="refresh" />
              </button>
            </div>
          </div>
          <p class="hint" id="limit-note">${plural(policies.length, "policy", "policies")} of the ${count(t.policyLimit)} your organization may have${
            atLimit && canEdit ? ". Delete one, or ask your operator to raise the limit, to add another." : "."
          }</p>
          ${isOperator && html`<${PolicyLimit} tenant=${t} onChanged=${q.reload} />`}
          ${policies.length === 0
            ? html`<${Empty} title="No auto-claim policies yet">
                <p>${canEdit ? "Add a policy to let users of an app claim licenses by themselves." : "A Global admin can add one."}</p>
              <//>`
            : html`<${PolicyTable} policies=${policies} />`}
        </section>
      `}
      ${t && open === "new" && canEdit && html`<${CreateWizard} onClose=${close} onCreated=${(p) => { q.reload(); navigate("policies", p.id); }} />`}
      ${t && open && open !== "new" && html`<${PolicyDetails} key=${open} policyId=${open} view=${route.parts[2]} onClose=${close} onChanged=${q.reload} />`}
    </div>
  `;
}

// RunningLow is the banner of the products whose available licenses are at
// or below their low-license threshold.
function RunningLow({ products, canEdit }) {
  return html`<section class="notice notice--warning running-low" aria-labelledby="low-h" data-running-low>
    <h2 id="low-h" class="notice-title">${products.length === 1 ? "A product is running low on licenses" : `${products.length} products are running low on licenses`}</h2>
    <ul>
      ${products.map((p) => html`<li data-low-product=${p.id}><strong>${p.displayName}</strong>${": "}${
        p.availableLicenses === 0 ? "none available" : `${plural(p.availableLicenses, "license", "licenses")} available`
      }${" "}<span class="hint-inline">(the alert is at ${count(p.lowLicenseThreshold)})</span></li>`)}
    </ul>
    <p><a href=${href("licenses")}>${canEdit ? "Buy more on the Licenses page" : "See the Licenses page"}</a></p>
  </section>`;
}

// PolicyLimit lets an operator set how many policies the tenant may hold.
function PolicyLimit({ tenant, onChanged }) {
  const [value, setValue] = useState(String(tenant.policyLimit));
  const form = useForm({
    check: () => (/^\d+$/.test(value.trim()) ? {} : { limit: "Enter a whole number from 1 to 100." }),
    run: async () => {
      const n = Number(value.trim());
      await gql(SET_POLICY_LIMIT, { t: tenant.id, n });
      announce(`${tenant.id} may now have ${plural(n, "policy", "policies")}.`);
      onChanged();
    },
    fieldFor: (path) => (path === "limit" ? "limit" : undefined),
    single: "limit",
  });
  return html`<form class="limit-form" onSubmit=${form.submit} novalidate data-form="policy-limit">
    <${Field} name="limit" label="Policy limit (operators)" error=${form.errors.fields.limit}>
      ${(id, d, invalid) => html`<input id=${id} type="number" min="1" max="100" step="1" inputmode="numeric" value=${value}
        aria-describedby=${d} aria-invalid=${invalid} onInput=${(e) => setValue(e.currentTarget.value)} />`}
    <//>
    <button type="submit" class="btn btn--small" disabled=${form.busy}>Set limit</button>
    <${FormErrors} messages=${form.errors.form} />
  </form>`;
}

function OrgSetting({ tenant, canEdit, onChanged }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const set = async (on) => {
    setBusy(true);
    setError(null);
    try {
      await gql(SET_ORG, { t: tenant.id, on });
      announce(on ? "Auto-claim is turned on for your organization." : "Auto-claim is turned off for your organization.");
      onChanged();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const on = tenant.autoClaimEnabled;
  return html`
    <section class=${"card org-setting" + (on ? " org-setting--on" : "")} aria-labelledby="org-h" data-org-setting=${on ? "on" : "off"}>
      <div class="org-setting-text">
        <h2 id="org-h" class="card-title">Let users auto-claim licenses the first time they sign in</h2>
        <p>${on
          ? "On: users of an app with a policy get a license from it when they first need one."
          : "Off: no user can claim a license, whatever the policies say. Users keep the licenses they have."}</p>
      </div>
      <div class="org-setting-control">
        ${canEdit
          ? on
            ? html`<${Switch} name="org-setting" label="On" checked=${true} disabled=${busy} onChange=${set} />`
            : html`<button type="button" class="btn btn--primary" disabled=${busy} onClick=${() => set(true)}>Turn on setting</button>`
          : html`<${Badge} tone=${on ? "success" : "muted"}>${on ? "On" : "Off"}<//>`}
      </div>
      ${error && html`<div class="org-setting-error"><${FormErrors} messages=${[error.message]} /></div>`}
    </section>
  `;
}

function PolicyTable({ policies }) {
  return html`
    <div class="table-wrap">
      <table class="table table--cards" data-policy-list>
        <thead>
          <tr><th scope="col">Name</th><th scope="col">App</th><th scope="col">Product</th>
            <th scope="col" class="num">Available licenses</th><th scope="col">Status</th></tr>
        </thead>
        <tbody>
          ${policies.map(
            (p) => html`<tr key=${p.id} data-policy-id=${p.id}>
              <th scope="row" data-label="Name">
                <a class="row-link" href=${href("policies", p.id)}>${p.name}</a>
                ${p.autoCreated && html` <${Badge} tone="info">Preconfigured<//>`}
              </th>
              <td data-label="App">${p.app.displayName}</td>
              <td data-label="Product">${p.primaryProduct.displayName}</td>
              <td data-label="Available licenses" class="num" data-available>${count(p.availableLicenses)}</td>
              <td data-label="Status"><${StatusBadge} status=${p.status} /></td>
            </tr>`
          )}
        </tbody>
      </table>
    </div>
  `;
}
