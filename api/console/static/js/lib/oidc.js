// "Sign in with your organization": the OpenID Connect authorization-code
// flow with PKCE (RFC 7636, S256), run by the page as a public client (no
// secret). The provider, the client id, the scopes and the API's audience
// come from the server (config.js).
//
//   1. beginSignIn reads the provider's discovery document, keeps a fresh
//      code verifier, state and nonce in this tab's sessionStorage, and
//      sends the browser to the provider's authorization endpoint.
//   2. The provider sends the browser back to the console with ?code&state.
//      takeAuthorizationResponse (boot.js, before anything else) takes them
//      out of the address bar at once and forgets the pending sign-in: a
//      code and state are good for one try.
//   3. finishSignIn checks the state, exchanges the code with the verifier
//      at the token endpoint, checks the ID token's issuer, audience and
//      nonce, and keeps the token the API accepts: the access token when it
//      is a JWT of the issuer for the API's audience, else the ID token.
//      The server checks the token's signature whenever it is used.
import { oidc } from "./config.js";
import { setToken, claims } from "./session.js";

const PENDING = "autoclaim.signin";
let failure = "";

// failureMessage says why the last sign-in with the organization failed ("" if it didn't).
export const failureMessage = () => failure;

const base64URL = (bytes) => btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

function random(n) {
  return base64URL(crypto.getRandomValues(new Uint8Array(n)));
}

async function challengeOf(verifier) {
  return base64URL(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))));
}

const originOf = (u) => new URL(u).origin;

// discover reads the provider's discovery document. Its token endpoint must
// be on the issuer's origin: the page's Content-Security-Policy lets it call
// no other.
async function discover() {
  const url = oidc.issuer.replace(/\/$/, "") + "/.well-known/openid-configuration";
  let doc;
  try {
    const res = await fetch(url, { credentials: "omit", cache: "no-store" });
    if (!res.ok) throw new Error(`it answered ${res.status}`);
    doc = await res.json();
  } catch (e) {
    throw new Error(`Your organization's sign-in (${oidc.issuer}) can't be reached: ${e.message}.`);
  }
  if (doc.issuer !== oidc.issuer) throw new Error(`The provider names itself ${doc.issuer}, not ${oidc.issuer}: check AUTOCLAIM_OIDC_ISSUER.`);
  if (!doc.authorization_endpoint || !doc.token_endpoint) throw new Error("The provider's discovery document names no authorization or token endpoint.");
  if (originOf(doc.token_endpoint) !== originOf(oidc.issuer)) {
    throw new Error(`The provider's token endpoint (${doc.token_endpoint}) is on another origin than its issuer; the console can only call the issuer's.`);
  }
  return doc;
}

// beginSignIn sends the browser to the provider. It resolves only when it
// fails (with the reason in failureMessage).
export async function beginSignIn() {
  failure = "";
  try {
    if (!crypto.subtle) throw new Error("Signing in with your organization needs the console on https (or on localhost).");
    const doc = await discover();
    const verifier = random(32); // 43 characters, as RFC 7636 asks at least
    const pending = {
      state: random(16),
      nonce: random(16),
      verifier,
      tokenEndpoint: doc.token_endpoint,
      redirectUri: location.origin + location.pathname,
      returnTo: location.hash,
    };
    sessionStorage.setItem(PENDING, JSON.stringify(pending));
    const u = new URL(doc.authorization_endpoint);
    const params = {
      response_type: "code",
      client_id: oidc.clientId,
      redirect_uri: pending.redirectUri,
      scope: oidc.scopes,
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await challengeOf(verifier),
      code_challenge_method: "S256",
    };
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    location.assign(u.href);
  } catch (e) {
    failure = e.message;
  }
}

// takeAuthorizationResponse takes the provider's answer (?code&state, or
// ?error&state) out of the address bar, and the pending sign-in out of
// sessionStorage. It returns { params, pending }, or null when the address
// holds no answer.
export function takeAuthorizationResponse() {
  const params = new URLSearchParams(location.search);
  if (!params.has("state") || !(params.has("code") || params.has("error"))) return null;
  let pending = null;
  try {
    pending = JSON.parse(sessionStorage.getItem(PENDING) || "null");
  } catch {
    pending = null;
  }
  sessionStorage.removeItem(PENDING);
  history.replaceState(history.state, "", location.pathname + ((pending && pending.returnTo) || ""));
  return { params, pending };
}

// finishSignIn completes a sign-in from the provider's answer: it keeps
// the token on success and the reason in failureMessage otherwise.
export async function finishSignIn({ params, pending }) {
  failure = "";
  try {
    setToken(await exchange(params, pending));
  } catch (e) {
    failure = e.message;
  }
}

const audiences = (c) => [].concat((c && c.aud) || []);

async function exchange(params, pending) {
  if (!oidc) throw new Error("This server doesn't sign in with an organization's accounts.");
  if (!pending) throw new Error("This tab didn't start a sign-in, or has used its answer already. Sign in again.");
  if (params.get("state") !== pending.state) {
    throw new Error("The answer doesn't belong to the sign-in this tab started (its state differs), so it was ignored. Sign in again.");
  }
  if (params.has("error")) {
    throw new Error(`Your organization's sign-in answered: ${params.get("error_description") || params.get("error")}.`);
  }
  if (originOf(pending.tokenEndpoint) !== originOf(oidc.issuer)) throw new Error("The token endpoint isn't the provider's.");
  let res;
  try {
    res = await fetch(pending.tokenEndpoint, {
      method: "POST",
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code: params.get("code"),
        redirect_uri: pending.redirectUri,
        client_id: oidc.clientId,
        code_verifier: pending.verifier,
      }),
      credentials: "omit",
      cache: "no-store",
    });
  } catch {
    throw new Error("Your organization's sign-in can't be reached to finish signing in.");
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    throw new Error(`Your organization's sign-in refused to finish: ${body.error_description || body.error || res.status}.`);
  }
  const id = claims(body.id_token || "");
  if (!id || id.iss !== oidc.issuer || !audiences(id).includes(oidc.clientId)) {
    throw new Error("The provider's ID token isn't from the issuer for this console.");
  }
  if (id.nonce !== pending.nonce) {
    throw new Error("The provider's ID token doesn't belong to this sign-in (its nonce differs), so it was ignored. Sign in again.");
  }
  const access = claims(body.access_token || "");
  if (access && access.iss === oidc.issuer && audiences(access).includes(oidc.audience)) return body.access_token;
  if (audiences(id).includes(oidc.audience)) return body.id_token;
  throw new Error(
    `Neither token the provider issued is for this API (audience ${oidc.audience}): the server's AUTOCLAIM_OIDC_AUDIENCE ` +
      "must be the console's client id, or AUTOCLAIM_OIDC_SCOPES must ask for a scope of the API."
  );
}
