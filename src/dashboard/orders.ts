/** Live order feed: every order's latest status, driven by orderEvents (resuming from its cursor). */
import { subscribeResuming, type ResumingSubscription } from "../client/resuming-subscription.ts";
import type { Api } from "./api.ts";
import { graphql } from "./generated/gql.ts";
import type { FeedSubscription } from "./generated/graphql.ts";
import { fill, flash, h, money, shortId, time } from "./dom.ts";

export type Status = "PENDING" | "CONFIRMED" | "REJECTED" | "CANCELLED";
interface Row {
  id: string;
  customerId: string;
  status: Status;
  totalCents: number;
  currency: string;
  updatedAt: string;
  note?: string;
}
type OrderEvent = FeedSubscription["orderEvents"];

const STATUS_OF: Record<OrderEvent["__typename"], Status> = {
  OrderCreated: "PENDING",
  OrderConfirmed: "CONFIRMED",
  OrderRejected: "REJECTED",
  OrderCancelled: "CANCELLED",
};

const ORDER_EVENTS = graphql(`
  subscription Feed($after: String) {
    orderEvents(after: $after) {
      __typename
      orderId
      customerId
      occurredAt
      cursor
      ... on OrderCreated {
        totalCents
        currency
      }
      ... on OrderRejected {
        reason
      }
      ... on OrderCancelled {
        reason
      }
    }
  }
`);
const RECENT = graphql(`
  query Recent {
    orders(first: 25) {
      edges {
        node {
          id
          customerId
          status
          totalCents
          currency
          updatedAt
          rejectReason
          cancelReason
        }
      }
    }
  }
`);
const CANCEL = graphql(`
  mutation Cancel($id: ID!) {
    cancelOrder(id: $id, reason: "cancelled from the dashboard") {
      order {
        id
        status
      }
    }
  }
`);

export interface OrderFeed {
  readonly subscription: ResumingSubscription;
}

export function orderFeed(root: HTMLElement, api: Api, onEvent: (e: OrderEvent) => void): OrderFeed {
  const rows = new Map<string, Row>();
  const log: OrderEvent[] = [];
  const statusFilter = h(
    "select",
    { "aria-label": "status filter", onchange: () => render() },
    ...["ALL", "PENDING", "CONFIRMED", "REJECTED", "CANCELLED"].map((s) => h("option", { value: s }, s)),
  );
  const customerFilter = h("input", {
    placeholder: "customer id",
    "aria-label": "customer filter",
    oninput: () => render(),
  });
  const counter = h("span", { class: "muted" });
  const body = h("tbody");
  const events = h("ol", { class: "event-log" });
  fill(
    root,
    h("h2", {}, "Live orders"),
    h("div", { class: "filters" }, "Status ", statusFilter, " Customer ", customerFilter, " ", counter),
    h(
      "table",
      { class: "orders" },
      h(
        "thead",
        {},
        h("tr", {}, ...["Updated", "Order", "Customer", "Total", "Status", ""].map((c) => h("th", {}, c))),
      ),
      body,
    ),
    h("h3", {}, "Events"),
    events,
  );

  const cancel = async (row: Row, button: HTMLButtonElement) => {
    button.disabled = true;
    try {
      await api.gql(CANCEL, { id: row.id });
    } catch (err) {
      button.disabled = false;
      alert(`Cancel failed: ${(err as Error).message}`);
    }
  };

  const render = (changed?: string) => {
    const status = statusFilter.value;
    const customer = customerFilter.value.trim();
    const visible = [...rows.values()]
      .filter((r) => (status === "ALL" || r.status === status) && (!customer || r.customerId === customer))
      .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt))
      .slice(0, 100);
    counter.textContent = `${visible.length} of ${rows.size} orders`;
    fill(
      body,
      ...visible.map((r) => {
        const tr = h(
          "tr",
          { "data-order-id": r.id, "data-status": r.status },
          h("td", {}, time(r.updatedAt)),
          h("td", { title: r.id }, h("code", {}, shortId(r.id))),
          h("td", {}, r.customerId),
          h("td", { class: "num" }, money(r.totalCents, r.currency)),
          h(
            "td",
            {},
            h("span", { class: `badge ${r.status.toLowerCase()}`, title: r.note ?? "" }, r.status),
            r.note ? h("small", { class: "muted" }, ` ${r.note}`) : null,
          ),
          h(
            "td",
            {},
            r.status === "PENDING" || r.status === "CONFIRMED"
              ? h(
                  "button",
                  { class: "cancel", onclick: (e) => void cancel(r, e.currentTarget as HTMLButtonElement) },
                  "Cancel",
                )
              : null,
          ),
        );
        if (r.id === changed) flash(tr);
        return tr;
      }),
    );
    fill(
      events,
      ...log
        .slice(-30)
        .reverse()
        .map((e) =>
          h(
            "li",
            {},
            h("span", { class: "muted" }, time(e.occurredAt)),
            ` ${e.__typename} `,
            h("code", {}, shortId(e.orderId)),
            ` ${e.customerId}`,
          ),
        ),
    );
  };

  const apply = (e: OrderEvent) => {
    const row: Row = rows.get(e.orderId) ?? {
      id: e.orderId,
      customerId: e.customerId,
      status: "PENDING",
      totalCents: 0,
      currency: "EUR",
      updatedAt: e.occurredAt,
    };
    // Events of one order arrive in order; a late OrderCreated (the order was loaded already) must not reset the status.
    if (e.__typename !== "OrderCreated" || !rows.has(e.orderId)) row.status = STATUS_OF[e.__typename];
    if (e.__typename === "OrderCreated") {
      row.totalCents = e.totalCents;
      row.currency = e.currency;
    }
    if (e.__typename === "OrderRejected" || e.__typename === "OrderCancelled") row.note = e.reason;
    row.updatedAt = e.occurredAt > row.updatedAt ? e.occurredAt : row.updatedAt;
    rows.set(e.orderId, row);
    log.push(e);
    if (log.length > 200) log.shift();
    render(e.orderId);
  };

  // Subscribe first, then load the recent orders, so nothing falls between the two.
  const subscription = subscribeResuming(api.ws, {
    query: ORDER_EVENTS,
    cursorOf: (d) => d.orderEvents.cursor,
    onData: (d) => {
      apply(d.orderEvents);
      onEvent(d.orderEvents);
    },
    onError: (errors) => console.warn("order feed", errors),
  });
  void api
    .gql(RECENT)
    .then((d) => {
      for (const { node } of d.orders.edges) {
        if (rows.has(node.id)) continue;
        rows.set(node.id, { ...node, note: node.rejectReason ?? node.cancelReason ?? undefined });
      }
      render();
    })
    .catch((err) => console.warn("recent orders", err));
  render();
  return { subscription };
}
