// h(tag, {class, on: {click: fn}, props: {value}, ...attributes}, ...children) → Element.
// Children are nodes or text (never parsed as HTML); null/false children are skipped.
export function h(tag, options, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(options || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "on") {
      for (const [event, handler] of Object.entries(value)) element.addEventListener(event, handler);
    } else if (key === "props") {
      Object.assign(element, value);
    } else if (key === "class") {
      element.className = value;
    } else {
      element.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace an element's content. */
export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

let counter = 0;
/** A fresh id for label/aria references. */
export function uid(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** A table's box that scrolls sideways on a narrow screen, reachable by keyboard. */
export function scrollBox(label, child) {
  return h("div", {class: "table-wrap", role: "region", tabindex: "0", "aria-label": label}, child);
}
