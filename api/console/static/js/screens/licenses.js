// Licenses: the products your organization bought (total, assigned,
// available, running low; buy licenses of another catalog product; set the
// quantity and the low-license alert), and
// users with their licenses (add a user; assign a license directly, or
// remove one).
import { html, useState } from "../lib/preact.js";
import { gql, placeErrors } from "../lib/api.js";
import { PRODUCTS, SET_QUANTITY, SET_THRESHOLD, USERS, ASSIGN, UNASSIGN, ADD_PRODUCT, CREATE_USER } from "../lib/queries.js";
import { useQuery, useForm } from "../lib/hooks.js";
import { useSession } from "../lib/session-context.js";
import { count, formatDateTime } from "../lib/format.js";
import { Loading, ErrorNotice, Empty, Field, FormErrors, Badge, Icon, announce, useFocusWhen } from "../components/ui.js";

const PAGE = 20;

export function LicensesScreen() {
  // The users' license choices follow the products: a change of these
  // reloads them.
  const [rev, setRev] = useState(0);
  return html`
    <div class="page">
      <header class="page-header">
        <div>
          <p class="eyebrow">Billing</p>
          <h1 tabindex="-1">Licenses</h1>
          <p class="page-lead">The licenses your organization has, and who holds them.</p>
        </div>
      </header>
      <${Products} onChanged=${() => setRev(rev + 1)} />
      <${Users} key=${rev} />
    </div>
  `;
}

function Products({ onChanged }) {
  const { tenant, canEdit, catalog } = useSession();
  const q = useQuery(PRODUCTS, { t: tenant.id });
  const products = q.data ? q.data.tenant.products : null;
  const [buying, setBuying] = useState(false);
  // A tenant holds one pool per catalog product: the others can be bought.
  const owned = new Set((products || []).map((p) => p.skuPartNumber));
  const buyable = catalog.products.filter((p) => !owned.has(p.skuPartNumber));
  return html`
    <section class="card" aria-labelledby="products-h">
      <div class="toolbar">
        <h2 class="card-title" id="products-h">Products</h2>
        ${canEdit && products && html`<div class="toolbar-actions">
          <button type="button" class="btn" data-buy disabled=${buying || buyable.length === 0} aria-describedby=${buyable.length === 0 ? "buy-note" : undefined}
            onClick=${() => setBuying(true)}><${Icon} name="plus" />Buy licenses</button>
        </div>`}
      </div>
      ${canEdit && products && buyable.length === 0 && html`<p class="hint" id="buy-note">Your organization has a pool of every product in the catalog; set a product's quantity to buy more.</p>`}
      ${buying && html`<${BuyForm} products=${buyable} onDone=${(bought) => {
        setBuying(false);
        if (bought) {
          q.reload();
          onChanged();
        }
      }} />`}
      ${q.error && html`<${ErrorNotice} error=${q.error} retry=${q.reload} />`}
      ${!products && !q.error && html`<${Loading} />`}
      ${products && products.length === 0 && html`<${Empty} title="No products yet"><p>Your organization hasn't bought licenses of any product.</p><//>`}
      ${products && products.length > 0 && html`
        <div class="table-wrap">
          <table class="table table--cards" data-products>
            <thead><tr><th scope="col">Product</th><th scope="col" class="num">Total</th><th scope="col" class="num">Assigned</th>
              <th scope="col" class="num">Available</th><th scope="col" class="num" title="Low-license alert: the product runs low at this many available">Alert at</th>
              ${canEdit && html`<th scope="col"><span class="sr-only">Actions</span></th>`}</tr></thead>
            <tbody>${products.map((p) => html`<${ProductRow} key=${p.id} p=${p} canEdit=${canEdit} onChanged=${() => {
              q.reload();
              onChanged();
            }} />`)}</tbody>
          </table>
        </div>`}
    </section>
  `;
}

const buyFields = { "input.skuPartNumber": "sku", "input.quantity": "quantity" };

// BuyForm buys a pool of licenses of a catalog product the tenant lacks.
function BuyForm({ products, onDone }) {
  const { tenant } = useSession();
  const [sku, setSku] = useState(products[0].skuPartNumber);
  const [quantity, setQuantity] = useState("");
  const ref = useFocusWhen(true);
  const form = useForm({
    check: () => {
      const n = Number(quantity);
      return quantity.trim() !== "" && Number.isInteger(n) && n >= 0 ? {} : { quantity: "Enter a whole number of licenses, 0 or more." };
    },
    run: async () => {
      const d = await gql(ADD_PRODUCT, { in: { tenantId: tenant.id, skuPartNumber: sku, quantity: Number(quantity) } });
      announce(`Bought ${count(d.addProduct.totalLicenses)} licenses of ${d.addProduct.displayName}.`);
      onDone(true);
    },
    fieldFor: (path) => buyFields[path],
  });
  return html`<form class="inline-form" onSubmit=${form.submit} novalidate data-form="buy">
    <h3 class="sub-title">Buy licenses of a product</h3>
    <div class="inline-form-fields">
      <${Field} name="sku" label="Product" error=${form.errors.fields.sku}>
        ${(id, d, invalid) => html`<select id=${id} value=${sku} ref=${ref} aria-describedby=${d} aria-invalid=${invalid} onChange=${(e) => setSku(e.currentTarget.value)}>
          ${products.map((p) => html`<option value=${p.skuPartNumber}>${p.displayName}</option>`)}
        </select>`}
      <//>
      <${Field} name="quantity" label="Licenses" error=${form.errors.fields.quantity}>
        ${(id, d, invalid) => html`<input id=${id} type="number" min="0" step="1" inputmode="numeric" value=${quantity}
          aria-describedby=${d} aria-invalid=${invalid} onInput=${(e) => setQuantity(e.currentTarget.value)} />`}
      <//>
    </div>
    <${FormErrors} messages=${form.errors.form} />
    <div class="button-row">
      <button type="submit" class="btn btn--primary btn--small" disabled=${form.busy}>Buy</button>
      <button type="button" class="btn btn--small" onClick=${() => onDone(false)}>Cancel</button>
    </div>
  </form>`;
}

// ProductRow is a product with its counts and low-license alert; a Global
// admin sets its quantity or its alert in a form that opens in a row of its
// own under the product's.
function ProductRow({ p, canEdit, onChanged }) {
  const [editing, setEditing] = useState(""); // "", "quantity" or "threshold"
  const empty = p.totalLicenses > 0 && p.availableLicenses === 0;
  const low = p.lowLicenseThreshold > 0 && p.availableLicenses <= p.lowLicenseThreshold;
  const done = (changed) => {
    const which = editing;
    setEditing("");
    if (changed) onChanged();
    // Back to the button that opened the form.
    requestAnimationFrame(() => {
      const b = document.querySelector(`tr[data-product-id="${CSS.escape(p.id)}"] [data-set="${which}"]`);
      if (b) b.focus();
    });
  };
  return html`<tr data-product-id=${p.id} data-running-low=${low ? "true" : undefined} class=${editing ? "is-editing" : ""}>
      <th scope="row" data-label="Product"><span class="cell-main">${p.displayName}</span><span class="cell-sub">${p.skuPartNumber}</span></th>
      <td class="num" data-label="Total" data-total>${count(p.totalLicenses)}</td>
      <td class="num" data-label="Assigned">${count(p.assignedLicenses)}</td>
      <td class="num" data-label="Available"><span class="badges">${empty ? html`<${Badge} tone="warning">None left<//>` : count(p.availableLicenses)}
        ${low && html`<${Badge} tone="danger"><span data-low-badge>Running low</span><//>`}</span></td>
      <td class="num" data-label="Alert at" data-threshold=${p.lowLicenseThreshold}>${p.lowLicenseThreshold > 0 ? count(p.lowLicenseThreshold) : html`<span class="hint-inline">Off</span>`}</td>
      ${canEdit && html`<td class="actions-cell">
        <span class="button-row">
          <button type="button" class="btn btn--small" data-set="quantity" disabled=${!!editing} onClick=${() => setEditing("quantity")}>Set quantity<span class="sr-only"> of ${p.displayName}</span></button>
          <button type="button" class="btn btn--small" data-set="threshold" disabled=${!!editing} onClick=${() => setEditing("threshold")}>Set alert<span class="sr-only"> for ${p.displayName}</span></button>
        </span>
      </td>`}
    </tr>
    ${editing && html`<tr class="edit-row" data-product-id=${p.id}>
      <td colspan="6">
        ${editing === "quantity" ? html`<${QuantityForm} p=${p} onDone=${done} />` : html`<${ThresholdForm} p=${p} onDone=${done} />`}
      </td>
    </tr>`}`;
}

// NumberForm sets one whole number of a product: its one field shows the
// page's check and the server's errors.
function NumberForm({ name, label, hint, start, check, save, onDone }) {
  const [value, setValue] = useState(String(start));
  const inputRef = useFocusWhen(true);
  const form = useForm({
    check: () => {
      const n = Number(value);
      return value.trim() !== "" && Number.isInteger(n) && n >= 0 ? {} : { [name]: check };
    },
    run: async () => {
      await save(Number(value));
      onDone(true);
    },
    fieldFor: (f) => (f === name ? name : undefined),
    single: name,
  });
  return html`<form class="quantity-form" onSubmit=${form.submit} novalidate data-form=${name}>
    <${Field} name=${name} label=${label} error=${form.errors.fields[name]} hint=${hint}>
      ${(id, d, invalid) => html`<input id=${id} type="number" min="0" step="1" inputmode="numeric" value=${value} ref=${inputRef}
        aria-describedby=${d} aria-invalid=${invalid} onInput=${(e) => {
          setValue(e.currentTarget.value);
          form.reset();
        }} />`}
    <//>
    <${FormErrors} messages=${form.errors.form} />
    <div class="button-row">
      <button type="submit" class="btn btn--primary btn--small" disabled=${form.busy}>Save</button>
      <button type="button" class="btn btn--small" onClick=${() => onDone(false)}>Cancel</button>
    </div>
  </form>`;
}

function QuantityForm({ p, onDone }) {
  return html`<${NumberForm} name="quantity" label=${`Licenses of ${p.displayName}`} start=${p.totalLicenses}
    hint=${`At least ${count(p.assignedLicenses)}: the licenses assigned now.`} check="Enter a whole number of licenses, 0 or more."
    save=${async (n) => {
      await gql(SET_QUANTITY, { x: p.id, n });
      announce(`${p.displayName} now has ${count(n)} licenses.`);
    }} onDone=${onDone} />`;
}

function ThresholdForm({ p, onDone }) {
  return html`<${NumberForm} name="threshold" label=${`Alert when ${p.displayName} has this many licenses available, or fewer`}
    start=${p.lowLicenseThreshold} check="Enter a whole number of licenses, 0 or more (0 turns the alert off)."
    hint="0 turns the alert off. When the available licenses fall to it, the Live page's admin changes show an alert, and the Auto-claim policy page lists the product as running low."
    save=${async (n) => {
      const d = await gql(SET_THRESHOLD, { x: p.id, n });
      const q = d.setLowLicenseThreshold;
      announce(n === 0 ? `The alert for ${p.displayName} is off.`
        : `The alert for ${p.displayName} is at ${count(n)} available.${q.availableLicenses <= n ? ` It is running low now: ${count(q.availableLicenses)} available.` : ""}`);
    }} onDone=${onDone} />`;
}

function Users() {
  const { tenant, canEdit } = useSession();
  const [cursors, setCursors] = useState([null]);
  const [adding, setAdding] = useState(false);
  const q = useQuery(USERS, { t: tenant.id, first: PAGE, after: cursors[cursors.length - 1] });
  const conn = q.data && q.data.tenant.users;
  const n = cursors.length - 1;
  return html`
    <section class="card" aria-labelledby="users-h">
      <div class="toolbar">
        <h2 class="card-title" id="users-h">Users ${conn && html`<span class="count">${count(conn.totalCount)}</span>`}</h2>
        ${canEdit && html`<div class="toolbar-actions">
          <button type="button" class="btn" data-add-user disabled=${adding} onClick=${() => setAdding(true)}><${Icon} name="plus" />Add a user</button>
        </div>`}
      </div>
      ${adding && html`<${UserForm} onDone=${(added) => {
        setAdding(false);
        if (added) q.reload();
      }} />`}
      ${q.error && html`<${ErrorNotice} error=${q.error} retry=${q.reload} />`}
      ${!conn && !q.error && html`<${Loading} />`}
      ${conn && conn.nodes.length === 0 && html`<${Empty} title="No users yet"><p>Users are added when they first claim a license, or by an admin.</p><//>`}
      ${conn && conn.nodes.length > 0 && html`
        <ul class="user-list" data-users>
          ${conn.nodes.map((u) => html`<${UserRow} key=${u.id} u=${u} products=${q.data.tenant.products} canEdit=${canEdit} onChanged=${q.reload} />`)}
        </ul>
        <div class="pager">
          <span class="hint">${count(n * PAGE + 1)}–${count(n * PAGE + conn.nodes.length)} of ${count(conn.totalCount)}</span>
          <button type="button" class="btn btn--small" disabled=${n === 0 || q.loading} onClick=${() => setCursors(cursors.slice(0, -1))}>Previous</button>
          <button type="button" class="btn btn--small" disabled=${!conn.pageInfo.hasNextPage || q.loading}
            onClick=${() => setCursors([...cursors, conn.pageInfo.endCursor])}>Next</button>
        </div>`}
    </section>
  `;
}

const userFields = { "input.displayName": "displayName", "input.userPrincipalName": "upn", "input.id": "id" };

// UserForm adds a user to the directory (users are also added when they
// first claim a license).
function UserForm({ onDone }) {
  const { tenant } = useSession();
  const [u, setU] = useState({ displayName: "", upn: "", id: "" });
  const set = (k) => (e) => setU({ ...u, [k]: e.currentTarget.value });
  const ref = useFocusWhen(true);
  const form = useForm({
    check: () => {
      const f = {};
      if (!u.displayName.trim()) f.displayName = "Enter the user's name.";
      if (!/^[^@\s]+@[^@\s]+$/.test(u.upn.trim())) f.upn = "Enter the user's sign-in name, as name@domain.";
      return f;
    },
    run: async () => {
      const input = { tenantId: tenant.id, displayName: u.displayName.trim(), userPrincipalName: u.upn.trim() };
      if (u.id.trim()) input.id = u.id.trim();
      const d = await gql(CREATE_USER, { in: input });
      announce(`${d.createUser.displayName} added.`);
      onDone(true);
    },
    fieldFor: (path) => userFields[path],
  });
  return html`<form class="inline-form" onSubmit=${form.submit} novalidate data-form="add-user">
    <h3 class="sub-title">Add a user</h3>
    <div class="inline-form-fields">
      <${Field} name="displayName" label="Name" error=${form.errors.fields.displayName}>
        ${(id, d, invalid) => html`<input id=${id} type="text" ref=${ref} autocomplete="off" value=${u.displayName}
          aria-describedby=${d} aria-invalid=${invalid} onInput=${set("displayName")} />`}
      <//>
      <${Field} name="upn" label="Sign-in name" hint="name@domain" error=${form.errors.fields.upn}>
        ${(id, d, invalid) => html`<input id=${id} type="email" autocomplete="off" spellcheck="false" value=${u.upn}
          aria-describedby=${d} aria-invalid=${invalid} onInput=${set("upn")} />`}
      <//>
      <${Field} name="id" label="User id (optional)" hint="The identity provider's object id; a new one when empty." error=${form.errors.fields.id}>
        ${(id, d, invalid) => html`<input id=${id} type="text" autocomplete="off" spellcheck="false" value=${u.id}
          aria-describedby=${d} aria-invalid=${invalid} onInput=${set("id")} />`}
      <//>
    </div>
    <${FormErrors} messages=${form.errors.form} />
    <div class="button-row">
      <button type="submit" class="btn btn--primary btn--small" disabled=${form.busy}>Add user</button>
      <button type="button" class="btn btn--small" onClick=${() => onDone(false)}>Cancel</button>
    </div>
  </form>`;
}

function UserRow({ u, products, canEdit, onChanged }) {
  const held = new Set(u.licenses.map((l) => l.product.id));
  const free = products.filter((p) => !held.has(p.id));
  const [pick, setPick] = useState("");
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState({ fields: {}, form: [] });
  // place puts an error of assigning at the product to assign; one of
  // removing a license is about the row.
  const run = async (query, vars, message, place) => {
    setBusy(true);
    setErrors({ fields: {}, form: [] });
    try {
      await gql(query, vars);
      announce(message);
      setPick("");
      onChanged();
    } catch (err) {
      setErrors(place(err));
    } finally {
      setBusy(false);
    }
  };
  const atProduct = (err) => placeErrors(err, { fieldFor: (f) => (f === "input.productId" ? "product" : undefined), single: "product" });
  return html`<li class="user-row" data-user-id=${u.id}>
    <div class="user-id">
      <span class="avatar" aria-hidden="true">${initials(u.displayName)}</span>
      <div><span class="cell-main">${u.displayName}</span><span class="cell-sub">${u.userPrincipalName}</span></div>
    </div>
    <div class="user-licenses">
      ${u.licenses.length === 0 && html`<span class="hint">No licenses</span>`}
      <ul class="chips">
        ${u.licenses.map(
          (l) => html`<li class="chip" data-license=${l.product.id} title=${`Assigned ${formatDateTime(l.assignedAt)}`}>
            <span class="chip-text">
              <span class="chip-name">${l.product.displayName}</span>
              <span class="chip-sub">${l.source === "AUTO_CLAIM" ? (l.policy ? `Auto-claim · ${l.policy.name}` : "Auto-claim") : "Assigned directly"}</span>
            </span>
            ${canEdit && html`<button type="button" class="chip-remove" disabled=${busy}
              aria-label=${`Remove ${l.product.displayName} from ${u.displayName}`} title="Remove license"
              onClick=${() => run(UNASSIGN, { u: u.id, x: l.product.id }, `${l.product.displayName} removed from ${u.displayName}; it's back in the pool.`, placeErrors)}>×</button>`}
          </li>`
        )}
      </ul>
    </div>
    ${canEdit && free.length > 0 && html`<form class="assign-form" novalidate data-form="assign" onSubmit=${(e) => {
      e.preventDefault();
      const x = pick || (free.find((f) => f.availableLicenses > 0) || free[0]).id;
      const p = free.find((f) => f.id === x);
      run(ASSIGN, { in: { userId: u.id, productId: x } }, `${p.displayName} assigned to ${u.displayName}.`, atProduct);
    }}>
      <${Field} name="product" label=${`Assign a license to ${u.displayName}`} className="field--sr-label" error=${errors.fields.product}>
        ${(id, d, invalid) => html`<select id=${id} value=${pick || (free.find((f) => f.availableLicenses > 0) || free[0]).id} aria-describedby=${d} aria-invalid=${invalid}
          onChange=${(e) => setPick(e.currentTarget.value)}>
          ${free.map((p) => html`<option value=${p.id} disabled=${p.availableLicenses === 0}>${p.displayName}${p.availableLicenses === 0 ? " (none left)" : ""}</option>`)}
        </select>`}
      <//>
      <button type="submit" class="btn btn--small" disabled=${busy}><${Icon} name="plus" />Assign</button>
      <${FormErrors} messages=${errors.form} />
    </form>`}
    ${canEdit && free.length === 0 && errors.form.length > 0 && html`<${FormErrors} messages=${errors.form} />`}
  </li>`;
}

function initials(name) {
  const parts = name.trim().split(/\s+/);
  return ((parts[0] || "")[0] || "").toUpperCase() + ((parts.length > 1 ? parts[parts.length - 1][0] : "") || "").toUpperCase();
}
