/**
 * Serves the operations dashboard at /dashboard. The browser code in src/dashboard/ is TypeScript,
 * bundled in memory with esbuild on the first request and cached for the life of the process:
 * no build step, the same with `npm start` and in the Docker image, nothing fetched from a CDN.
 *
 *   GET /dashboard            the page
 *   GET /dashboard/app.js     the bundle (graphql-ws client, resuming helper, panels)
 *   GET /dashboard/app.css
 *   GET /dashboard/dev-token  { token } — only while the api signs with the public dev secret
 *   GET /favicon.ico          the site icon (an SVG), for the dashboard and every other page
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../observability/logger.ts";
import { projectRoot } from "../shared/project-root.ts";

const DIR = join(projectRoot, "src/dashboard/");

export interface DashboardOptions {
  log: Logger;
  /** Set only with the public development secret: mints tokens for the page's dev buttons. */
  devToken?: (who: { admin: true } | { customerId: string }) => Promise<string>;
}

interface Assets {
  html: string;
  js: string;
  css: string;
}
let assets: Promise<Assets> | undefined;

/** Bundles once per process (≈0.2 s); a failed build is retried on the next request. */
export function dashboardAssets(): Promise<Assets> {
  assets ??= build().catch((err) => {
    assets = undefined;
    throw err;
  });
  return assets;
}

async function build(): Promise<Assets> {
  const esbuild = await import("esbuild");
  const result = await esbuild.build({
    entryPoints: [`${DIR}main.ts`],
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    legalComments: "none",
    logLevel: "silent",
  });
  const [html, css] = await Promise.all([readFile(`${DIR}index.html`, "utf8"), readFile(`${DIR}app.css`, "utf8")]);
  return { html, css, js: result.outputFiles[0]!.text };
}

/** /favicon.ico, which browsers ask for on every page of this origin: a small SVG (they accept one there). */
const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#1f6feb"/><path d="M8 22V10h5.5a4 4 0 0 1 0 8H8m9 4 7-12" stroke="#fff" stroke-width="3" fill="none" stroke-linecap="round" stroke-linejoin="round"/></svg>`;

const SECURITY_HEADERS = {
  // Everything comes from this origin: the page cannot load or send anything elsewhere.
  "content-security-policy":
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; base-uri 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

/** Wraps the api's request listener: /dashboard… is answered here, everything else passes through. */
export function withDashboard(options: DashboardOptions, next: (req: IncomingMessage, res: ServerResponse) => void) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname === "/favicon.ico" && (req.method === "GET" || req.method === "HEAD"))
      return send(res, 200, "image/svg+xml", FAVICON, { "cache-control": "public, max-age=86400" });
    if (url.pathname !== "/dashboard" && !url.pathname.startsWith("/dashboard/")) return next(req, res);
    void serve(options, url, req, res).catch((err) => {
      options.log.error({ err }, "dashboard: could not serve");
      if (!res.headersSent) send(res, 500, "text/plain; charset=utf-8", "dashboard unavailable; see the api log");
      else res.end();
    });
  };
}

async function serve(options: DashboardOptions, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD")
    return send(res, 405, "text/plain; charset=utf-8", "method not allowed", { allow: "GET, HEAD" });
  switch (url.pathname) {
    case "/dashboard":
    case "/dashboard/": {
      const { html } = await dashboardAssets();
      return send(
        res,
        200,
        "text/html; charset=utf-8",
        html.replace("__DEV_TOKENS__", options.devToken ? "true" : "false"),
      );
    }
    case "/dashboard/app.js":
      return send(res, 200, "text/javascript; charset=utf-8", (await dashboardAssets()).js);
    case "/dashboard/app.css":
      return send(res, 200, "text/css; charset=utf-8", (await dashboardAssets()).css);
    case "/dashboard/dev-token": {
      if (!options.devToken) return send(res, 404, "text/plain; charset=utf-8", "not found");
      // Admin tokens for whoever asks: only to this machine, whatever address the api listens on.
      if (!isLoopback(req.socket.remoteAddress)) {
        options.log.warn({ client: req.socket.remoteAddress }, "dev token refused to a non-loopback client");
        return send(res, 403, "text/plain; charset=utf-8", "dev tokens are served to loopback clients only");
      }
      const as = url.searchParams.get("as");
      const customerId = url.searchParams.get("customerId") ?? "c1";
      if (as !== "admin" && !(as === "customer" && /^[A-Za-z0-9_.:-]{1,64}$/.test(customerId)))
        return send(res, 400, "text/plain; charset=utf-8", "as=admin, or as=customer&customerId=…");
      const token = await options.devToken(as === "admin" ? { admin: true } : { customerId });
      return send(res, 200, "application/json", JSON.stringify({ token }));
    }
    default:
      return send(res, 404, "text/plain; charset=utf-8", "not found");
  }
}

export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  return v4 === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    "content-type": type,
    "cache-control": "no-cache",
    "content-length": Buffer.byteLength(body),
    ...SECURITY_HEADERS,
    ...headers,
  });
  res.end(res.req.method === "HEAD" ? undefined : body);
}
