// Starts GraphiQL on the page's #graphiql element. A file of its own: the
// page's Content-Security-Policy allows no inline script.
(function () {
  "use strict";
  var el = document.getElementById("graphiql");
  var endpoint = new URL(el.dataset.endpoint, location.href).href;
  var fetcher = GraphiQL.createFetcher({ url: endpoint });
  // A console session in this tab lends its token; otherwise the Headers tab
  // starts empty and the query's comment says what to put there.
  var token = null;
  try {
    token = sessionStorage.getItem("autoclaim.token");
  } catch (e) {
    token = null;
  }
  var defaultHeaders = token ? JSON.stringify({ Authorization: "Bearer " + token }, null, 2) : "";
  var defaultQuery = [
    "# Put your token in the Headers tab below, then run:",
    '#   { "Authorization": "Bearer <token>" }',
    "{",
    "  me {",
    "    subject",
    "    roles",
    "    tenant { id name autoClaimEnabled }",
    "  }",
    "}",
    "",
  ].join("\n");
  ReactDOM.createRoot(el).render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      defaultHeaders: defaultHeaders,
      defaultEditorToolsVisibility: "headers",
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: false,
    })
  );
})();
