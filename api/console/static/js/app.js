// The console's shell: sign-in, the top bar with who is signed in, the
// navigation, and the screen of the current route.
import { html, render, useState, useEffect, useRef } from "./lib/preact.js";
import { gql } from "./lib/api.js";
import { ME, TENANT } from "./lib/queries.js";
import { token, onSessionChange, signOut, signOutReason, openedTenant, openTenant } from "./lib/session.js";
import { useRoute, href } from "./lib/router.js";
import { Session, readerRoles, editorRoles, deciderRoles } from "./lib/session-context.js";
import { label, roleNames } from "./lib/format.js";
import { Toasts, Loading, ErrorNotice, dismissToast } from "./components/ui.js";
import { SignIn } from "./screens/signin.js";
import { TenantPicker } from "./screens/tenant-picker.js";
import { screens } from "./screens/index.js";

export function start(el) {
  el.textContent = "";
  render(html`<${App} />`, el);
}

function App() {
  const [, setTick] = useState(0);
  useEffect(() => onSessionChange(() => setTick((n) => n + 1)), []);
  const t = token();
  if (!t) return html`<${SignIn} reason=${signOutReason()} /><${Toasts} />`;
  return html`<${SignedIn} key=${t} /><${Toasts} />`;
}

function SignedIn() {
  const [state, setState] = useState({ loading: true });
  const load = () =>
    gql(ME).then(
      (data) => setState({ data }),
      (error) => setState({ error })
    );
  useEffect(() => {
    load();
  }, []);
  if (state.loading) return html`<div class="center-page"><${Loading} label="Signing in…" /></div>`;
  if (state.error) return html`<${CantOpen} error=${state.error} retry=${load} />`;
  const { me, catalog } = state.data;
  const reader = me.tenantId && me.roles.some((r) => readerRoles.includes(r));
  const operator = me.roles.includes("OPERATOR");
  if (!reader && !operator) {
    return html`<div class="center-page"><div class="card card--narrow">
      <h1>This token can't open the admin center</h1>
      <p>The admin center is for a tenant's Global admins, License admins and Reports readers, and for operators. This token is
        <strong> ${me.subject}</strong> with the role${me.roles.length === 1 ? "" : "s"} ${me.roles.map((r) => label(roleNames, r)).join(", ") || "none"}.</p>
      <button type="button" class="btn btn--primary" onClick=${() => signOut()}>Sign in with another token</button>
    </div></div>`;
  }
  // Readers work in their own tenant; an operator in the one it opens.
  const tenantId = reader ? me.tenantId : openedTenant();
  if (!tenantId) return html`<${TenantPicker} me=${me} />`;
  return html`<${InTenant} key=${tenantId} tenantId=${tenantId} me=${me} catalog=${catalog} />`;
}

function CantOpen({ error, retry }) {
  return html`<div class="center-page"><div class="card card--narrow">
    <h1>Can't open the admin center</h1>
    <${ErrorNotice} error=${error} retry=${retry} />
    <button type="button" class="btn" onClick=${() => signOut()}>Sign out</button>
  </div></div>`;
}

// InTenant loads the tenant and shows its screens.
function InTenant({ tenantId, me, catalog }) {
  const [state, setState] = useState({ loading: true });
  const load = () =>
    gql(TENANT, { t: tenantId }).then(
      (data) => setState({ tenant: data.tenant }),
      (error) => setState({ error })
    );
  useEffect(() => {
    load();
  }, []);
  if (state.loading) return html`<div class="center-page"><${Loading} label="Opening the organization…" /></div>`;
  if (state.error) return html`<${CantOpen} error=${state.error} retry=${load} />`;
  const isOperator = me.roles.includes("OPERATOR");
  const session = {
    me,
    tenant: state.tenant,
    catalog,
    canEdit: me.tenantId === tenantId && me.roles.some((r) => editorRoles.includes(r)),
    canDecide: me.tenantId === tenantId && me.roles.some((r) => deciderRoles.includes(r)),
    isOperator,
  };
  return html`<${Session.Provider} value=${session}><${Shell} session=${session} /><//>`;
}

function Shell({ session }) {
  const route = useRoute();
  const mainRef = useRef(null);
  const first = useRef(true);
  const visible = screens.filter((s) => !s.roles || session.me.roles.some((r) => s.roles.includes(r)));
  const screen = visible.find((s) => s.id === route.parts[0]) || visible[0];
  const { me, tenant } = session;
  const who = (me.user && me.user.displayName) || me.subject;
  useEffect(() => {
    document.title = `${screen.label} · ${tenant.name} · autoclaim admin center`;
    if (first.current) {
      first.current = false;
      return;
    }
    // A toast tells of a change on the screen it was made on.
    dismissToast();
    const h1 = mainRef.current && mainRef.current.querySelector("h1");
    if (h1) h1.focus();
  }, [screen.id]);
  const Screen = screen.component;
  return html`
    <div class="shell">
      <button type="button" class="skip-link" onClick=${() => mainRef.current.querySelector("h1").focus()}>Skip to content</button>
      <header class="topbar">
        <a class="brand" href=${href(visible[0].id)}>
          <img src="favicon.svg" alt="" width="24" height="24" />
          <span>autoclaim <span class="brand-sub">admin center</span></span>
        </a>
        <div class="topbar-tenant" title="Organization">${tenant.name}</div>
        <div class="topbar-user">
          <span class="who" data-signed-in-as=${me.subject}>
            <span class="who-name">${who}</span>
            <span class="who-role">${me.roles.map((r) => label(roleNames, r)).join(", ")}</span>
          </span>
          ${session.isOperator && !me.tenantId && html`<button type="button" class="btn btn--ghost-inverse" data-switch-tenant
            onClick=${() => openTenant("")}>Switch tenant</button>`}
          <button type="button" class="btn btn--ghost-inverse" data-sign-out onClick=${() => signOut()}>Sign out</button>
        </div>
      </header>
      <div class="layout">
        <nav class="sidenav" aria-label="Admin center">
          <ul>
            ${visible.map(
              (s) => html`<li><a href=${href(s.id)} class=${s.id === screen.id ? "active" : ""}
                aria-current=${s.id === screen.id ? "page" : undefined} data-nav=${s.id}>${s.label}${s.badge && html`<${s.badge} screen=${screen.id} />`}</a></li>`
            )}
          </ul>
        </nav>
        <main id="main" ref=${mainRef}>
          <${Screen} route=${route} />
        </main>
      </div>
    </div>
  `;
}
