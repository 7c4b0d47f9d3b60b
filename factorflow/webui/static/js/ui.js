// Shared page pieces: headings, tables, pagers, confirmations, error boxes.

import { h } from "./dom.js";

export function pageHeader(title, ...actions) {
  return h("div", { class: "page-header" }, h("h1", {}, title),
    actions.length ? h("div", { class: "page-actions" }, actions) : null);
}

/** A button; `name` is its accessible name when the visible label is shorter
 * ("Delete" in a table row, named "Delete <row>" for assistive technology). */
export function button(label, onclick, cls = "", name = "") {
  return h("button", { type: "button", class: cls, onclick, ...(name ? { "aria-label": name } : {}) }, label);
}

export function link(label, href, cls = "") {
  return h("a", { href, class: cls }, label);
}

/** An error from the API as a page-level message ("not allowed" when refused). */
export function errorBox(err) {
  if (err?.notAllowed) {
    return h("div", { class: "notice notice-denied", role: "alert" },
      h("h2", {}, "Not allowed"),
      h("p", {}, "The server refused this page for your account: ", err.message));
  }
  if (err?.notFound) {
    return h("div", { class: "notice", role: "status" },
      h("p", {}, "This part of the API is not available on this server yet (", err.message, ")."));
  }
  return h("div", { class: "notice notice-error", role: "alert" }, h("p", {}, err?.message || String(err)));
}

/**
 * A table. columns: [{key, label, render?(row), sort?: sortKey}]. With `sort`
 * ({key, dir, onSort}) the headers are buttons that sort.
 */
export function table(columns, rows, { sort, empty = "Nothing here yet.", caption, rowClass } = {}) {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  const head = h("tr", {}, columns.map((col) => {
    const sortKey = col.sort === undefined ? col.key : col.sort;
    if (!sort || !sortKey) return h("th", { scope: "col" }, col.label);
    const active = sort.key === sortKey;
    const ariaSort = active ? (sort.dir === "asc" ? "ascending" : "descending") : "none";
    return h("th", { scope: "col", "aria-sort": ariaSort },
      h("button", { type: "button", class: "sort", onclick: () => sort.onSort(sortKey) },
        col.label, h("span", { class: "sort-mark", "aria-hidden": "true" }, active ? (sort.dir === "asc" ? " ▲" : " ▼") : "")));
  }));
  const body = rows.map((row) => h("tr", { class: rowClass ? rowClass(row) : null },
    columns.map((col) => h("td", { "data-label": col.label },
      col.render ? col.render(row) : String(row[col.key] ?? "")))));
  return h("div", { class: "table-wrap" },
    h("table", {}, caption ? h("caption", {}, caption) : null, h("thead", {}, head), h("tbody", {}, body)));
}

export function pager({ page, count, pageSize, onPage }) {
  const pages = Math.max(1, Math.ceil(count / pageSize));
  return h("nav", { class: "pager", "aria-label": "Pages" },
    h("button", { type: "button", disabled: page <= 1, onclick: () => onPage(page - 1) }, "‹ Previous"),
    h("span", {}, `Page ${page} of ${pages} · ${count} total`),
    h("button", { type: "button", disabled: page >= pages, onclick: () => onPage(page + 1) }, "Next ›"));
}

export function badge(text, kind = "") {
  return h("span", { class: ["badge", kind && `badge-${kind}`] }, text);
}

export function confirmAction(message) {
  return window.confirm(message);
}

/** A <dl> of label → value pairs. */
export function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v ?? "")]));
}

export function section(title, ...content) {
  return h("section", { class: "card" }, h("h2", {}, title), content);
}
