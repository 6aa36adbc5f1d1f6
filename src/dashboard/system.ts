/** Admins: outbox backlog, consumer lag per group, dead letters (replay / discard), event rate. */
import type { Api } from "./api.ts";
import { graphql } from "./generated/gql.ts";
import { rateChart } from "./chart.ts";
import { fill, h, time } from "./dom.ts";

const MINUTES = 10;
const POLL_MS = 2_000;

/** One row of the dead-letter tables, the same for both streams. */
graphql(`
  fragment DeadLetterRow on DeadLetter {
    id
    stream
    group
    reason
    error
    eventType
    aggregateId
    failedAt
    deliveries
  }
`);

const STATUS = graphql(`
  query SystemStatus($minutes: Int) {
    systemStatus {
      outboxBacklog
      outboxOldestAgeSeconds
      consumerGroups {
        group
        stream
        lag
        pending
      }
      deadLetters {
        stream
        count
      }
      eventRate(minutes: $minutes) {
        at
        orders
        inventory
      }
    }
    orders: deadLetters(stream: ORDERS, first: 10) {
      edges {
        node {
          ...DeadLetterRow
        }
      }
    }
    inventory: deadLetters(stream: INVENTORY, first: 10) {
      edges {
        node {
          ...DeadLetterRow
        }
      }
    }
  }
`);
const ACTIONS = {
  replayDeadLetter: graphql(`
    mutation Replay($id: ID!) {
      replayDeadLetter(id: $id) {
        id
      }
    }
  `),
  discardDeadLetter: graphql(`
    mutation Discard($id: ID!) {
      discardDeadLetter(id: $id) {
        id
      }
    }
  `),
};

/** Renders the panel and polls until the returned stop() is called. */
export function systemPanel(root: HTMLElement, api: Api): () => void {
  const kpis = h("div", { class: "kpis" });
  const groups = h("tbody");
  const letters = h("tbody");
  const chart = h("div", { class: "chart-box" });
  const error = h("p", { class: "error" });
  fill(
    root,
    h("h2", {}, "System"),
    error,
    kpis,
    h("h3", {}, "Consumer groups"),
    h(
      "table",
      { class: "groups" },
      h("thead", {}, h("tr", {}, ...["Group", "Stream", "Lag", "Pending"].map((c) => h("th", {}, c)))),
      groups,
    ),
    h("h3", {}, `Event rate, last ${MINUTES} minutes`),
    chart,
    h("h3", {}, "Dead letters"),
    h(
      "table",
      { class: "dead-letters" },
      h("thead", {}, h("tr", {}, ...["Failed", "Stream", "Group", "Event", "Reason", ""].map((c) => h("th", {}, c)))),
      letters,
    ),
  );

  const act = async (op: "replayDeadLetter" | "discardDeadLetter", id: string) => {
    try {
      if (op === "replayDeadLetter") await api.gql(ACTIONS.replayDeadLetter, { id });
      else await api.gql(ACTIONS.discardDeadLetter, { id });
    } catch (err) {
      alert(`${op} failed: ${(err as Error).message}`);
    }
    await refresh();
  };

  const refresh = async () => {
    try {
      const d = await api.gql(STATUS, { minutes: MINUTES });
      const s = d.systemStatus;
      error.textContent = "";
      const kpi = (label: string, value: string, name: string) =>
        h(
          "div",
          { class: "kpi", "data-kpi": name },
          h("span", { class: "value" }, value),
          h("span", { class: "muted" }, label),
        );
      fill(
        kpis,
        kpi("outbox backlog", s.outboxBacklog === null ? "?" : String(s.outboxBacklog), "outbox-backlog"),
        kpi(
          "oldest outbox row",
          s.outboxOldestAgeSeconds === null ? "?" : `${s.outboxOldestAgeSeconds.toFixed(1)} s`,
          "outbox-age",
        ),
        ...s.deadLetters.map((c) =>
          kpi(`dead letters (${c.stream.toLowerCase()})`, String(c.count), `dlq-${c.stream.toLowerCase()}`),
        ),
      );
      fill(
        groups,
        ...s.consumerGroups.map((g) =>
          h(
            "tr",
            { class: (g.lag ?? 0) > 100 ? "warn" : "" },
            h("td", {}, g.group),
            h("td", {}, g.stream),
            h("td", { class: "num" }, g.lag ?? "?"),
            h("td", { class: "num" }, g.pending),
          ),
        ),
      );
      fill(chart, rateChart(s.eventRate, MINUTES));
      const all = [...d.orders.edges, ...d.inventory.edges].map((e) => e.node);
      fill(
        letters,
        ...(all.length
          ? all.map((l) =>
              h(
                "tr",
                { "data-dead-letter": l.id },
                h("td", {}, time(l.failedAt)),
                h("td", {}, l.stream),
                h("td", {}, l.group),
                h("td", { title: l.aggregateId }, l.eventType),
                h("td", { title: l.error }, `${l.reason} (${l.deliveries}×)`),
                h(
                  "td",
                  {},
                  h("button", { onclick: () => void act("replayDeadLetter", l.id) }, "Replay"),
                  " ",
                  h(
                    "button",
                    {
                      class: "danger",
                      onclick: () =>
                        confirm("Discard this dead letter for good?") && void act("discardDeadLetter", l.id),
                    },
                    "Discard",
                  ),
                ),
              ),
            )
          : [h("tr", {}, h("td", { colspan: 6, class: "muted" }, "None — every event was handled."))]),
      );
    } catch (err) {
      error.textContent = `System status unavailable: ${(err as Error).message}`;
    }
  };
  void refresh();
  const timer = setInterval(() => void refresh(), POLL_MS);
  return () => clearInterval(timer);
}
