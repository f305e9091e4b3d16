// Sign-in: with the organization's account when the server names an OpenID
// provider (lib/oidc.js), or by pasting a bearer token. (Opening
// /#token=<jwt> signs in without this page; see boot.js.)
import { html, useState } from "../lib/preact.js";
import { endpoint, oidc } from "../lib/config.js";
import { setToken, claims } from "../lib/session.js";
import { beginSignIn, failureMessage } from "../lib/oidc.js";
import { Field, FormErrors, Notice } from "../components/ui.js";

export function SignIn({ reason }) {
  const [value, setValue] = useState("");
  const [errors, setErrors] = useState({ fields: {}, form: [] });
  const [busy, setBusy] = useState(false);
  const [leaving, setLeaving] = useState(false);
  const [orgError, setOrgError] = useState(failureMessage);
  const withOrganization = async () => {
    setLeaving(true);
    setOrgError("");
    await beginSignIn(); // resolves only when it could not leave for the provider
    setOrgError(failureMessage());
    setLeaving(false);
  };
  const submit = async (e) => {
    e.preventDefault();
    const t = value.trim().replace(/^Bearer\s+/i, "");
    if (!t) return setErrors({ fields: { token: "Paste a token to sign in." }, form: [] });
    if (!claims(t)) return setErrors({ fields: { token: "That isn't a token: a token has three parts separated by dots." }, form: [] });
    setBusy(true);
    const res = await fetchMe(t);
    setBusy(false);
    if (res.errors && res.errors.length) {
      // The form has one field: the server's answer belongs to it.
      return setErrors({ fields: { token: res.errors.map((x) => x.message).join(" ") }, form: [] });
    }
    setToken(t);
  };
  return html`
    <div class="signin">
      <div class="signin-card">
        <div class="signin-brand"><img src="favicon.svg" alt="" width="32" height="32" /> autoclaim</div>
        <h1>Sign in to the admin center</h1>
        <p class="lead">Manage auto-claim policies, licenses and reports for your organization.</p>
        ${reason && html`<${Notice} tone="warning" title="You were signed out">${reason}<//>`}
        ${orgError && html`<div data-sign-in-error><${Notice} tone="error" title="You're not signed in">${orgError}<//></div>`}
        ${oidc && html`
          <button type="button" class="btn btn--primary btn--block btn--large" data-sign-in-org disabled=${leaving} onClick=${withOrganization}>
            ${leaving ? "Going to your organization's sign-in…" : "Sign in with your organization"}
          </button>
          <p class="divider"><span>or use a token</span></p>`}
        <form onSubmit=${submit} novalidate>
          <${Field} name="token" label="Access token" error=${errors.fields.token}
            hint="Paste a bearer token (a JWT), or open the sign-in link the server prints at start.">
            ${(id, describedBy, invalid) => html`<textarea id=${id} rows="4" spellcheck="false" autocomplete="off"
              aria-describedby=${describedBy} aria-invalid=${invalid} value=${value}
              onInput=${(e) => setValue(e.currentTarget.value)}></textarea>`}
          <//>
          <${FormErrors} messages=${errors.form} />
          <button type="submit" class=${"btn btn--block" + (oidc ? "" : " btn--primary")} disabled=${busy}>${busy ? "Signing in…" : oidc ? "Sign in with the token" : "Sign in"}</button>
        </form>
        <p class="fineprint">The token stays in this browser tab only and is forgotten when you sign out or close the tab.</p>
      </div>
    </div>
  `;
}

// fetchMe asks the server who a token is, without keeping it.
async function fetchMe(t) {
  const res = await fetch(endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json", Authorization: "Bearer " + t },
    body: JSON.stringify({ query: "{ me { subject } }" }),
  }).catch(() => null);
  if (!res) return { errors: [{ message: "The server can't be reached." }] };
  return res.json().catch(() => ({ errors: [{ message: `The server answered ${res.status}.` }] }));
}
