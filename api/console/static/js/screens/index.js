// The screens of the navigation, in order. A later feature's screen is one
// more entry here; roles, when set, limits who sees it; badge, when set, is
// drawn beside its label (given the id of the screen open).
import { PoliciesScreen } from "./policies.js";
import { ReportScreen } from "./report.js";
import { LiveScreen } from "./live.js";
import { LicensesScreen } from "./licenses.js";
import { AuditScreen } from "./audit.js";
import { RequestsScreen, PendingCount } from "./requests.js";

export const screens = [
  { id: "policies", label: "Auto-claim policy", component: PoliciesScreen },
  { id: "report", label: "Report", component: ReportScreen },
  { id: "requests", label: "Requests", component: RequestsScreen, roles: ["OPERATOR", "GLOBAL_ADMIN", "LICENSE_ADMIN", "REPORTS_READER"], badge: PendingCount },
  { id: "live", label: "Live", component: LiveScreen },
  { id: "licenses", label: "Licenses", component: LicensesScreen },
  { id: "audit", label: "Audit log", component: AuditScreen, roles: ["OPERATOR", "GLOBAL_ADMIN", "LICENSE_ADMIN", "REPORTS_READER"] },
];
