/** The operations dashboard: log in with a token, then live panels over one graphql-ws connection. */
import { Api, isCloseEvent } from "./api.ts";
import { clearToken, fetchDevToken, loadToken, parseToken, saveToken, type Session } from "./auth.ts";
import { connectionIndicator } from "./connection.ts";
import { fill, h } from "./dom.ts";
import { orderFeed } from "./orders.ts";
import { orderForm } from "./order-form.ts";
import { stockPanel } from "./stock.ts";
import { systemPanel } from "./system.ts";

const $ = (id: string) => document.getElementById(id)!;
const devTokens = document.body.dataset.devTokens === "true";

function loginForm(message?: string): void {
  const input = h("input", {
    id: "token",
    type: "password",
    placeholder: "eyJhbGciOi… (npm run token -- --admin)",
    autocomplete: "off",
    size: 40,
  });
  const use = (token: string) => {
    const session = parseToken(token);
    if (session instanceof Error) return loginForm(session.message);
    saveToken(session.token);
    location.reload();
  };
  const dev = async (as: "admin" | { customerId: string }) => {
    try {
      use(await fetchDevToken(as));
    } catch (err) {
      loginForm((err as Error).message);
    }
  };
  fill(
    $("auth"),
    h(
      "form",
      { class: "login", onsubmit: (e) => (e.preventDefault(), use(input.value)) },
      h("label", {}, "Bearer token ", input),
      h("button", { type: "submit", id: "login" }, "Log in"),
      devTokens &&
        h("button", { type: "button", id: "dev-admin", onclick: () => void dev("admin") }, "Dev admin token"),
      devTokens &&
        h(
          "button",
          { type: "button", id: "dev-customer", onclick: () => void dev({ customerId: "c1" }) },
          "Dev customer c1",
        ),
    ),
    message && h("p", { class: "error" }, message),
  );
  fill(
    $("panels"),
    h(
      "p",
      { class: "muted intro" },
      "Log in with a token to see the live panels: `npm run token -- --admin` (everything) or `--customer c1` (that customer's orders). ",
      devTokens ? "This server uses the public development secret, so the buttons above mint one for you." : "",
    ),
  );
}

async function start(session: Session): Promise<void> {
  const api = new Api(session.token);
  fill(
    $("auth"),
    h("span", { id: "who" }, `${session.admin ? "admin" : "customer"} `, h("b", {}, session.subject)),
    " ",
    h("button", { id: "logout", onclick: () => (clearToken(), location.reload()) }, "Log out"),
  );
  const feedBox = h("section", { id: "feed", class: "panel" });
  const formBox = h("section", { id: "place", class: "panel" });
  const stockBox = h("section", { id: "stock", class: "panel" });
  const systemBox = session.admin ? h("section", { id: "system", class: "panel" }) : null;
  // Left: act (form) and stock; right: what happens (feed) and, for admins, the pipeline.
  fill(
    $("panels"),
    h("div", { class: "column" }, formBox, stockBox),
    h("div", { class: "column" }, feedBox, systemBox),
  );

  let feedCursor: () => string | null = () => null;
  const connection = connectionIndicator($("connection"), api.ws, () => feedCursor());
  const feed = orderFeed(feedBox, api, (e) => connection.noteEvent(e.occurredAt));
  feedCursor = () => feed.subscription.cursor;
  let stopSystem = () => {};
  // A refused or expired token (4401/4403) will not get better: stop everything, ask for another.
  api.ws.on("closed", (event) => {
    if (!isCloseEvent(event) || (event.code !== 4401 && event.code !== 4403)) return;
    feed.subscription.dispose();
    stopSystem();
    void api.ws.dispose();
    clearToken();
    loginForm(`The server refused the token (${event.code} ${event.reason}). Log in again.`);
  });
  try {
    const products = await stockPanel(stockBox, api);
    orderForm(formBox, api, session, products);
  } catch (err) {
    fill(stockBox, h("p", { class: "error" }, `Catalog unavailable: ${(err as Error).message}`));
  }
  if (systemBox) stopSystem = systemPanel(systemBox, api);
}

const token = loadToken();
const session = token ? parseToken(token) : null;
if (session && !(session instanceof Error)) void start(session);
else loginForm(session instanceof Error ? session.message : undefined);
