/**
 * The connection indicator. graphql-ws reconnects on its own and the resuming helper subscribes
 * again with `after: <last cursor>`, so the server replays what was published meanwhile. This
 * shows it: after a reconnect, which cursor the feed resumed from and how many events were caught
 * up (events that occurred before the connection came back).
 */
import type { Client } from "graphql-ws";
import { isCloseEvent } from "./api.ts";
import { fill, h, time } from "./dom.ts";

export interface ConnectionView {
  /** Called by the order feed for every event it receives. */
  noteEvent(occurredAt: string): void;
}

export function connectionIndicator(
  root: HTMLElement,
  client: Client,
  feedCursor: () => string | null,
): ConnectionView {
  let state: "connecting" | "connected" | "reconnecting" | "rejected" = "connecting";
  let everConnected = false;
  let lostAt = 0;
  let resumed: { at: number; offlineMs: number; cursor: string | null; caughtUp: number } | null = null;
  let detail = "";

  const render = () => {
    root.dataset.state = state;
    root.dataset.caughtUp = resumed ? String(resumed.caughtUp) : "";
    const label = {
      connecting: "Connecting…",
      connected: "Live",
      reconnecting: "Reconnecting…",
      rejected: "Token rejected",
    }[state];
    fill(
      root,
      h("span", { class: "dot" }),
      h("strong", { class: "label" }, label),
      detail && h("span", { class: "detail" }, detail),
      resumed &&
        h(
          "span",
          { class: "resume" },
          `Reconnected ${time(resumed.at)} after ${(resumed.offlineMs / 1000).toFixed(1)} s offline — resumed after cursor ${resumed.cursor ?? "(live)"}, `,
          h("b", { class: "caught-up" }, `${resumed.caughtUp} event${resumed.caughtUp === 1 ? "" : "s"} caught up`),
          " — nothing missed",
        ),
    );
  };

  client.on("connecting", () => {
    state = everConnected ? "reconnecting" : "connecting";
    render();
  });
  client.on("connected", () => {
    if (everConnected) resumed = { at: Date.now(), offlineMs: Date.now() - lostAt, cursor: feedCursor(), caughtUp: 0 };
    everConnected = true;
    state = "connected";
    detail = "";
    render();
  });
  client.on("closed", (event) => {
    if (state === "connected") lostAt = Date.now();
    const code = isCloseEvent(event) ? event.code : 0;
    if (code === 4401 || code === 4403) {
      state = "rejected";
      detail = `${code} ${isCloseEvent(event) ? event.reason : ""}`;
    } else {
      state = everConnected ? "reconnecting" : "connecting";
      const last = code ? `last close ${code}` : "server unreachable";
      detail = everConnected ? `offline since ${time(lostAt)} · ${last}` : last;
    }
    render();
  });
  render();

  return {
    noteEvent(occurredAt) {
      if (!resumed || Date.parse(occurredAt) >= resumed.at) return;
      resumed.caughtUp++;
      render();
    },
  };
}
