// Tiny DOM builder. Text always goes in as text nodes, never as HTML: notification bodies,
// config values and job messages come from users and must not become markup.

/**
 * h("td", {class: "num", dataset: {id: 1}, onclick: fn}, "text", childNode, [more])
 * Attributes: "class", "dataset", "on<event>" listeners, booleans (true: present), others set.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") element.className = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (value === true) element.setAttribute(name, "");
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else if (child instanceof Node) element.appendChild(child);
    else element.appendChild(document.createTextNode(String(child)));
  }
}

/** Replace every child of `element` with `children`. */
export function replaceChildren(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

/** An explanatory empty state: a bold line and an optional hint. */
export function emptyState(title, hint = "") {
  return h("div", { class: "empty" }, h("strong", {}, title), hint);
}

/** Re-trigger the "flash" highlight on an element (a row that just changed). */
export function flash(element) {
  element.classList.remove("flash");
  void element.offsetWidth; // restart the CSS animation
  element.classList.add("flash");
}
