// The panels' stylesheet (consent, daycare notices, preferences) and the few helpers
// the three panels share. The sheet is a constructable stylesheet: each renderer adopts
// it into the shadow root it renders into (adoptPanelSheet), so the shell need not.
// Colours come from the component's design tokens (--bs-*, defined on :host by the
// shell's sheet); the fallbacks are the same values, for a page without the shell.

const CSS = `
.bsp {
  color: var(--bs-text, #1f2328);
  line-height: 1.5;
  max-inline-size: 48rem;
}
.bsp *, .bsp *::before, .bsp *::after { box-sizing: border-box; }
.bsp [hidden] { display: none !important; }
.bsp-card > :first-child, .bsp fieldset > legend + * { margin-block-start: 0; }
.bsp h2 { font-size: 1.375rem; line-height: 1.3; margin-block: 0 0.5rem; }
.bsp h3 { font-size: 1.125rem; line-height: 1.3; margin-block: 1.5rem 0.5rem; }
.bsp h4, .bsp h5 { font-size: 1rem; line-height: 1.4; margin-block: 0 0.25rem; }
.bsp h4 + ul, .bsp h4 + .bsp-list { margin-block-start: 0.25rem; }
.bsp-day h4 { margin-block-start: 1rem; }
.bsp p { margin-block: 0 0.5rem; }
.bsp-card {
  background: var(--bs-surface, #ffffff);
  border: 1px solid var(--bs-border, #d4d2ca);
  border-radius: 8px;
  padding: 1rem;
  margin-block: 0 1rem;
  overflow-wrap: anywhere;
}
.bsp-meta { color: var(--bs-muted, #595f66); font-size: 0.9375rem; }
.bsp-meta > * + *::before { content: " · "; }
.bsp-muted { color: var(--bs-muted, #595f66); }
.bsp-question { margin-block: 0.75rem 1rem; }
.bsp-question > :last-child { margin-block-end: 0; }
.bsp-question a { color: var(--bs-accent, #1d4e89); }
.bsp fieldset {
  border: 1px solid var(--bs-border, #d4d2ca);
  border-radius: 8px;
  padding: 0.75rem 1rem 1rem;
  margin: 0 0 1rem;
  min-inline-size: 0;
  background: var(--bs-surface, #ffffff);
}
.bsp legend { font-weight: 600; padding-inline: 0.25rem; }
.bsp-choices { display: flex; flex-wrap: wrap; gap: 0.25rem 1.5rem; margin-block: 0.25rem 0.75rem; }
.bsp-choice { display: flex; align-items: center; gap: 0.5rem; min-block-size: 44px; cursor: pointer; }
.bsp-choice input { inline-size: 1.25rem; block-size: 1.25rem; margin: 0; accent-color: var(--bs-accent, #1d4e89); }
.bsp-field { display: flex; flex-direction: column; gap: 0.25rem; margin-block: 0 0.75rem; min-inline-size: 0; }
.bsp-field > label, .bsp-label { font-weight: 600; }
.bsp-hint { color: var(--bs-muted, #595f66); font-size: 0.9375rem; }
.bsp-row { display: flex; flex-wrap: wrap; gap: 0.75rem 1rem; align-items: flex-start; }
.bsp-row > .bsp-field { flex: 1 1 10rem; }
.bsp input[type="date"], .bsp input[type="time"], .bsp input[type="text"], .bsp select, .bsp textarea {
  font: inherit;
  color: var(--bs-text, #1f2328);
  background: var(--bs-surface, #ffffff);
  border: 1px solid var(--bs-muted, #595f66);
  border-radius: 8px;
  padding: 0.5rem 0.625rem;
  min-block-size: 44px;
  max-inline-size: 100%;
}
.bsp input[type="date"], .bsp input[type="time"] { max-inline-size: 20rem; }
.bsp textarea { inline-size: 100%; min-block-size: 5rem; resize: vertical; }
.bsp [aria-invalid="true"] { border: 2px solid var(--bs-danger, #b42318); }
.bsp button, .bsp .bsp-button {
  user-select: none;
  font: inherit;
  font-weight: 600;
  min-block-size: 44px;
  padding: 0.5rem 1rem;
  border-radius: 8px;
  border: 2px solid var(--bs-accent, #1d4e89);
  background: var(--bs-accent, #1d4e89);
  color: var(--bs-accent-text, #ffffff);
  cursor: pointer;
  text-align: center;
}
.bsp button.bsp-secondary { background: var(--bs-surface, #ffffff); color: var(--bs-accent, #1d4e89); }
.bsp button.bsp-danger { background: var(--bs-surface, #ffffff); color: var(--bs-danger, #b42318); border-color: var(--bs-danger, #b42318); }
.bsp button[disabled] { cursor: progress; opacity: 0.7; }
.bsp :focus-visible {
  outline: 3px solid var(--bs-focus, #ffbf47);
  outline-offset: 2px;
  box-shadow: 0 0 0 2px var(--bs-text, #1f2328);
}
.bsp [tabindex="-1"]:focus { outline: none; box-shadow: none; }
.bsp-actions { display: flex; flex-wrap: wrap; gap: 0.5rem; margin-block-start: 0.5rem; }
.bsp-status { display: flex; flex-wrap: wrap; gap: 0.25rem 0.5rem; align-items: baseline; margin-block: 0 0.5rem; }
.bsp-badge {
  display: inline-block;
  line-height: 1.4;
  border: 1px solid currentColor;
  border-radius: 0.75rem;
  padding: 0.0625rem 0.625rem;
  font-size: 0.875rem;
  font-weight: 600;
  max-inline-size: 100%;
  overflow-wrap: anywhere;
}
.bsp-badge-ok { color: #1a5e2a; background: #eaf5ec; }
.bsp-badge-info { color: var(--bs-accent, #1d4e89); background: #e8eef6; }
.bsp-badge-wait { color: #6b4e00; background: var(--bs-warning-bg, #fff4d6); }
.bsp-badge-off { color: var(--bs-muted, #595f66); background: #f0efea; }
.bsp-badge-bad { color: var(--bs-danger, #b42318); background: #fdecea; }
.bsp-note {
  background: var(--bs-warning-bg, #fff4d6);
  border-inline-start: 4px solid #8a6d00;
  border-radius: 4px;
  padding: 0.5rem 0.75rem;
  margin-block: 0.5rem;
}
.bsp-error {
  color: var(--bs-danger, #b42318);
  font-weight: 600;
  margin-block: 0.25rem 0.5rem;
}
.bsp-alert {
  border: 2px solid var(--bs-danger, #b42318);
  border-inline-start-width: 6px;
  border-radius: 8px;
  background: #fdecea;
  padding: 0.75rem 1rem;
  margin-block: 0 1rem;
}
.bsp-alert h3, .bsp-alert h4 { margin-block: 0 0.25rem; font-size: 1rem; }
.bsp-alert ul { margin: 0; padding-inline-start: 1.25rem; }
.bsp-alert a, .bsp-alert button.bsp-link {
  color: var(--bs-danger, #b42318); background: none; border: none; padding: 0; min-block-size: 0;
  font-weight: 600; text-decoration: underline; cursor: pointer; text-align: start;
}
.bsp-saved { color: #1a5e2a; font-weight: 600; }
.bsp-list { list-style: none; margin: 0; padding: 0; }
.bsp-list > li { margin-block: 0 0.75rem; }
.bsp-counts { display: flex; flex-wrap: wrap; gap: 0.5rem; list-style: none; margin: 0 0 1rem; padding: 0; }
.bsp-counts li { border: 1px solid var(--bs-border, #d4d2ca); border-radius: 8px; padding: 0.25rem 0.75rem; background: var(--bs-surface, #ffffff); }
.bsp-counts strong { font-size: 1.125rem; margin-inline-end: 0.25rem; }
.bsp-table-wrap { overflow-x: auto; margin-block: 1rem; }
.bsp table { border-collapse: collapse; inline-size: 100%; background: var(--bs-surface, #ffffff); }
.bsp caption { text-align: start; font-weight: 600; padding-block: 0.25rem; }
.bsp th, .bsp td { text-align: start; vertical-align: top; padding: 0.5rem; border-block-end: 1px solid var(--bs-border, #d4d2ca); }
.bsp thead th { border-block-end: 2px solid var(--bs-muted, #595f66); }
.bsp-record { margin: 0; padding-inline-start: 1.25rem; }
.bsp-record li { margin-block-end: 0.25rem; }
.bsp-prefs { display: grid; gap: 0 1rem; }
.bsp-channels { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 0.5rem 1rem; }
.bsp-channels select { inline-size: 100%; }
.bsp-vh {
  position: absolute !important; inline-size: 1px; block-size: 1px; overflow: hidden;
  clip: rect(0 0 0 0); clip-path: inset(50%); white-space: nowrap; margin: -1px; padding: 0; border: 0;
}
.bsp-withdrawn { text-decoration: line-through; }
@media (max-width: 30rem) {
  .bsp-card { padding: 0.75rem; }
  .bsp fieldset { padding: 0.5rem 0.75rem 0.75rem; }
  .bsp-actions > button { flex: 1 1 auto; }
  .bsp-channels { grid-template-columns: minmax(0, 1fr); }
  .bsp-results thead {
    position: absolute; inline-size: 1px; block-size: 1px; overflow: hidden; clip-path: inset(50%);
  }
  .bsp-results tr { display: block; padding: 0.5rem; border-block-end: 1px solid var(--bs-border, #d4d2ca); }
  .bsp-results th, .bsp-results td { display: block; padding: 0.125rem 0; border: none; }
}
@media (prefers-reduced-motion: no-preference) {
  .bsp button { transition: background-color 120ms ease-out; }
}
`;

export const panelSheet = new CSSStyleSheet();
panelSheet.replaceSync(CSS);

/** Adopt the panels' sheet into the root (shadow root or document) of `container`. */
export function adoptPanelSheet(container) {
  const root = container.getRootNode();
  if (!root || !("adoptedStyleSheets" in root)) return;
  if (!root.adoptedStyleSheets.includes(panelSheet)) {
    root.adoptedStyleSheets = [...root.adoptedStyleSheets, panelSheet];
  }
}

/**
 * A small element builder, so the panels do not depend on how the shell's h() spells
 * its options: el("button", {type: "button", class: "x", on: {click}}, "text", child).
 * Keys: `on` (listeners), `props` (properties), `class`, anything else an attribute
 * (false/null/undefined leave it out, true sets it empty). Children: nodes or text.
 */
export function el(tag, options = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(options || {})) {
    if (key === "on") {
      for (const [type, fn] of Object.entries(value)) node.addEventListener(type, fn);
    } else if (key === "props") {
      Object.assign(node, value);
    } else if (value === true) {
      node.setAttribute(key, "");
    } else if (value !== false && value !== null && value !== undefined) {
      node.setAttribute(key, String(value));
    }
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : String(child));
  }
}

let counter = 0;
/** A unique id for label/field and describedby pairs inside one shadow root. */
export function uid(prefix) {
  counter += 1;
  return `bsp-${prefix}-${counter}`;
}

/** Call `fn` once when the shell unmounts `container` (its budstikke-unmount event). */
export function onUnmount(container, fn) {
  container.addEventListener("budstikke-unmount", fn, {once: true});
}

/** Intl formats in the reader's locale; dates without a time are read as calendar days. */
export function formats(ctx) {
  const locale = (ctx.i18n && ctx.i18n.locale) || "da";
  const make = (options) => new Intl.DateTimeFormat(locale, options);
  const day = make({weekday: "long", day: "numeric", month: "long", timeZone: "UTC"});
  const shortDay = make({day: "numeric", month: "short"});
  const time = make({hour: "2-digit", minute: "2-digit"});
  return {
    /** "2026-12-03" → "torsdag 3. december" */
    day: (iso) => day.format(new Date(`${iso}T00:00:00Z`)),
    /** a date-time → "3. dec." (local) */
    shortDate: (iso) => shortDay.format(new Date(iso)),
    /** a date-time → "14.02" (local) */
    time: (iso) => time.format(new Date(iso)),
  };
}

/** Today's date (YYYY-MM-DD) in a time zone (the institutions' by default). */
export function todayIn(zone = "Europe/Copenhagen") {
  try {
    return new Intl.DateTimeFormat("en-CA", {timeZone: zone}).format(new Date());
  } catch {
    return new Date().toISOString().slice(0, 10);
  }
}

/** The problem document's `errors` (or its detail) of a failed API call, as text. */
export function problemErrors(error) {
  const problem = (error && error.problem) || {};
  if (Array.isArray(problem.errors) && problem.errors.length) return problem.errors;
  return [problem.detail || (error && error.message) || String(error)];
}

// Elements and attributes a server-sanitised body may keep (the server already
// sanitises; this is a second line, so the panels never insert HTML as given).
const SAFE_TAGS = new Set([
  "P", "BR", "STRONG", "B", "EM", "I", "U", "S", "DEL", "UL", "OL", "LI", "BLOCKQUOTE",
  "CODE", "PRE", "H3", "H4", "H5", "H6", "A", "HR", "SPAN",
]);

/** A fragment of the sanitised HTML of a question, with only the tags above kept. */
export function safeHtml(html) {
  const parsed = new DOMParser().parseFromString(`<body>${html || ""}</body>`, "text/html");
  const fragment = document.createDocumentFragment();
  const copy = (source, target) => {
    for (const node of source.childNodes) {
      if (node.nodeType === Node.TEXT_NODE) {
        target.append(node.textContent);
      } else if (node.nodeType === Node.ELEMENT_NODE) {
        if (!SAFE_TAGS.has(node.tagName)) {
          if (!["SCRIPT", "STYLE", "TEMPLATE", "IFRAME", "OBJECT"].includes(node.tagName)) copy(node, target);
          continue;
        }
        const clean = document.createElement(node.tagName.toLowerCase());
        if (node.tagName === "A") {
          const href = node.getAttribute("href") || "";
          if (/^(https?:|mailto:)/i.test(href)) {
            clean.setAttribute("href", href);
            clean.setAttribute("rel", "noopener noreferrer");
            clean.setAttribute("target", "_blank");
          }
        }
        copy(node, clean);
        target.append(clean);
      }
    }
  };
  copy(parsed.body, fragment);
  return fragment;
}

/** Fetch a file through the API client (with the reader's token) and save it. */
export async function download(ctx, path, fileName) {
  const blob = typeof ctx.api.blob === "function"
    ? await ctx.api.blob(path)
    : await ctx.api.get(path, {blob: true});
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}
