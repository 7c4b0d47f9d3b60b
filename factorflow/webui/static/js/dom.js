// A tiny hyperscript helper: h("button", {onclick, class: "primary"}, "Save").
// Text always goes in as text nodes, never as HTML, so API data cannot inject markup.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      el.className = Array.isArray(value) ? value.filter(Boolean).join(" ") : value;
    } else if (key === "dataset") {
      Object.assign(el.dataset, value);
    } else if (key === "value" && "value" in el) {
      el.value = value;
    } else if (key === "checked" || key === "selected") {
      el[key] = Boolean(value);
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function replace(el, ...children) {
  return append(clear(el), children);
}

let uid = 0;
export function uniqueId(prefix = "f") {
  uid += 1;
  return `${prefix}-${uid}`;
}

export function toast(message) {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.classList.add("visible");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => box.classList.remove("visible"), 4000);
}

export function formatDate(value) {
  if (!value) return "";
  const date = new Date(value.replace(" ", "T").replace(/\+0000$/, "Z"));
  return Number.isNaN(date.getTime()) ? value : date.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

export function yesNo(value) {
  return value ? "yes" : "no";
}
