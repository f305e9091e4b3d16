// The create wizard, as the reference's "Add a policy": name → app and
// product (only products that serve the app) with up to four backups → apps
// and services per product → review → create. Next asks only for what the
// next step is built from (a name typed, an app and its products chosen);
// whether they are valid is the server's to say. When it refuses, the review
// shows every error at once, each beside what it is about, and each field
// shows its own on its step until it is changed.
import { html, useState, useEffect, useRef } from "../lib/preact.js";
import { gql, placeErrors } from "../lib/api.js";
import { PRODUCTS, CREATE_POLICY } from "../lib/queries.js";
import { useQuery } from "../lib/hooks.js";
import { useSession } from "../lib/session-context.js";
import { count } from "../lib/format.js";
import { productsForApp, requiredPlans } from "../lib/policy.js";
import { Pane, Loading, ErrorNotice, Field, FormErrors, Icon, Notice } from "../components/ui.js";
import { PlanChecklist } from "../components/plans.js";

const MAX_BACKUPS = 4;
const steps = ["Name", "App and product", "Apps and services", "Review and finish"];

// stepOf says which step holds a field.
const stepOf = (key) => (key === "name" ? 0 : key === "app" || key === "product" || key.startsWith("backup") ? 1 : key.startsWith("plans") ? 2 : 3);

// fieldFor maps the server's argument paths to the wizard's fields.
export function fieldFor(path) {
  if (path === "input.name") return "name";
  if (path === "input.appId") return "app";
  if (path === "input.products") return "product";
  let m = /^input\.products\[(\d+)\]\.productId$/.exec(path);
  if (m) return m[1] === "0" ? "product" : "backup" + m[1];
  m = /^input\.products\[(\d+)\]\.disabledServicePlanIds/.exec(path);
  if (m) return "plans" + m[1];
  return undefined;
}

// without returns fields without the keys drop picks.
const without = (fields, drop) => Object.fromEntries(Object.entries(fields).filter(([k]) => !drop(k)));

// rowKey is the field of the i-th product row.
const rowKey = (i) => (i === 0 ? "product" : "backup" + i);

export function CreateWizard({ onClose, onCreated }) {
  const { tenant, catalog } = useSession();
  const q = useQuery(PRODUCTS, { t: tenant.id });
  const [step, setStep] = useState(0);
  const [name, setName] = useState("");
  const [appId, setAppId] = useState("");
  const [chosen, setChosen] = useState([""]); // primary, then backups
  const [disabled, setDisabled] = useState({}); // product id → Set of plan ids left off
  const [errors, setErrors] = useState({ fields: {}, form: [] });
  const [busy, setBusy] = useState(false);
  const [created, setCreated] = useState(null);
  const bodyRef = useRef(null);

  useEffect(() => {
    // Each step starts at its heading, for keyboard and screen reader users.
    const h = bodyRef.current && bodyRef.current.querySelector("h3");
    if (h) h.focus();
  }, [step, created]);

  if (q.error) return html`<${Pane} title="Add a policy" onClose=${onClose}><${ErrorNotice} error=${q.error} retry=${q.reload} /><//>`;
  if (!q.data) return html`<${Pane} title="Add a policy" onClose=${onClose}><${Loading} /><//>`;

  const products = q.data.tenant.products;
  const appsWithPolicy = new Set(q.data.tenant.policies.map((p) => p.app.id));
  const candidates = appId ? productsForApp(products, appId) : [];
  const byId = Object.fromEntries(products.map((p) => [p.id, p]));
  const picked = chosen.filter(Boolean).map((id) => byId[id]);
  const app = catalog.apps.find((a) => a.id === appId);
  const required = requiredPlans(catalog, products, appId);

  // forget drops the errors of fields whose value the admin changes.
  const forget = (drop) => setErrors((e) => ({ fields: without(e.fields, drop), form: e.form }));
  const check = (s) => {
    const f = {};
    // As a required field of HTML: something typed. Blank or too long is
    // the server's rule, and its message.
    if (s === 0 && name === "") f.name = "Enter a name for the policy.";
    if (s === 1) {
      if (!appId) f.app = "Choose the app whose users claim licenses.";
      if (!chosen[0]) f.product = "Choose the product to assign licenses from.";
      chosen.slice(1).forEach((id, i) => {
        if (!id) f["backup" + (i + 1)] = "Choose a backup product, or remove this row.";
      });
    }
    return f;
  };
  const next = (e) => {
    e && e.preventDefault();
    const f = check(step);
    // The server's errors about fields not changed since stay.
    setErrors((prev) => ({ fields: { ...prev.fields, ...f }, form: prev.form }));
    if (Object.keys(f).length === 0) setStep(step + 1);
  };
  const create = async () => {
    for (let s = 0; s < 2; s++) {
      const f = check(s);
      if (Object.keys(f).length) {
        setErrors({ fields: f, form: [] });
        return setStep(s);
      }
    }
    setBusy(true);
    try {
      const input = {
        tenantId: tenant.id,
        name,
        appId,
        products: chosen.map((id) => ({ productId: id, disabledServicePlanIds: [...(disabled[id] || [])] })),
      };
      const d = await gql(CREATE_POLICY, { in: input });
      setErrors({ fields: {}, form: [] });
      setCreated(d.createAutoClaimPolicy);
    } catch (err) {
      // Every error at once, on the review beside what it is about.
      setErrors(placeErrors(err, { fieldFor }));
    } finally {
      setBusy(false);
    }
  };

  if (created) {
    return html`<${Pane} title="Add a policy" onClose=${onClose} wide
      footer=${html`<button type="button" class="btn btn--primary" onClick=${() => onCreated(created)}>Open the policy</button>
        <button type="button" class="btn" onClick=${onClose}>Close</button>`}>
      <div class="wizard-done" ref=${bodyRef} data-created=${created.id}>
        <div class="done-mark" aria-hidden="true"><svg viewBox="0 0 24 24"><path d="M5 12.5l4.5 4.5L19 7.5" /></svg></div>
        <h3 tabindex="-1">Policy created</h3>
        <p><strong>${created.name}</strong> is ${created.enabled ? "on" : "off"}. Users of ${created.app.displayName} who need a license
          get one from ${created.products.map((pp) => pp.product.displayName).join(", then ")}.</p>
      </div>
    <//>`;
  }

  const setProduct = (i, id) => {
    const c = [...chosen];
    c[i] = id;
    setChosen(c);
    forget((k) => k === rowKey(i) || k === "plans" + i);
  };
  const removeBackup = (i) => {
    setChosen(chosen.filter((_, j) => j !== i));
    // The rows after it move up: their errors no longer match them.
    forget((k) => /^(backup|plans)(\d+)$/.test(k) && Number(/\d+$/.exec(k)[0]) >= i);
  };
  const footer = html`
    ${step > 0 && html`<button type="button" class="btn" onClick=${() => setStep(step - 1)}>Back</button>`}
    ${step < 3
      ? html`<button type="button" class="btn btn--primary" onClick=${next}>Next</button>`
      : html`<button type="button" class="btn btn--primary" disabled=${busy} onClick=${create}>${busy ? "Creating…" : "Create policy"}</button>`}
    <button type="button" class="btn btn--quiet" onClick=${onClose}>Cancel</button>
  `;
  return html`
    <${Pane} title="Add a policy" onClose=${onClose} footer=${footer} wide>
      <div class="wizard">
        <ol class="steps" aria-label="Steps">
          ${steps.map(
            (s, i) => html`<li class=${i === step ? "current" : i < step ? "done" : ""} aria-current=${i === step ? "step" : undefined}>
              <span class="step-dot" aria-hidden="true">${i < step ? "✓" : i + 1}</span><span>${s}</span>
            </li>`
          )}
        </ol>
        <form class="wizard-body" ref=${bodyRef} onSubmit=${step < 3 ? next : (e) => (e.preventDefault(), create())} novalidate data-step=${step}>
          ${step === 0 && html`
            <h3 tabindex="-1">Name this auto-claim policy</h3>
            <p class="hint">A friendly name admins see in the policy list and the report.</p>
            <${Field} name="name" label="Policy name" error=${errors.fields.name}>
              ${(id, d, invalid) => html`<input id=${id} name="name" type="text" value=${name} maxlength="200" aria-describedby=${d}
                aria-invalid=${invalid} onInput=${(e) => {
                  setName(e.currentTarget.value);
                  forget((k) => k === "name");
                }} />`}
            <//>
          `}
          ${step === 1 && html`
            <h3 tabindex="-1">Set an auto-claim app and product</h3>
            <${Field} name="app" label="App" error=${errors.fields.app} hint="Users of this app claim a license when they first need one.">
              ${(id, d, invalid) => html`<select id=${id} name="app" value=${appId} aria-describedby=${d} aria-invalid=${invalid}
                onChange=${(e) => {
                  setAppId(e.currentTarget.value);
                  setChosen([""]);
                  setDisabled({});
                  forget((k) => stepOf(k) === 1 || stepOf(k) === 2);
                }}>
                <option value="">Select an app</option>
                ${catalog.apps.map((a) => html`<option value=${a.id} disabled=${appsWithPolicy.has(a.id)}>${a.displayName}${appsWithPolicy.has(a.id) ? " (has a policy)" : ""}</option>`)}
              </select>`}
            <//>
            ${appId && candidates.length === 0 && html`<${Notice} tone="warning">Your organization has no product that serves ${app.displayName}. Buy licenses of one first.<//>`}
            ${appId && candidates.length > 0 && html`
              <${ProductSelect} name="product" label="Product" hint="Licenses are assigned from this product first."
                value=${chosen[0]} options=${candidates} taken=${chosen} error=${errors.fields.product} onChange=${(id) => setProduct(0, id)} />
              ${chosen.slice(1).map(
                (id, i) => html`<div class="backup-row" key=${i}>
                  <${ProductSelect} name=${"backup" + (i + 1)} label=${`Backup product ${i + 1}`} value=${id} options=${candidates}
                    taken=${chosen} error=${errors.fields["backup" + (i + 1)]} onChange=${(v) => setProduct(i + 1, v)} />
                  <button type="button" class="btn btn--icon" aria-label=${`Remove backup product ${i + 1}`} title="Remove"
                    onClick=${() => removeBackup(i + 1)}><${Icon} name="trash" /></button>
                </div>`
              )}
              ${chosen.length - 1 < MAX_BACKUPS && chosen.length < candidates.length
                ? html`<button type="button" class="btn btn--link" data-add-backup onClick=${() => setChosen([...chosen, ""])}>
                    <${Icon} name="plus" />Add a backup product to this policy</button>`
                : html`<p class="hint">${chosen.length - 1 >= MAX_BACKUPS ? "A policy has at most four backup products." : `Every product that serves ${app.displayName} is chosen.`}</p>`}
            `}
          `}
          ${step === 2 && html`
            <h3 tabindex="-1">Select apps and services</h3>
            <p class="hint">Choose what a claimed license of each product includes. The service ${app.displayName} itself needs stays on.</p>
            ${picked.map(
              (p, i) => html`<${PlanChecklist} key=${i + p.id} name=${"plans" + i} legend=${p.displayName} plans=${p.servicePlans}
                disabled=${disabled[p.id] || new Set()} locked=${required[p.id] ? { [required[p.id]]: app.displayName } : {}}
                error=${errors.fields["plans" + i]}
                onChange=${(planId, off) => {
                  const s = new Set(disabled[p.id] || []);
                  off ? s.add(planId) : s.delete(planId);
                  setDisabled({ ...disabled, [p.id]: s });
                  forget((k) => k === "plans" + i);
                }} />`
            )}
          `}
          ${step === 3 && html`
            <h3 tabindex="-1">Review and finish</h3>
            <dl class="review">
              <div><dt>Name</dt><dd><span data-review="name">${name}</span><${ReviewError} name="name" errors=${errors} /></dd>
                <dd><button type="button" class="btn btn--link" onClick=${() => setStep(0)}>Edit<span class="sr-only"> name</span></button></dd></div>
              <div><dt>App</dt><dd>${app && app.displayName}<${ReviewError} name="app" errors=${errors} /></dd>
                <dd><button type="button" class="btn btn--link" onClick=${() => setStep(1)}>Edit<span class="sr-only"> app and products</span></button></dd></div>
              <div><dt>Products, in order</dt><dd><ol class="review-products">${picked.map((p, i) => html`<li data-review-product=${i}>${p.displayName} <span class="hint-inline">${i === 0 ? "primary" : "backup"} · ${count(p.availableLicenses)} available</span>
                <${ReviewError} name=${rowKey(i)} errors=${errors} /></li>`)}</ol></dd></div>
              <div><dt>Apps and services left off</dt><dd>${offSummary(picked, disabled)}
                ${picked.map((p, i) => html`<${ReviewError} name=${"plans" + i} errors=${errors} about=${p.displayName} />`)}</dd>
                <dd><button type="button" class="btn btn--link" onClick=${() => setStep(2)}>Edit<span class="sr-only"> apps and services</span></button></dd></div>
            </dl>
            <p class="hint">The policy is on as soon as it's created.</p>
          `}
          <${FormErrors} messages=${errors.form} />
        </form>
      </div>
    <//>
  `;
}

// ReviewError shows, on the review, the error of a field of an earlier step
// (about names what it is about, when the row holds several).
function ReviewError({ name, errors, about }) {
  const e = errors.fields[name];
  if (!e) return null;
  return html`<p class="field-error" role="alert" data-error-for=${name}>${about ? `${about}: ${e}` : e}</p>`;
}

function ProductSelect({ name, label, hint, value, options, taken, error, onChange }) {
  return html`<${Field} name=${name} label=${label} hint=${hint} error=${error}>
    ${(id, d, invalid) => html`<select id=${id} name=${name} value=${value} aria-describedby=${d} aria-invalid=${invalid}
      onChange=${(e) => onChange(e.currentTarget.value)}>
      <option value="">Select a product</option>
      ${options.map((p) => html`<option value=${p.id} disabled=${p.id !== value && taken.includes(p.id)}>${p.displayName} (${count(p.availableLicenses)} available)</option>`)}
    </select>`}
  <//>`;
}

function offSummary(picked, disabled) {
  const parts = picked
    .map((p) => {
      const off = p.servicePlans.filter((s) => disabled[p.id] && disabled[p.id].has(s.id)).map((s) => s.displayName);
      return off.length ? `${p.displayName}: ${off.join(", ")}` : "";
    })
    .filter(Boolean);
  return parts.length ? html`<ul class="plain">${parts.map((x) => html`<li>${x}</li>`)}</ul>` : "None: every app and service is included.";
}
