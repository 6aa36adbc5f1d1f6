/** Stock per sku, live: one stockLevel subscription per sku (public field), low stock highlighted. */
import type { Api } from "./api.ts";
import { graphql } from "./generated/gql.ts";
import { fill, flash, h, money } from "./dom.ts";

export const LOW_STOCK = 10;

const CATALOG = graphql(`
  query Catalog {
    products {
      sku
      name
      priceCents
      currency
      available
    }
  }
`);
const STOCK = graphql(`
  subscription Stock($sku: String!) {
    stockLevel(sku: $sku) {
      sku
      available
    }
  }
`);

export interface Product {
  sku: string;
  name: string;
  priceCents: number;
  currency: string;
  available: number;
}

export async function stockPanel(root: HTMLElement, api: Api): Promise<Product[]> {
  const { products } = await api.gql(CATALOG);
  const cells = new Map<string, HTMLTableCellElement>();
  const rows = products.map((p) => {
    const cell = h("td", { class: "num available", "data-available": p.available }, p.available);
    cells.set(p.sku, cell);
    return h(
      "tr",
      { "data-sku": p.sku, class: p.available < LOW_STOCK ? "low" : "" },
      h("td", {}, h("code", {}, p.sku)),
      h("td", {}, p.name),
      h("td", { class: "num" }, money(p.priceCents, p.currency)),
      cell,
    );
  });
  fill(
    root,
    h("h2", {}, "Stock"),
    h("p", { class: "muted" }, `Available = on hand − reserved. Below ${LOW_STOCK} is highlighted.`),
    h(
      "table",
      { class: "stock" },
      h("thead", {}, h("tr", {}, ...["SKU", "Product", "Price", "Available"].map((c) => h("th", {}, c)))),
      h("tbody", {}, ...rows),
    ),
  );
  for (const p of products) {
    // graphql-ws subscribes again after a reconnect, and stockLevel starts with the current value.
    api.subscribe(
      STOCK,
      { sku: p.sku },
      {
        next: ({ data }) => {
          const cell = cells.get(p.sku);
          if (!data || !cell) return;
          const n = data.stockLevel.available;
          if (cell.dataset.available === String(n)) return;
          cell.dataset.available = String(n);
          cell.textContent = String(n);
          cell.parentElement!.classList.toggle("low", n < LOW_STOCK);
          flash(cell);
        },
        error: (err) => console.warn("stockLevel", p.sku, err),
        complete: () => {},
      },
    );
  }
  return products;
}
