// Building elements safely: text is always text; the one way to put markup in the page
// is setSanitisedHtml, for message bodies the gateway has already sanitised.

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * h(tag, options, ...children) → Element.
 * options: {attrs: {name: value}, props: {name: value}, on: {event: fn}, class, text}
 * or a plain object of attributes (anything not one of those keys). Children may be
 * strings (text nodes), Nodes, arrays of them, or null/false (skipped).
 */
export function h(tag, options = null, ...children) {
  const element = document.createElement(tag);
  apply(element, options);
  append(element, children);
  return element;
}

/** An inline SVG icon from path data (decorative: hidden from screen readers). */
export function icon(pathData, {size = 16, label = null, name = null} = {}) {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", String(size));
  svg.setAttribute("height", String(size));
  svg.setAttribute("class", name ? `icon icon-${name}` : "icon");
  svg.setAttribute("focusable", "false");
  if (label) {
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", label);
  } else {
    svg.setAttribute("aria-hidden", "true");
  }
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", pathData);
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}

export const ICONS = {
  // A padlock: sensitive.
  lock: "M12 2a5 5 0 0 0-5 5v3H6a2 2 0 0 0-2 2v8a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-8a2 2 0 0 0-2-2h-1V7a5 5 0 0 0-5-5zm-3 8V7a3 3 0 1 1 6 0v3H9zm3 3a2 2 0 0 1 1 3.73V19h-2v-2.27A2 2 0 0 1 12 13z",
  // A triangle with an exclamation mark: urgent.
  alert: "M12 2 1 21h22L12 2zm0 5.5 7.5 13h-15L12 7.5zM11 10v5h2v-5h-2zm0 6v2h2v-2h-2z",
  // A paper clip: attachment.
  clip: "M16.5 6v11.5a4 4 0 0 1-8 0V5a2.5 2.5 0 0 1 5 0v10.5a1 1 0 0 1-2 0V6H10v9.5a2.5 2.5 0 0 0 5 0V5a4 4 0 0 0-8 0v12.5a5.5 5.5 0 0 0 11 0V6h-1.5z",
  // A star: important.
  star: "M12 2l2.9 6.9L22 9.6l-5.5 4.7L18.2 22 12 18.3 5.8 22l1.7-7.7L2 9.6l7.1-.7L12 2z",
  // An arrow pointing back (mirrored in right-to-left by CSS).
  back: "M20 11H7.83l5.59-5.59L12 4l-8 8 8 8 1.41-1.41L7.83 13H20v-2z",
};

function apply(element, options) {
  if (!options) return;
  const known = new Set(["attrs", "props", "on", "class", "text"]);
  const plain = Object.keys(options).some((key) => !known.has(key));
  const attrs = plain ? options : options.attrs || {};
  for (const [name, value] of Object.entries(attrs)) {
    if (plain && known.has(name)) continue;
    if (value === null || value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? "" : String(value));
  }
  if (options.class) element.className = options.class;
  if (options.text !== undefined && options.text !== null) element.textContent = String(options.text);
  for (const [name, value] of Object.entries(options.props || {})) element[name] = value;
  for (const [event, handler] of Object.entries(options.on || {})) element.addEventListener(event, handler);
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Remove every child of an element. */
export function clear(element) {
  while (element.firstChild) element.firstChild.remove();
}

/**
 * Put a message body into the page. The gateway sanitises `body_html` when it stores
 * a message (an allow-list of tags and attributes), so this is the only innerHTML in
 * the component; links still get opened in a new tab without the opener.
 */
export function setSanitisedHtml(element, html) {
  element.innerHTML = html || "";
  for (const link of element.querySelectorAll("a[href]")) {
    link.setAttribute("target", "_blank");
    link.setAttribute("rel", "noopener noreferrer");
  }
}

let counter = 0;
/** A unique id for aria-labelledby / aria-describedby inside the shadow root. */
export function uid(prefix = "bs") {
  counter += 1;
  return `${prefix}-${counter}`;
}
