// What every screen may ask about the signed-in caller.
import { createContext, useContext } from "./preact.js";

export const Session = createContext(null);

// useSession returns { me, tenant, catalog, canEdit, canDecide, isOperator }.
// canEdit is true for Global admins only: License admins, Reports readers
// and operators read a tenant's screens; operators also set its policy limit.
// canDecide (approve or deny license requests) is true for Global admins and
// License admins.
export const useSession = () => useContext(Session);

export const editorRoles = ["GLOBAL_ADMIN"];
export const deciderRoles = ["GLOBAL_ADMIN", "LICENSE_ADMIN"];
export const readerRoles = ["GLOBAL_ADMIN", "LICENSE_ADMIN", "REPORTS_READER"];
