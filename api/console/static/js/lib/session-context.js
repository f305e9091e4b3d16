// What every screen may ask about the signed-in caller.
import { createContext, useContext } from "./preact.js";

export const Session = createContext(null);

// useSession returns { me, tenant, catalog, canEdit, refreshMe }. canEdit is
// true for Global admins only: License admins and Reports readers read.
export const useSession = () => useContext(Session);

export const editorRoles = ["GLOBAL_ADMIN"];
export const readerRoles = ["GLOBAL_ADMIN", "LICENSE_ADMIN", "REPORTS_READER"];
