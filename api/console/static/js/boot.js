// The console's entry point. It runs before anything else loads, and takes
// secrets out of the address bar at once, so they don't stay in the history
// or get copied with the link: a token handed over as /#token=<jwt> (moved to
// sessionStorage), or the code and state the organization's sign-in sends
// back (?code=…&state=…, exchanged for a token). Then the app starts.
import { adoptTokenFromFragment } from "./lib/session.js";
import { takeAuthorizationResponse, finishSignIn } from "./lib/oidc.js";

adoptTokenFromFragment();
const answer = takeAuthorizationResponse();
const root = document.getElementById("app");
if (answer) root.querySelector(".boot").textContent = "Signing in with your organization…";
(answer ? finishSignIn(answer) : Promise.resolve())
  .then(() => import("./app.js"))
  .then((m) => m.start(root));
