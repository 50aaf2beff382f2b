// Tables of figures that read as tables on a desk and as one card per row on a phone, and the
// pager under a long list.

import { h } from "./dom.js";

/**
 * A table: `columns` [{label, num}] (num: right-aligned figures), `rows` arrays of cells, `foot`
 * [label, value] lines under the figures column, or `total` a whole row of cells (its first the
 * row's name). On a phone each row becomes a card whose cells are labelled by their column
 * (data-label); the first cell is the card's title. With no rows, the `empty` sentence stands in
 * its place.
 */
export function dataTable({ label, columns, rows, foot = [], total = null, empty = "", className = "" }) {
  if (rows.length === 0 && empty) return h("p", { class: "table-empty muted" }, empty);
  const cell = (column, value) => h("td", { class: column.num ? "num" : null, "data-label": column.label }, value);
  return h(
    "table",
    { class: `data-table ${className}`.trim(), "aria-label": label },
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.num ? "num" : null }, c.label)))),
    h(
      "tbody",
      {},
      rows.map((row) => h("tr", {}, row.map((value, n) => cell(columns[n], value)))),
    ),
    total &&
      h(
        "tfoot",
        {},
        h(
          "tr",
          { class: "total-row" },
          total.map((value, n) =>
            n === 0
              ? h("th", { scope: "row", "data-label": columns[0].label }, value)
              : h("td", { class: columns[n].num ? "num" : null, "data-label": columns[n].label }, value),
          ),
        ),
      ),
    foot.length > 0 &&
      h(
        "tfoot",
        {},
        foot.map(([name, value]) =>
          h(
            "tr",
            {},
            h("th", { scope: "row", colspan: String(columns.length - 1) }, name),
            h("td", { class: "num", "data-label": name }, value),
          ),
        ),
      ),
  );
}

/** 上一页 · 第 n / m 页 · 下一页, each a link to `address(page)` (a route without the "#"). */
export function pager(page, pages, address) {
  const link = (label, target, enabled) =>
    enabled
      ? h("a", { class: "button", href: `#${address(target)}` }, label)
      : h("span", { class: "button", "aria-disabled": "true" }, label);
  return h(
    "nav",
    { class: "pager", "aria-label": "分页" },
    link("上一页", page - 1, page > 1),
    h("span", { class: "pager-position" }, `第 ${page} / ${pages} 页`),
    link("下一页", page + 1, page < pages),
  );
}

/** The page number an address asks for (1 when it names none or nonsense). */
export function pageNumber(params) {
  return Math.max(1, Number.parseInt(params.get("page") || "1", 10) || 1);
}

/** A list page's address: its path, the filters that have a value (in `names` order), and the page
 * number when past the first. */
export function listAddress(path, names, values, target) {
  const query = new URLSearchParams();
  for (const name of names) if (values[name]) query.set(name, values[name]);
  if (target > 1) query.set("page", String(target));
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}
