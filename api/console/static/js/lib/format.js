// Words for the API's enums and numbers, as an admin reads them.

export const triggerNames = {
  SIGN_IN: "Signed in",
  LICENSE_REQUEST: "Requested a license",
  LAUNCH_PREMIUM_APP: "Launched a premium app",
  LAUNCH_MANAGED_ENVIRONMENT_APP: "Launched an app in a managed environment",
  TRIGGER_PREMIUM_FLOW: "Triggered a premium cloud flow",
  SAVE_PREMIUM_FLOW: "Saved a premium cloud flow",
  TURN_ON_PREMIUM_FLOW: "Turned on a premium cloud flow",
  TRIGGER_PREMIUM_FLOW_ATTENDED_RPA: "Triggered a premium cloud flow with attended RPA",
  SAVE_PREMIUM_FLOW_ATTENDED_RPA: "Saved a premium cloud flow with attended RPA",
  TURN_ON_PREMIUM_FLOW_ATTENDED_RPA: "Turned on a premium cloud flow with attended RPA",
  WAITLIST: "Got a license after waiting",
};

export const outcomeNames = {
  CLAIMED: "Claimed",
  ALREADY_LICENSED: "Already licensed",
  DENIED: "Denied",
  QUEUED: "Waitlisted",
  PENDING_APPROVAL: "Waiting for approval",
};

export const requestStatusNames = {
  PENDING: "Pending",
  APPROVED: "Approved",
  DENIED: "Denied",
  EXPIRED: "Expired",
};

export const reasonNames = {
  AUTO_CLAIM_DISABLED: "Auto-claim is turned off",
  NO_POLICY: "No policy for the app",
  POLICY_DISABLED: "The policy is off",
  TRIGGER_NOT_ELIGIBLE: "No product covers the action",
  NO_LICENSES_AVAILABLE: "Out of licenses",
};

// approvalOutcome says what an approved license request led to:
// "Claimed Power Automate per user plan", "Denied: Out of licenses"…
export function approvalOutcome(r) {
  const product = r.license ? r.license.product.displayName : "a license";
  switch (r.outcome) {
    case "CLAIMED":
      return `Claimed ${product}`;
    case "ALREADY_LICENSED":
      return `Already licensed: ${product}`;
    case "QUEUED":
      return "Waitlisted: no license was free, the user waits for the next one";
    case "DENIED":
      return `Denied: ${label(reasonNames, r.reason)}`;
  }
  return "";
}

export const roleNames = {
  OPERATOR: "Operator",
  GLOBAL_ADMIN: "Global admin",
  LICENSE_ADMIN: "License admin",
  REPORTS_READER: "Reports reader",
  APP: "App",
  USER: "User",
};

export const label = (names, v) => names[v] || (v ? v.charAt(0) + v.slice(1).toLowerCase().replace(/_/g, " ") : "");

const num = new Intl.NumberFormat(undefined);
export const count = (n) => num.format(n || 0);

export const plural = (n, one, many) => `${count(n)} ${n === 1 ? one : many}`;

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const time = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const day = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", timeZone: "UTC" });
const longDay = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });

export const formatDateTime = (iso) => (iso ? dateTime.format(new Date(iso)) : "");
export const formatTime = (iso) => (iso ? time.format(new Date(iso)) : "");
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
// formatAgo says how many whole days ago a time was: "today", "yesterday", "10 days ago".
export const formatAgo = (iso) => relative.format(-Math.floor((Date.now() - new Date(iso).getTime()) / 86400000), "day");
// formatRelative says how far a time is from now, rounded in its largest
// unit: "5 minutes ago", "yesterday", "in 30 days"; "just now" within a minute.
export function formatRelative(iso, now = Date.now()) {
  const s = (new Date(iso).getTime() - now) / 1000;
  for (const [unit, n] of [["year", 31536000], ["month", 2592000], ["day", 86400], ["hour", 3600], ["minute", 60]]) {
    if (Math.abs(s) >= n) return relative.format(Math.round(s / n), unit);
  }
  return "just now";
}
// formatDay formats a report's YYYY-MM-DD (a UTC day).
export const formatDay = (ymd, long = false) => (long ? longDay : day).format(new Date(ymd + "T00:00:00Z"));

// The audit log's actions (the mutations' names), as an admin says them.
export const actionNames = {
  createTenant: "Created the organization",
  setTenantPolicyLimit: "Set the policy limit",
  setAutoClaimEnabled: "Turned auto-claim on or off",
  addProduct: "Bought licenses of a product",
  setLicenseQuantity: "Set a product's quantity",
  createUser: "Added a user",
  assignLicense: "Assigned a license",
  removeLicense: "Removed a license",
  createAutoClaimPolicy: "Created a policy",
  renameAutoClaimPolicy: "Renamed a policy",
  setAutoClaimPolicyEnabled: "Turned a policy on or off",
  addBackupProduct: "Added a backup product",
  removePolicyProduct: "Removed a product from a policy",
  movePolicyProduct: "Moved a product in a policy",
  setPolicyProductOrder: "Reordered a policy's products",
  setPolicyServicePlans: "Changed apps and services",
  deleteAutoClaimPolicy: "Deleted a policy",
  updateAutoClaimPolicySettings: "Changed a policy's settings",
  removeFromWaitlist: "Took a user off a waitlist",
  reclaimInactiveLicenses: "Reclaimed unused licenses",
  setLowLicenseThreshold: "Set a low-license alert",
  approveLicenseRequest: "Approved a license request",
  denyLicenseRequest: "Denied a license request",
};

// The fields an audit entry's changes name.
export const changeFieldNames = {
  name: "Name",
  app: "App",
  enabled: "Status",
  products: "Products, in order",
  autoClaimEnabled: "Auto-claim",
  policyLimit: "Policy limit",
  totalLicenses: "Licenses",
  skuPartNumber: "Product",
  userPrincipalName: "Sign-in name",
  displayName: "Name",
  license: "License",
  disabledServicePlans: "Apps and services left off",
  adminUserPrincipalName: "Global admin's sign-in name",
  adminDisplayName: "Global admin's name",
  waitlistEnabled: "Waitlist",
  reclaimInactiveAfterDays: "Reclaim after (days unused)",
  approvalRequired: "Require approval",
  releaseSupersededLicenses: "Give back superseded licenses",
  status: "Status",
  outcome: "What it led to",
  reason: "Why",
  message: "Message",
  lowLicenseThreshold: "Low-license alert at",
  waitlistPosition: "Place on the waitlist",
};

// The kinds of admin change the live feed shows.
export const changeKindNames = {
  AUTO_CLAIM_SETTING_CHANGED: "Auto-claim setting",
  PRODUCT_ADDED: "Product bought",
  LICENSE_QUANTITY_CHANGED: "Quantity changed",
  LICENSE_ASSIGNED: "License assigned",
  LICENSE_REMOVED: "License removed",
  POLICY_CREATED: "Policy created",
  POLICY_UPDATED: "Policy changed",
  POLICY_DELETED: "Policy deleted",
  LICENSE_RECLAIMED: "License reclaimed",
  LICENSE_SUPERSEDED: "License given back",
  LOW_LICENSES: "Running low",
  LOW_LICENSE_THRESHOLD_CHANGED: "Low-license threshold",
  WAITLIST_ENTRY_REMOVED: "Taken off the waitlist",
  LICENSE_REQUEST_APPROVED: "Request approved",
  LICENSE_REQUEST_DENIED: "Request denied",
  LICENSE_REQUEST_EXPIRED: "Request expired",
};
