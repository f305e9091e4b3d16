// The console's entry point. It runs before anything else loads: a token
// handed over in the address (/#token=<jwt>) is moved to sessionStorage and
// the fragment is removed from the address bar at once, so it doesn't stay in
// the history or get copied with the link. Then the app starts.
import { adoptTokenFromFragment } from "./lib/session.js";

adoptTokenFromFragment();
import("./app.js").then((m) => m.start(document.getElementById("app")));
