// An operator's first screen. Operators run the service and belong to no
// tenant: they open one by its id (to read its screens and set its policy
// limit), or create one with its first Global admin.
import { html, useState } from "../lib/preact.js";
import { gql } from "../lib/api.js";
import { TENANT, CREATE_TENANT } from "../lib/queries.js";
import { useForm } from "../lib/hooks.js";
import { signOut, openTenant } from "../lib/session.js";
import { Field, FormErrors, announce } from "../components/ui.js";

const createFields = { "input.name": "name", "input.id": "id", "input.adminDisplayName": "adminName", "input.adminUserPrincipalName": "adminUpn" };

export function TenantPicker({ me }) {
  const [id, setId] = useState("");
  const open = useForm({
    check: () => (id.trim() ? {} : { tenant: "Enter the id of the tenant to open." }),
    run: async () => {
      await gql(TENANT, { t: id.trim() });
      openTenant(id.trim());
    },
    // The form asks one thing: whatever the server says is about it.
    place: (err) => ({ fields: { tenant: err.message }, form: [] }),
  });
  const [t, setT] = useState({ name: "", id: "", adminName: "", adminUpn: "" });
  const set = (k) => (e) => setT({ ...t, [k]: e.currentTarget.value });
  const create = useForm({
    check: () => {
      const f = {};
      if (!t.name.trim()) f.name = "Enter the organization's name.";
      if (!t.adminName.trim()) f.adminName = "Enter the name of the tenant's first Global admin.";
      if (!/^[^@\s]+@[^@\s]+$/.test(t.adminUpn.trim())) f.adminUpn = "Enter the admin's sign-in name, as name@domain.";
      return f;
    },
    run: async () => {
      const input = { name: t.name.trim(), adminDisplayName: t.adminName.trim(), adminUserPrincipalName: t.adminUpn.trim() };
      if (t.id.trim()) input.id = t.id.trim();
      const d = await gql(CREATE_TENANT, { in: input });
      announce(`${d.createTenant.tenant.name} created, with ${input.adminDisplayName} as its Global admin.`);
      openTenant(d.createTenant.tenant.id);
    },
    fieldFor: (path) => createFields[path],
  });
  return html`
    <div class="center-page"><div class="card card--narrow picker" data-tenant-picker>
      <h1 tabindex="-1">Open a tenant</h1>
      <p>You're signed in as <strong>${me.subject}</strong>, an operator. Open a tenant to read its policies, licenses,
        reports and audit log, and to set how many policies it may have.</p>
      <form onSubmit=${open.submit} novalidate data-form="open-tenant" class="picker-open">
        <${Field} name="tenant" label="Tenant id" error=${open.errors.fields.tenant} hint="For example contoso.">
          ${(fid, d, invalid) => html`<input id=${fid} type="text" name="tenant" autocomplete="off" spellcheck="false" value=${id}
            aria-describedby=${d} aria-invalid=${invalid} onInput=${(e) => setId(e.currentTarget.value)} />`}
        <//>
        <${FormErrors} messages=${open.errors.form} />
        <button type="submit" class="btn btn--primary" disabled=${open.busy}>Open</button>
      </form>
      <details class="picker-create">
        <summary>Create a tenant</summary>
        <form onSubmit=${create.submit} novalidate data-form="create-tenant">
          <${Field} name="name" label="Organization name" error=${create.errors.fields.name}>
            ${(fid, d, invalid) => html`<input id=${fid} type="text" name="name" value=${t.name} aria-describedby=${d} aria-invalid=${invalid} onInput=${set("name")} />`}
          <//>
          <${Field} name="id" label="Tenant id (optional)" error=${create.errors.fields.id} hint="2 to 40 characters of a-z, 0-9 and -; a random one when empty.">
            ${(fid, d, invalid) => html`<input id=${fid} type="text" name="id" spellcheck="false" value=${t.id} aria-describedby=${d} aria-invalid=${invalid} onInput=${set("id")} />`}
          <//>
          <${Field} name="adminName" label="First Global admin's name" error=${create.errors.fields.adminName}>
            ${(fid, d, invalid) => html`<input id=${fid} type="text" name="adminName" value=${t.adminName} aria-describedby=${d} aria-invalid=${invalid} onInput=${set("adminName")} />`}
          <//>
          <${Field} name="adminUpn" label="First Global admin's sign-in name" error=${create.errors.fields.adminUpn} hint="name@domain">
            ${(fid, d, invalid) => html`<input id=${fid} type="email" name="adminUpn" spellcheck="false" value=${t.adminUpn} aria-describedby=${d} aria-invalid=${invalid} onInput=${set("adminUpn")} />`}
          <//>
          <${FormErrors} messages=${create.errors.form} />
          <button type="submit" class="btn" disabled=${create.busy}>Create tenant</button>
        </form>
      </details>
      <button type="button" class="btn btn--link" data-sign-out onClick=${() => signOut()}>Sign out</button>
    </div></div>
  `;
}
