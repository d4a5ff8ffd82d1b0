// Renders GraphiQL into #graphiql. It is a file, not an inline script, so
// that the page runs under script-src 'self'. The endpoint comes from the
// element's data-endpoint attribute; subscriptions go to the same path over
// WebSocket (graphql-transport-ws), which GraphiQL opens only when one runs.
(function () {
  "use strict";

  var root = document.getElementById("graphiql");
  var endpoint = root.dataset.endpoint;
  var scheme = window.location.protocol === "https:" ? "wss:" : "ws:";

  var fetcher = GraphiQL.createFetcher({
    url: endpoint,
    subscriptionUrl: scheme + "//" + window.location.host + endpoint
  });

  ReactDOM.createRoot(root).render(React.createElement(GraphiQL, { fetcher: fetcher }));
})();
