/**
 * The dashboard and GraphiQL in a real browser: Debian's Chromium driven by playwright-core, against
 * the api and the workers as real processes on loopback. Screenshots go to test-results/dashboard/.
 */
import { existsSync, mkdirSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type Browser, type Page } from "playwright-core";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { spawnRole, type AppProcess } from "../support/processes.ts";
import { freePort } from "../support/private-redis.ts";
import { ADMIN_TOKEN } from "../support/auth.ts";
import { waitFor } from "../support/wait.ts";
import { gqlOk } from "../support/graphql-clients.ts";
import { RESTOCK } from "../support/documents.ts";
import { createOrder } from "../../src/modules/orders/create-order.ts";
import { continueTrace } from "../../src/platform/observability/trace.ts";

const CHROMIUM = "/usr/bin/chromium";
const SHOTS = new URL("../../test-results/dashboard/", import.meta.url).pathname;
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--no-first-run",
];

let env: TestEnv;
let browser: Browser;
const processes: AppProcess[] = [];

async function startRole(roles: string, extra: Record<string, string> = {}): Promise<AppProcess> {
  const p = spawnRole(env, roles, { SHUTDOWN_TIMEOUT_MS: "3000", HUB_BLOCK_MS: "1000", ...extra });
  processes.push(p);
  await waitFor(() => p.count("started") > 0 || p.child.exitCode !== null, {
    timeoutMs: 60_000,
    what: `${roles} to start`,
  });
  if (p.child.exitCode !== null) throw new Error(`${roles} exited with ${p.child.exitCode}`);
  return p;
}

/** Records every request the page makes: it must never leave this api. */
function watchRequests(page: Page, port: number): string[] {
  const foreign: string[] = [];
  const ours = [`http://127.0.0.1:${port}/`, `ws://127.0.0.1:${port}/`, "data:", "blob:"];
  page.on("request", (r) => {
    if (!ours.some((prefix) => r.url().startsWith(prefix))) foreign.push(r.url());
  });
  page.on("websocket", (ws) => {
    if (!ours.some((prefix) => ws.url().startsWith(prefix))) foreign.push(ws.url());
  });
  return foreign;
}

const shot = (page: Page, name: string) => page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does it)`);
  mkdirSync(SHOTS, { recursive: true });
  env = await createTestEnv("dashboard");
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
});

afterAll(async () => {
  await browser?.close();
  await Promise.all(processes.map((p) => p.kill()));
});

describe("dashboard in Chromium", () => {
  it("places an order through the form and watches the saga, sees a restock, resumes after an api restart", async () => {
    const port = await freePort();
    let [api] = await Promise.all([startRole("api", { PORT: String(port) }), startRole("relay,inventory,orders")]);

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const foreign = watchRequests(page, port);
    await page.goto(`http://127.0.0.1:${port}/dashboard`);
    await page.fill("#token", ADMIN_TOKEN);
    await page.click("#login");
    await page.waitForSelector("#connection[data-state=connected]");
    await page.waitForSelector("#system .kpi"); // admin panels are there for an admin
    await page.waitForSelector("tr[data-sku=SKU-019] td.available");

    // 1. An order through the form: it appears PENDING and turns CONFIRMED (inventory + saga).
    await page.fill("input[name=customerId]", "c1");
    await page.selectOption("select[name=sku]", "SKU-019"); // Knock box: 10 on hand
    await page.fill("input[name=quantity]", "3");
    await page.click("form.order-form button[type=submit]");
    const orderId = await (await page.waitForSelector(".result[data-order-id]")).getAttribute("data-order-id");
    expect(orderId).toMatch(/^[0-9a-f-]{36}$/);
    await page.waitForSelector(`tr[data-order-id="${orderId}"][data-status=CONFIRMED]`, { timeout: 10_000 });
    // The reservation shows in the stock table: 10 − 3 = 7, below 10, so highlighted.
    await page.waitForSelector("tr.low[data-sku=SKU-019] td.available[data-available='7']");
    await shot(page, "01-order-confirmed");
    // The customer-id check really runs (a pattern invalid under the browser's v flag is skipped silently).
    await page.fill("input[name=customerId]", "c 1");
    expect(await page.$eval("input[name=customerId]", (el) => (el as HTMLInputElement).validity.patternMismatch)).toBe(
      true,
    );
    await page.fill("input[name=customerId]", "c1");
    // The site icon is served (no 404 in the console of every page).
    const icon = await fetch(`http://127.0.0.1:${port}/favicon.ico`);
    expect(icon.status).toBe(200);
    expect(icon.headers.get("content-type")).toBe("image/svg+xml");
    // A phone-sized screen (420 px): nothing wider than the viewport, the orders table inside its panel.
    await page.setViewportSize({ width: 420, height: 900 });
    const widths = await page.evaluate(() => {
      const table = document.querySelector("table.orders")!;
      const panel = table.closest(".panel")!;
      return {
        page: document.documentElement.scrollWidth,
        table: table.getBoundingClientRect().width,
        panel: panel.clientWidth,
        panelScroll: panel.scrollWidth,
      };
    });
    await shot(page, "01b-orders-420px");
    expect(widths.page).toBeLessThanOrEqual(420);
    expect(widths.panelScroll, `orders table ${widths.table}px in a ${widths.panel}px panel`).toBeLessThanOrEqual(
      widths.panel,
    );
    await page.setViewportSize({ width: 1280, height: 900 });

    // 2. A restock through the API changes the number on the page.
    await gqlOk(port, RESTOCK, { sku: "SKU-019", quantity: 20 });
    await page.waitForSelector("tr[data-sku=SKU-019]:not(.low) td.available[data-available='27']");
    await shot(page, "02-restocked");

    // 3. The api goes away: the page shows it is reconnecting.
    await api.stop();
    await page.waitForSelector("#connection[data-state=reconnecting]");
    // Orders placed meanwhile (straight through the service: the api is down); the workers run the saga.
    const missed: string[] = [];
    for (const customerId of ["c2", "c3"]) {
      const { orderId: id } = await createOrder(
        env.db.prisma,
        { customerId, items: [{ sku: "SKU-001", quantity: 1 }] },
        { trace: continueTrace() },
      );
      missed.push(id);
    }
    await waitFor(
      async () => (await env.db.prisma.order.count({ where: { id: { in: missed }, status: "CONFIRMED" } })) === 2,
      { what: "the saga to confirm both orders" },
    );
    await shot(page, "03-api-down");

    // 4. The api is back on the same port: the page reconnects, resumes from its cursor and
    //    shows the four events (2 × OrderCreated, 2 × OrderConfirmed) it caught up on.
    api = await startRole("api", { PORT: String(port) });
    await page.waitForSelector("#connection[data-state=connected]", { timeout: 15_000 });
    for (const id of missed) await page.waitForSelector(`tr[data-order-id="${id}"][data-status=CONFIRMED]`);
    await page.waitForFunction(
      () => Number(document.querySelector("#connection")?.getAttribute("data-caught-up")) >= 4,
    );
    const caughtUp = await page.getAttribute("#connection", "data-caught-up");
    expect(Number(caughtUp)).toBe(4);
    expect(await page.textContent("#connection .resume")).toContain("4 events caught up");
    await shot(page, "04-resumed");

    // 5. Cancel from the feed: CANCELLED, and inventory releases the 3 reserved units (27 → 30).
    await page.click(`tr[data-order-id="${orderId}"] button.cancel`);
    await page.waitForSelector(`tr[data-order-id="${orderId}"][data-status=CANCELLED]`);
    await page.waitForSelector("tr[data-sku=SKU-019] td.available[data-available='30']");
    // Filters: by status, then by customer too.
    await page.selectOption("select[aria-label='status filter']", "CONFIRMED");
    expect(
      await page
        .locator("table.orders tbody tr")
        .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-order-id")).sort()),
    ).toEqual([...missed].sort());
    await page.fill("input[aria-label='customer filter']", "c2");
    expect(
      await page
        .locator("table.orders tbody tr")
        .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-order-id"))),
    ).toEqual([missed[0]]);
    await page.selectOption("select[aria-label='status filter']", "ALL");
    await page.fill("input[aria-label='customer filter']", "");

    // 6. The system panel (admins): outbox, consumer groups, event rate, and a dead letter (an
    //    entry of an unknown type, which the inventory group dead-letters) to replay and discard.
    await env.redis.xadd(
      `${env.config.STREAM_PREFIX}:orders`,
      "*",
      "type",
      "OrderTeleported",
      "agg",
      "x",
      "keys",
      "",
      "env",
      "{}",
    );
    const letter = await (
      await page.waitForSelector("#system tr[data-dead-letter]", { timeout: 10_000 })
    ).getAttribute("data-dead-letter");
    await page.waitForSelector("#system [data-kpi=dlq-orders] .value:text('1')");
    await page.waitForSelector("#system table.groups tbody tr");
    await page.waitForSelector("#system figure svg.chart path.series.orders", { state: "attached", timeout: 10_000 });
    await page.locator("#system").screenshot({ path: `${SHOTS}05-system-panel.png` });
    // Replay puts it back on the stream; it fails again and comes back as a new dead letter.
    await page.click(`#system tr[data-dead-letter="${letter}"] button:text("Replay")`);
    const again = await (
      await page.waitForSelector(`#system tr[data-dead-letter]:not([data-dead-letter="${letter}"])`, {
        timeout: 10_000,
      })
    ).getAttribute("data-dead-letter");
    page.once("dialog", (dialog) => void dialog.accept()); // "Discard this dead letter for good?"
    await page.click(`#system tr[data-dead-letter="${again}"] button:text("Discard")`);
    await page.waitForSelector("#system [data-kpi=dlq-orders] .value:text('0')");
    expect(await page.locator("#system tr[data-dead-letter]").count()).toBe(0);

    expect(foreign).toEqual([]);
    // With a real secret there are no dev tokens.
    expect((await fetch(`http://127.0.0.1:${port}/dashboard/dev-token?as=admin`)).status).toBe(404);
    expect(await page.locator("#dev-admin").count()).toBe(0);
    await page.close();
  }, 150_000);

  it("serves GraphiQL from local assets, prefilled with a dev token that subscriptions send in connection_init; dev login on the dashboard", async () => {
    // Development mode: no AUTH_JWT_SECRET, so the public dev secret (and dev tokens) are in use.
    const port = await freePort();
    await startRole("api", { PORT: String(port), AUTH_JWT_SECRET: "" });

    const html = await (await fetch(`http://127.0.0.1:${port}/graphql`, { headers: { accept: "text/html" } })).text();
    expect(html).toContain("YogaGraphiQL.renderYogaGraphiQL");
    // No external script, stylesheet, font or image: every src/href is local, no CDN anywhere.
    const external = [
      ...html.matchAll(/\b(?:src|href)\s*=\s*["']?(https?:)?\/\/[^"'\s>]+/gi),
      ...html.matchAll(/@import\s+(?:url\()?["']?https?:/gi),
      ...html.matchAll(/url\(\s*["']?https?:/gi),
    ].map((m) => m[0]);
    expect(external).toEqual([]);
    expect(html).not.toMatch(/unpkg\.com|jsdelivr|cdnjs|googleapis/);
    expect(html).toContain("PlaceOrder"); // the example operations

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const foreign = watchRequests(page, port);
    const initPayloads: Record<string, unknown>[] = [];
    page.on("websocket", (ws) =>
      ws.on("framesent", (f) => {
        const m = JSON.parse(String(f.payload)) as { type: string; payload?: Record<string, unknown> };
        if (m.type === "connection_init") initPayloads.push(m.payload ?? {});
      }),
    );
    const subscription = `subscription Watch { stockLevel(sku: "SKU-002") { sku available } }`;
    await page.goto(`http://127.0.0.1:${port}/graphql?query=${encodeURIComponent(subscription)}`);
    await page.click(".graphiql-execute-button");
    await page.waitForFunction(
      () =>
        /"available":\s*\d+/.test(
          document.querySelector(".graphiql-response")?.textContent?.replace(/\s+/g, " ") ?? "",
        ),
      undefined,
      { timeout: 15_000 },
    );
    expect(initPayloads[0]?.authorization).toMatch(/^Bearer ey/);
    await shot(page, "06-graphiql-subscription");
    // Another token typed into the Headers tab is what the next subscription run sends.
    await page.click(".graphiql-execute-button"); // stop (the socket closes)
    const { token: customer } = (await (
      await fetch(`http://127.0.0.1:${port}/dashboard/dev-token?as=customer&customerId=c7`)
    ).json()) as { token: string };
    await page.getByText("Headers", { exact: true }).click();
    await page.locator(".graphiql-editor-tool .monaco-editor").last().click();
    for (let i = 0; i < 2; i++) await page.keyboard.press("Control+A").then(() => page.keyboard.press("Backspace"));
    await page.keyboard.insertText(JSON.stringify({ Authorization: `Bearer ${customer}` }));
    await waitFor(
      async () =>
        ((await page.evaluate("localStorage.getItem('graphiql:tabState')")) as string | null)?.includes(customer),
      { what: "GraphiQL to store the headers" },
    );
    await page.click(".graphiql-execute-button");
    await waitFor(() => initPayloads.length === 2, { what: "a second connection_init" });
    expect(initPayloads[1]?.authorization).toBe(`Bearer ${customer}`);
    expect(foreign).toEqual([]);

    // A token this api does not accept (signed with the test secret; this api uses the dev secret):
    // the socket is refused (4403) and the page asks for another token.
    await page.goto(`http://127.0.0.1:${port}/dashboard`);
    await page.fill("#token", ADMIN_TOKEN);
    await page.click("#login");
    await page.waitForSelector("#auth .error:has-text('refused the token')");
    expect(await page.getAttribute("#connection", "data-state")).toBe("rejected");
    // The dashboard offers a dev token here (and only here: the first test's api has none).
    await page.click("#dev-admin");
    await page.waitForSelector("#connection[data-state=connected]");
    expect(await page.textContent("#who")).toContain("admin");
    await page.waitForSelector("#system");
    // A customer: its own orders only, no system panel.
    await page.click("#logout");
    await page.click("#dev-customer");
    await page.waitForSelector("#connection[data-state=connected]");
    expect(await page.textContent("#who")).toContain("c1");
    await page.waitForSelector("#feed");
    expect(await page.locator("#system").count()).toBe(0);
    expect(await page.locator("input[name=customerId]").count()).toBe(0);
    await shot(page, "07-customer-view");
    await page.close();
  }, 120_000);
});
