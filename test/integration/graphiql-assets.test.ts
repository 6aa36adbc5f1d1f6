// GraphiQL's page and its assets over HTTP: a small page that links separate, content-addressed,
// compressed, long-cached files, all from node_modules (the browser side is in dashboard.e2e.test.ts).
import { createRequire } from "node:module";
import path from "node:path";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { renderGraphiQL } from "@graphql-yoga/render-graphiql";
import { beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";

let env: TestEnv;
let base: string;
let html: string;
let assetUrls: string[];

const original = createRequire(import.meta.url)(
  path.join(path.dirname(createRequire(import.meta.url).resolve("@graphql-yoga/render-graphiql")), "graphiql.js"),
) as Record<string, string>;

beforeAll(async () => {
  env = await createTestEnv("graphiql-assets");
  const app = await env.start(["api"], { GRAPHIQL: "true" });
  base = `http://127.0.0.1:${app.port}`;
  const res = await fetch(`${base}/graphql`, { headers: { accept: "text/html" } });
  expect(res.status).toBe(200);
  html = await res.text();
  assetUrls = [
    ...html.matchAll(/(?:src|href)="(\/graphql\/assets\/[^"]+)"/g),
    ...html.matchAll(/"(\/graphql\/assets\/[^"]+)"/g),
  ]
    .map((m) => m[1]!)
    .filter((u, i, all) => all.indexOf(u) === i);
});

describe("GraphiQL page", () => {
  it("is under 100 KB (it was one ≈9 MB document) and links its script, styles, icon and three workers", () => {
    expect(Buffer.byteLength(html)).toBeLessThan(100 * 1024);
    // What the package's own renderer inlines: more than 8 MB.
    expect(Buffer.byteLength(renderGraphiQL({}))).toBeGreaterThan(8 * 1024 * 1024);
    expect(html).toContain("YogaGraphiQL.renderYogaGraphiQL");
    expect(html).toContain("PlaceOrder");
    expect(assetUrls.map((u) => u.replace(/\.[\w-]{16}\./, ".#."))).toEqual(
      expect.arrayContaining([
        "/graphql/assets/graphiql.#.js",
        "/graphql/assets/graphiql.#.css",
        "/graphql/assets/favicon.#.ico",
        "/graphql/assets/editor.worker.#.js",
        "/graphql/assets/json.worker.#.js",
        "/graphql/assets/graphql.worker.#.js",
      ]),
    );
    expect(assetUrls).toHaveLength(6);
  });

  it("keeps script-breaking text in the options inert", async () => {
    const { renderLocalGraphiQL } = await import("../../src/platform/graphql/graphiql.ts");
    const page = await renderLocalGraphiQL({ title: "<b>x</b>", defaultQuery: "# </script><script>alert(1)</script>" });
    expect(page).not.toContain("</script><script>alert(1)");
    expect(page).toContain("<title>&lt;b&gt;x&lt;/b&gt;</title>");
  });
});

describe("GraphiQL assets", () => {
  it("are the package's files, compressed as the client accepts, cached for a year", async () => {
    const expected: Record<string, Buffer> = {
      "graphiql.js": Buffer.from(original.js!),
      "graphiql.css": Buffer.from(original.css!),
      "favicon.ico": Buffer.from(original.favicon!.split(",")[1]!, "base64"),
      "editor.worker.js": Buffer.from(original.editorWorkerService!),
      "json.worker.js": Buffer.from(original.jsonWorker!),
      "graphql.worker.js": Buffer.from(original.graphqlWorker!),
    };
    for (const u of assetUrls) {
      const name = path.basename(u).replace(/\.[\w-]{16}\./, ".");
      const res = await fetch(base + u, { headers: { "accept-encoding": "gzip, br" } });
      expect(res.status, u).toBe(200);
      expect(res.headers.get("content-encoding"), u).toBe("br");
      expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect(res.headers.get("vary")).toBe("accept-encoding");
      // fetch (undici) decodes the brotli body: the bytes must be the package's.
      expect(Buffer.from(await res.arrayBuffer()).equals(expected[name]!), `${u} content`).toBe(true);
      if (name.endsWith(".js")) expect(res.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    }
  });

  it("sends brotli, gzip or identity by Accept-Encoding, with the compressed length", async () => {
    const js = assetUrls.find((u) => /graphiql\.[\w-]{16}\.js$/.test(u))!;
    const raw = Buffer.from(original.js!);
    const { request } = await import("node:http");
    const get = (acceptEncoding: string, extra: Record<string, string> = {}) =>
      new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>(
        (ok, fail) => {
          const req = request(base + js, { headers: { "accept-encoding": acceptEncoding, ...extra } }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => ok({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
          });
          req.on("error", fail);
          req.end();
        },
      );
    const br = await get("gzip, deflate, br");
    expect(br.headers["content-encoding"]).toBe("br");
    expect(Number(br.headers["content-length"])).toBe(br.body.length);
    expect(br.body.length).toBeLessThan(raw.length / 3);
    expect(brotliDecompressSync(br.body).equals(raw)).toBe(true);
    const gz = await get("gzip");
    expect(gz.headers["content-encoding"]).toBe("gzip");
    expect(gunzipSync(gz.body).equals(raw)).toBe(true);
    const refused = await get("br;q=0, gzip;q=0");
    expect(refused.headers["content-encoding"]).toBeUndefined();
    expect(refused.body.equals(raw)).toBe(true);
    // Revalidation by ETag: nothing sent again.
    const etag = String(br.headers.etag);
    const notModified = await get("br", { "if-none-match": etag });
    expect(notModified.status).toBe(304);
    expect(notModified.body.length).toBe(0);
  });

  it("answers 404 for an unknown or outdated file and 405 for other methods", async () => {
    expect((await fetch(`${base}/graphql/assets/graphiql.AAAAAAAAAAAAAAAA.js`)).status).toBe(404);
    expect((await fetch(`${base}/graphql/assets/../../package.json`)).status).toBe(404);
    const js = assetUrls[0]!;
    expect((await fetch(base + js, { method: "POST", body: "x" })).status).toBe(405);
    expect((await fetch(base + js, { method: "HEAD" })).status).toBe(200);
  });

  it("are not served when GraphiQL is off", async () => {
    const off = await env.start(["api"], { GRAPHIQL: "false" });
    expect((await fetch(`http://127.0.0.1:${off.port}${assetUrls[0]}`)).status).toBe(404);
  });
});
