// Hash routes: #/policies, #/policies/<id>, #/report… The fragment never
// reaches the server, so the console is one page the server serves at "/".
import { useState, useEffect } from "./preact.js";

function parse() {
  const h = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = h.split("?");
  return { parts: path.split("/").filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(query) };
}

export function useRoute() {
  const [route, setRoute] = useState(parse);
  useEffect(() => {
    const f = () => setRoute(parse());
    addEventListener("hashchange", f);
    return () => removeEventListener("hashchange", f);
  }, []);
  return route;
}

// href builds a route's link: href("policies", id) → "#/policies/<id>".
export const href = (...parts) => "#/" + parts.map(encodeURIComponent).join("/");

export function navigate(...parts) {
  location.hash = href(...parts).slice(1);
}
