/**
 * GraphiQL from local assets, served as separate files: no unpkg, works offline, and the page itself
 * stays small. @graphql-yoga/render-graphiql ships GraphiQL's JS, its CSS, Monaco's three workers and
 * a favicon as strings (≈9 MB) and inlines them all into one HTML document; here each becomes its own
 * file under /graphql/assets/, named by a hash of its content, compressed once (brotli or gzip) and
 * cached by browsers for a year (`immutable`): a reload costs the ≈2 KB page only.
 *
 * Plus one fix for subscriptions: Yoga's GraphiQL sends the Headers tab with every HTTP request, but
 * its graphql-ws client sends only a static `connectionParams` in `connection_init` — never the
 * Headers tab — and this server closes a socket without a token (4401). So the page wraps the
 * browser's WebSocket: when a `connection_init` carries no authorization, the Authorization of the
 * active tab's headers is added (read where GraphiQL keeps them, in localStorage; the server's
 * default headers until the editor has saved them). The socket is opened per subscription run (the
 * client is lazy), so edits in the Headers tab apply to the next subscription.
 */
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import path from "node:path";
import { promisify } from "node:util";
import { brotliCompress, constants as zlib, gzip } from "node:zlib";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { GraphiQLOptions } from "graphql-yoga";

/** Where the assets are served: under the GraphQL endpoint, so proxies routing /graphql route them too. */
export const GRAPHIQL_ASSETS_PATH = "/graphql/assets/";

interface Asset {
  /** The file name served: `<name>.<content hash>.<ext>`. */
  file: string;
  type: string;
  raw: Buffer;
  etag: string;
  /** Compressed on first request per encoding, then kept. */
  encoded: Partial<Record<Encoding, Promise<Buffer>>>;
}
type Encoding = "br" | "gzip";
interface Assets {
  js: Asset;
  css: Asset;
  favicon: Asset;
  workers: { editorWorkerService: Asset; json: Asset; graphql: Asset };
  byFile: Map<string, Asset>;
}

let assets: Promise<Assets> | undefined;

/** Loaded and hashed once per process, on the first GraphiQL page view; retried after a failure. */
export function graphiqlAssets(): Promise<Assets> {
  assets ??= loadAssets().catch((err) => {
    assets = undefined;
    throw err;
  });
  return assets;
}

async function loadAssets(): Promise<Assets> {
  // The package's `exports` offer only renderGraphiQL; its asset module sits next to it.
  const require = createRequire(import.meta.url);
  const dir = path.dirname(require.resolve("@graphql-yoga/render-graphiql"));
  const m = require(path.join(dir, "graphiql.js")) as Record<
    "js" | "css" | "favicon" | "editorWorkerService" | "jsonWorker" | "graphqlWorker",
    string
  >;
  const icon = /^data:([^;,]+);base64,(.*)$/s.exec(m.favicon);
  const [js, css, favicon, editorWorkerService, json, graphql] = await Promise.all([
    asset("graphiql", "js", "text/javascript; charset=utf-8", m.js),
    asset("graphiql", "css", "text/css; charset=utf-8", m.css),
    icon
      ? asset("favicon", "ico", icon[1]!, Buffer.from(icon[2]!, "base64"))
      : asset("favicon", "txt", "text/plain", ""),
    asset("editor.worker", "js", "text/javascript; charset=utf-8", m.editorWorkerService),
    asset("json.worker", "js", "text/javascript; charset=utf-8", m.jsonWorker),
    asset("graphql.worker", "js", "text/javascript; charset=utf-8", m.graphqlWorker),
  ]);
  const all = [js, css, favicon, editorWorkerService, json, graphql];
  return {
    js,
    css,
    favicon,
    workers: { editorWorkerService, json, graphql },
    byFile: new Map(all.map((a) => [a.file, a])),
  };
}

async function asset(name: string, ext: string, type: string, content: string | Buffer): Promise<Asset> {
  const raw = typeof content === "string" ? Buffer.from(content) : content;
  const hash = createHash("sha256").update(raw).digest("base64url").slice(0, 16);
  return { file: `${name}.${hash}.${ext}`, type, raw, etag: `"${hash}"`, encoded: {} };
}

/**
 * Brotli quality 5 and gzip level 6: GraphiQL's 5 MB script compresses in ≈0.6 s (in libuv's thread
 * pool, not on the event loop) to 1.29 MB, where quality 11 would take many seconds for 10% less.
 */
function encode(a: Asset, encoding: Encoding): Promise<Buffer> {
  return (a.encoded[encoding] ??= (
    encoding === "br"
      ? promisify(brotliCompress)(a.raw, {
          params: { [zlib.BROTLI_PARAM_QUALITY]: 5, [zlib.BROTLI_PARAM_SIZE_HINT]: a.raw.length },
        })
      : promisify(gzip)(a.raw, { level: 6 })
  ).catch((err: unknown) => {
    delete a.encoded[encoding];
    throw err;
  }));
}

const url = (a: Asset) => GRAPHIQL_ASSETS_PATH + a.file;
/** JSON for a <script> element: no `</script>` or `<!--` can end or confuse it. */
const scriptJson = (value: unknown) => JSON.stringify(value).replace(/</g, "\\u003c");
const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** The GraphiQL page: links to the assets, the WebSocket fix, and the options (examples, headers). */
export async function renderLocalGraphiQL(opts?: GraphiQLOptions): Promise<string> {
  const a = await graphiqlAssets();
  const defaults = scriptJson(typeof opts?.headers === "string" ? opts.headers : "");
  const workers = scriptJson({
    editorWorkerService: url(a.workers.editorWorkerService),
    json: url(a.workers.json),
    graphql: url(a.workers.graphql),
  });
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${escapeHtml(opts?.title || "Yoga GraphiQL")}</title>
    <link rel="icon" href="${url(a.favicon)}" />
    <link rel="stylesheet" href="${url(a.css)}" />
    <link rel="preload" as="script" href="${url(a.js)}" />
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>You need to enable JavaScript to run this app.</noscript>
    <div id="root"></div>
    <script>${AUTHORIZING_WEBSOCKET}(${defaults});</script>
    <script>
      var workers = ${workers};
      self["MonacoEnvironment"] = { globalAPI: false, getWorkerUrl: function (moduleId, label) { return workers[label]; } };
    </script>
    <script src="${url(a.js)}"></script>
    <script>YogaGraphiQL.renderYogaGraphiQL(document.querySelector("#root"), ${scriptJson(opts ?? {})});</script>
  </body>
</html>
`;
}

/**
 * Wraps the api's request listener: GET /graphql/assets/<file> is answered here (only while GraphiQL
 * is enabled), everything else passes through. Content-addressed names, so a year of caching is safe:
 * a new version of the package changes the names.
 */
export function withGraphiQLAssets(enabled: boolean, next: (req: IncomingMessage, res: ServerResponse) => void) {
  if (!enabled) return next;
  return (req: IncomingMessage, res: ServerResponse) => {
    const pathname = (req.url ?? "/").split("?")[0]!;
    if (!pathname.startsWith(GRAPHIQL_ASSETS_PATH)) return next(req, res);
    void serveAsset(pathname.slice(GRAPHIQL_ASSETS_PATH.length), req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
      res.end("GraphiQL assets unavailable");
    });
  };
}

async function serveAsset(file: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" });
    return void res.end("method not allowed");
  }
  const a = (await graphiqlAssets()).byFile.get(file);
  if (!a) {
    res.writeHead(404, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-cache" });
    return void res.end("not found");
  }
  const headers: Record<string, string | number> = {
    "content-type": a.type,
    "cache-control": "public, max-age=31536000, immutable",
    etag: a.etag,
    vary: "accept-encoding",
    "x-content-type-options": "nosniff",
  };
  if (req.headers["if-none-match"] === a.etag) {
    res.writeHead(304, headers);
    return void res.end();
  }
  const accepted = acceptedEncodings(req.headers["accept-encoding"]);
  const encoding: Encoding | undefined = accepted.has("br") ? "br" : accepted.has("gzip") ? "gzip" : undefined;
  const body = encoding ? await encode(a, encoding) : a.raw;
  if (encoding) headers["content-encoding"] = encoding;
  headers["content-length"] = body.length;
  res.writeHead(200, headers);
  res.end(req.method === "HEAD" ? undefined : body);
}

/** Encodings the client accepts (q=0 means refused). */
function acceptedEncodings(header: string | string[] | undefined): Set<string> {
  const out = new Set<string>();
  for (const part of (Array.isArray(header) ? header.join(",") : (header ?? "")).split(",")) {
    const [name, ...params] = part.trim().toLowerCase().split(";");
    const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)).find(Boolean);
    if (name && !(q && Number(q[1]) === 0)) out.add(name);
  }
  return out;
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
