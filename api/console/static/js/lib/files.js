// Files the page downloads from the server: fetched with the session's
// token (a link can't send it), then saved from a blob: URL.
import { ApiError, unreachable } from "./api.js";
import { token, signOut } from "./session.js";

// fetchFile GETs url and returns { blob, name }: the body, and the file name
// the server suggests (Content-Disposition), else fallback. A refusal throws
// an ApiError with the server's message; 401 ends the session.
export async function fetchFile(url, fallback) {
  let res;
  try {
    res = await fetch(url, { headers: { Authorization: "Bearer " + token() }, credentials: "omit", cache: "no-store" });
  } catch {
    throw unreachable();
  }
  if (!res.ok) {
    const body = await res.json().catch(() => null);
    const errors = body && body.errors && body.errors.length ? body.errors : [{ message: `The server answered ${res.status} ${res.statusText}.` }];
    if (res.status === 401) signOut(errors[0].message);
    throw new ApiError(errors, res.status);
  }
  const m = /filename="([^"]+)"/.exec(res.headers.get("Content-Disposition") || "");
  return { blob: await res.blob(), name: m ? m[1] : fallback };
}

// saveFile hands a blob to the browser as a download named name.
export function saveFile(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  // A browser may read the URL after click() returns: let it go later.
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}
