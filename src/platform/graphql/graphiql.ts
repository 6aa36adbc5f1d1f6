/**
 * GraphiQL from local assets (@graphql-yoga/render-graphiql inlines GraphiQL, its CSS and Monaco's
 * workers into the page: no unpkg, works offline), plus one fix for subscriptions:
 *
 * Yoga's GraphiQL sends the Headers tab with every HTTP request, but its graphql-ws client sends
 * only a static `connectionParams` in `connection_init` — never the Headers tab — and this server
 * closes a socket without a token (4401). So the page wraps the browser's WebSocket: when a
 * `connection_init` carries no authorization, the Authorization of the active tab's headers is
 * added (read where GraphiQL keeps them, in localStorage; the server's default headers until the
 * editor has saved them). The socket is opened per subscription run (the client is lazy), so
 * edits in the Headers tab apply to the next subscription.
 */
import type { GraphiQLOptions } from "graphql-yoga";

let render: Promise<(opts?: GraphiQLOptions) => string> | undefined;

export async function renderLocalGraphiQL(opts?: GraphiQLOptions): Promise<string> {
  // ~9 MB of inlined assets: loaded on the first GraphiQL page view, not at startup.
  render ??= import("@graphql-yoga/render-graphiql").then((m) => m.renderGraphiQL);
  const html = (await render)(opts);
  const defaults = JSON.stringify(typeof opts?.headers === "string" ? opts.headers : "").replace(/</g, "\\u003c");
  const shim = `<script>${AUTHORIZING_WEBSOCKET}(${defaults});</script>`;
  // Before GraphiQL's own script, which picks up window.WebSocket when it runs.
  return html.replace('<div id="root"></div>', `<div id="root"></div>\n${shim}`);
}

/**
 * Runs in the browser before GraphiQL's script. Plain JavaScript in a string on purpose: a function's
 * toString() would carry the transpiler's helpers (tsx adds __name calls the browser lacks).
 */
const AUTHORIZING_WEBSOCKET = `(function (defaultHeaders) {
  var Native = window.WebSocket;
  function authorization() {
    var headers = defaultHeaders;
    try {
      var state = JSON.parse(localStorage.getItem("graphiql:tabState") || "null");
      var tab = state && state.tabs && state.tabs[state.activeTabIndex || 0];
      if (tab && typeof tab.headers === "string" && tab.headers.trim()) headers = tab.headers;
    } catch (e) {}
    try {
      var parsed = JSON.parse(headers || "{}");
      for (var k in parsed) if (k.toLowerCase() === "authorization" && typeof parsed[k] === "string") return parsed[k];
    } catch (e) {}
    return undefined;
  }
  class AuthorizingWebSocket extends Native {
    send(data) {
      if (typeof data === "string" && data.indexOf("connection_init") >= 0) {
        try {
          var message = JSON.parse(data);
          var payload = message.payload || {};
          var value = authorization();
          if (message.type === "connection_init" && value && !payload.authorization && !payload.Authorization) {
            data = JSON.stringify(Object.assign({}, message, { payload: Object.assign({}, payload, { authorization: value }) }));
          }
        } catch (e) {}
      }
      super.send(data);
    }
  }
  window.WebSocket = AuthorizingWebSocket;
})`;
