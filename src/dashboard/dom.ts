/** A tiny element builder: h("button", { class: "x", onclick: () => … }, "label"). */
type Attr = string | number | boolean | undefined | null | ((event: Event) => void);
type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, Attr> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === "function") el.addEventListener(name.replace(/^on/, ""), value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  append(el, ...children);
  return el;
}

export function append(el: Element, ...children: Child[]): void {
  for (const c of children)
    if (c !== null && c !== undefined && c !== false) el.append(typeof c === "number" ? String(c) : c);
}

/** Replaces an element's children. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, ...children);
}

export const money = (cents: number, currency = "EUR") => `${(cents / 100).toFixed(2)} ${currency}`;
export const time = (iso: string | number | Date) => new Date(iso).toLocaleTimeString([], { hour12: false });
export const shortId = (id: string) => id.slice(-8);

/** Briefly highlights an element (a changed value). */
export function flash(el: Element): void {
  el.classList.remove("flash");
  void (el as HTMLElement).offsetWidth; // restart the animation
  el.classList.add("flash");
}
