// The screens of the navigation, in order. A later feature's screen (the
// waitlist, approvals, the audit log…) is one more entry here; roles, when
// set, limits who sees it.
import { PoliciesScreen } from "./policies.js";
import { ReportScreen } from "./report.js";
import { LiveScreen } from "./live.js";
import { LicensesScreen } from "./licenses.js";
import { AuditScreen } from "./audit.js";

export const screens = [
  { id: "policies", label: "Auto-claim policy", component: PoliciesScreen },
  { id: "report", label: "Report", component: ReportScreen },
  { id: "live", label: "Live", component: LiveScreen },
  { id: "licenses", label: "Licenses", component: LicensesScreen },
  { id: "audit", label: "Audit log", component: AuditScreen, roles: ["OPERATOR", "GLOBAL_ADMIN", "LICENSE_ADMIN", "REPORTS_READER"] },
];
