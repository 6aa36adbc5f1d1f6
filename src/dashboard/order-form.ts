/** Places a test order, so a person can watch the saga run in the feed and the stock table. */
import type { Api } from "./api.ts";
import { graphql } from "./generated/gql.ts";
import type { Session } from "./auth.ts";
import { fill, h, shortId } from "./dom.ts";
import type { Product } from "./stock.ts";

/**
 * The customer id the API accepts (subjectIdSchema in src/platform/shared/ids.ts) as an HTML `pattern`.
 * Browsers compile `pattern` with the `v` flag, where a literal `-` in a class must be escaped:
 * unescaped, the pattern is invalid and the browser silently skips the check.
 */
export const CUSTOMER_ID_PATTERN = "[A-Za-z0-9._:@\\-]{1,64}";

const PLACE = graphql(`
  mutation Place($input: CreateOrderInput!, $key: String) {
    createOrder(input: $input, idempotencyKey: $key) {
      traceId
      order {
        id
        status
      }
    }
  }
`);

export function orderForm(root: HTMLElement, api: Api, session: Session, products: Product[]): void {
  // Admins order for a named customer; a customer always for itself.
  const customer = h("input", { name: "customerId", value: "c1", required: true, pattern: CUSTOMER_ID_PATTERN });
  const sku = h(
    "select",
    { name: "sku" },
    ...products.map((p) => h("option", { value: p.sku }, `${p.sku} · ${p.name}`)),
  );
  const quantity = h("input", { name: "quantity", type: "number", min: 1, max: 1000, value: 1, required: true });
  const result = h("p", { class: "result", "aria-live": "polite" });
  const submit = h("button", { type: "submit" }, "Place order");
  const form = h(
    "form",
    { class: "order-form" },
    session.admin
      ? h("label", {}, "Customer ", customer)
      : h("span", { class: "muted" }, `Ordering as ${session.subject}`),
    h("label", {}, "SKU ", sku),
    h("label", {}, "Quantity ", quantity),
    submit,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    result.className = "result";
    try {
      const input = {
        ...(session.admin ? { customerId: customer.value.trim() } : {}),
        items: [{ sku: sku.value, quantity: Number(quantity.value) }],
      };
      const data = await api.gql(PLACE, { input, key: crypto.randomUUID() });
      const { order, traceId } = data.createOrder;
      result.dataset.orderId = order.id;
      fill(
        result,
        "Placed ",
        h("code", { title: order.id }, shortId(order.id)),
        ` (${order.status}), trace `,
        h("code", {}, traceId.slice(0, 12)),
        " — watch it in the feed",
      );
    } catch (err) {
      result.className = "result error";
      fill(result, (err as Error).message);
    } finally {
      submit.disabled = false;
    }
  });
  fill(root, h("h2", {}, "Place a test order"), form, result);
}
