// The signed-in session: a bearer token kept in sessionStorage (one browser
// tab; gone when the tab closes), never in localStorage or a cookie.

const KEY = "autoclaim.token";
const TENANT = "autoclaim.tenant"; // the tenant an operator opened
const listeners = new Set();
let endedBecause = "";

// adoptTokenFromFragment takes a token from /#token=<jwt>, stores it and
// removes the fragment from the address bar with history.replaceState.
export function adoptTokenFromFragment() {
  const m = /^#token=([^&]*)/.exec(location.hash);
  if (!m) return;
  history.replaceState(history.state, "", location.pathname + location.search);
  const token = decodeURIComponent(m[1]).trim();
  if (token) setToken(token);
}

export function token() {
  try {
    return sessionStorage.getItem(KEY) || "";
  } catch {
    return "";
  }
}

export function setToken(t) {
  endedBecause = "";
  sessionStorage.setItem(KEY, t);
  listeners.forEach((f) => f());
}

// signOut forgets the token; why, when set, is shown on the sign-in page.
export function signOut(why = "") {
  endedBecause = why;
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(TENANT);
  listeners.forEach((f) => f());
}

// openedTenant is the id of the tenant an operator opened ("" for none);
// openTenant opens one ("" to choose another).
export function openedTenant() {
  try {
    return sessionStorage.getItem(TENANT) || "";
  } catch {
    return "";
  }
}

export function openTenant(id) {
  if (id) sessionStorage.setItem(TENANT, id);
  else sessionStorage.removeItem(TENANT);
  listeners.forEach((f) => f());
}

export function signOutReason() {
  return endedBecause;
}

export function onSessionChange(f) {
  listeners.add(f);
  return () => listeners.delete(f);
}

// claims decodes the token's payload (no verification: the server does that);
// null when it isn't a JWT.
export function claims(t = token()) {
  const part = t.split(".")[1];
  if (!part) return null;
  try {
    const bytes = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(bytes, (c) => c.charCodeAt(0))));
  } catch {
    return null;
  }
}
