// The server's settings for the page, from the JSON data block in index.html.
const el = document.getElementById("config");
const cfg = el ? JSON.parse(el.textContent || "{}") : {};

export const endpoint = new URL(cfg.endpoint || "/graphql", location.href);

// reportCSV is the report's CSV export (GET ?tenantId=…&days=…).
export const reportCSV = new URL(cfg.reportCSV || "/reports/autoclaim.csv", location.href);

// oidc is the OpenID provider to sign in with ({ issuer, clientId, audience,
// scopes }), or null when the server names none.
export const oidc = cfg.oidc && cfg.oidc.issuer && cfg.oidc.clientId ? cfg.oidc : null;

// websocketURL is the endpoint with ws: or wss:.
export function websocketURL() {
  const u = new URL(endpoint);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  return u.href;
}
