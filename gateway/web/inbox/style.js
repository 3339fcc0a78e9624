// The component's stylesheet (shadow DOM), as a constructable stylesheet: no <style>
// element, so a portal's CSP needs no 'unsafe-inline' for it. Logical properties
// throughout, so right-to-left (Arabic) mirrors by itself.

export const CSS = String.raw`
:host {
  --bs-bg: #f7f6f2;
  --bs-surface: #ffffff;
  --bs-text: #1f2328;
  --bs-muted: #595f66;
  --bs-border: #d4d2ca;
  --bs-accent: #1d4e89;
  --bs-accent-text: #ffffff;
  --bs-unread: #1d4e89;
  --bs-danger: #b42318;
  --bs-warning-bg: #fff4d6;
  --bs-focus: #ffbf47;
  --bs-radius: 8px;
  --bs-own: #eef3f9;
  display: block;
  min-width: 0;
  max-width: 100%;
  color: var(--bs-text);
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans", "Noto Sans Arabic", sans-serif;
  font-size: 16px;
  line-height: 1.5;
}
:host([hidden]) { display: none; }
*, *::before, *::after { box-sizing: border-box; }
[hidden] { display: none !important; }

.root {
  position: relative;
  background: var(--bs-surface);
  border: 1px solid var(--bs-border);
  border-radius: var(--bs-radius);
  overflow: hidden;
  text-align: start;
  min-width: 0;
}
.loading, .empty { padding: 1.5rem 1rem; color: var(--bs-muted); margin: 0; }

/* Header: the navigation and the child filter */
.shell-header {
  display: flex;
  flex-wrap: wrap;
  align-items: center;
  gap: .5rem 1rem;
  padding: .5rem .75rem 0;
  border-block-end: 1px solid var(--bs-border);
  background: var(--bs-surface);
}
.shell-header nav { flex: 1 1 20rem; min-width: 0; }
.nav-list {
  position: relative;
  display: flex;
  gap: .25rem;
  margin: 0;
  padding: 0 0 0;
  flex-wrap: wrap;
  list-style: none;
}
.nav-list li { flex: 0 0 auto; }
.nav-item {
  position: relative;
  display: inline-flex;
  align-items: center;
  gap: .4rem;
  min-height: 44px;
  padding: .5rem .75rem;
  margin: 4px 2px;
  border: 0;
  border-block-end: 3px solid transparent;
  border-radius: var(--bs-radius) var(--bs-radius) 0 0;
  background: transparent;
  color: var(--bs-text);
  font: inherit;
  cursor: pointer;
  white-space: nowrap;
}
.nav-item:hover { background: var(--bs-bg); }
.nav-item[aria-current="page"] {
  border-block-end-color: var(--bs-accent);
  color: var(--bs-accent);
  font-weight: 700;
}
.child-filter { display: flex; align-items: center; gap: .5rem; padding-block: .25rem; }
.child-filter label { color: var(--bs-muted); font-size: .875rem; }
select, textarea, input {
  font: inherit;
  color: var(--bs-text);
  background: var(--bs-surface);
  border: 1px solid #8a8c8f;
  border-radius: var(--bs-radius);
}
select { min-height: 44px; padding: .25rem .5rem; max-width: 100%; }

/* Focus: always visible for the keyboard, a yellow ring with a dark inner ring */
:focus { outline: none; }
:focus-visible {
  outline: 3px solid var(--bs-focus);
  outline-offset: 2px;
  box-shadow: 0 0 0 2px var(--bs-text);
}
[tabindex="-1"]:focus-visible { box-shadow: none; outline-offset: 4px; }

.view { padding: 1rem; min-width: 0; }
.panel + .panel { margin-block-start: 1.5rem; }
section > h2 { margin-block-end: .75rem; }
.view-head {
  display: flex;
  flex-wrap: wrap;
  align-items: baseline;
  justify-content: space-between;
  gap: .5rem;
  margin-block-end: .75rem;
}
h2 { font-size: 1.375rem; line-height: 1.3; margin: 0; overflow-wrap: anywhere; }
h3 { font-size: 1rem; margin: 0; }

/* Badges and markers: never colour alone — each has text (visible or for screen readers) */
.badge {
  display: inline-flex;
  align-items: center;
  justify-content: center;
  min-width: 1.5rem;
  height: 1.5rem;
  padding: 0 .4rem;
  border-radius: 999px;
  background: var(--bs-unread);
  color: var(--bs-accent-text);
  font-size: .8125rem;
  font-weight: 700;
  line-height: 1;
  flex: 0 0 auto;
}
.tag {
  display: inline-flex;
  align-items: center;
  gap: .25rem;
  padding: .0625rem .5rem;
  border-radius: 999px;
  border: 1px solid currentColor;
  font-size: .8125rem;
  font-weight: 600;
  line-height: 1.4;
  white-space: nowrap;
}
.tag-sensitive { color: #5b2a86; background: #f6f0fb; }
.tag-urgent { color: var(--bs-danger); background: #fdf0ef; }
.tag-important { color: #7a4b00; background: var(--bs-warning-bg); }
.tag-muted { color: var(--bs-muted); }
.icon { flex: 0 0 auto; }
.root[dir="rtl"] .icon-back { transform: scaleX(-1); }

/* Thread list */
.list { list-style: none; margin: 0; padding: 0; }
.thread-item + .thread-item { border-block-start: 1px solid var(--bs-border); }
.thread-link {
  position: relative;
  display: block;
  width: 100%;
  padding: .75rem .75rem .75rem calc(.75rem + 4px);
  border: 0;
  border-inline-start: 4px solid transparent;
  border-radius: 0;
  background: transparent;
  color: inherit;
  font: inherit;
  text-align: start;
  cursor: pointer;
}
.thread-link:hover { background: var(--bs-bg); }
.thread-item.unread .thread-link { border-inline-start-color: var(--bs-unread); }
.thread-line { display: flex; align-items: center; gap: .5rem; min-width: 0; }
.thread-subject {
  flex: 1 1 auto;
  min-width: 0;
  overflow-wrap: anywhere;
  font-weight: 500;
}
.thread-item.unread .thread-subject { font-weight: 700; }
.thread-time { flex: 0 0 auto; color: var(--bs-muted); font-size: .875rem; }
.thread-meta {
  display: flex;
  flex-wrap: wrap;
  align-items: center;
  gap: .25rem .75rem;
  margin-block-start: .25rem;
  color: var(--bs-muted);
  font-size: .875rem;
}
.more { margin-block-start: 1rem; }

/* Buttons */
.button {
  display: inline-flex;
  align-items: center;
  gap: .4rem;
  min-height: 44px;
  padding: .5rem 1rem;
  border: 1px solid var(--bs-accent);
  border-radius: var(--bs-radius);
  background: var(--bs-accent);
  color: var(--bs-accent-text);
  font: inherit;
  font-weight: 600;
  cursor: pointer;
}
.button:hover { filter: brightness(1.1); }
.button[disabled] { opacity: .6; cursor: progress; }
.button.secondary { background: var(--bs-surface); color: var(--bs-accent); }
.link-button {
  display: inline-flex;
  align-items: center;
  gap: .4rem;
  min-height: 44px;
  padding: .25rem .25rem;
  border: 0;
  background: transparent;
  color: var(--bs-accent);
  font: inherit;
  text-decoration: underline;
  text-underline-offset: 2px;
  cursor: pointer;
  text-align: start;
  overflow-wrap: anywhere;
}
.back { margin-block-end: .5rem; margin-inline-start: -.25rem; }

/* Thread view */
.thread-markers { display: flex; flex-wrap: wrap; gap: .5rem; margin-block: .5rem; }
.thread-sub { color: var(--bs-muted); font-size: .875rem; margin: .25rem 0 0; }
.list-summary { margin: -.5rem 0 .5rem; }
.list-summary:empty { display: none; }
.receipts {
  margin-block: .75rem;
  padding: .5rem .75rem;
  border: 1px solid var(--bs-border);
  border-radius: var(--bs-radius);
  background: var(--bs-bg);
}
.receipts summary { cursor: pointer; font-weight: 600; min-height: 32px; padding-block: .25rem; }
.receipts ul { margin: .5rem 0 0; padding-inline-start: 1.25rem; columns: 16rem; }
.receipts li { break-inside: avoid; }
.receipt-state { color: var(--bs-muted); }
.messages { list-style: none; margin: 1rem 0; padding: 0; display: grid; gap: .75rem; }
.message {
  padding: .75rem 1rem;
  border: 1px solid var(--bs-border);
  border-radius: var(--bs-radius);
  background: var(--bs-surface);
  min-width: 0;
}
.message.own { background: var(--bs-own); }
.message.fresh { animation: bs-arrive .6s ease-out; }
@keyframes bs-arrive { from { background: var(--bs-warning-bg); } }
.message-head {
  display: flex;
  flex-wrap: wrap;
  align-items: baseline;
  gap: .25rem .75rem;
  margin-block-end: .25rem;
}
.message-time { color: var(--bs-muted); font-size: .875rem; }
.message-body { overflow-wrap: anywhere; }
.message-body > :first-child { margin-block-start: 0; }
.message-body > :last-child { margin-block-end: 0; }
.message-body img, .message-body table, .message-body pre { max-width: 100%; }
.message-body pre, .message-body table { display: block; overflow-x: auto; }
.message-body a { color: var(--bs-accent); }
.recalled { color: var(--bs-muted); font-style: italic; margin: 0; }
.attachments { list-style: none; margin: .5rem 0 0; padding: 0; display: flex; flex-wrap: wrap; gap: .25rem 1rem; }
.attachment-size { color: var(--bs-muted); font-size: .875rem; }

.reply { margin-block-start: 1rem; display: grid; gap: .5rem; }
.reply label { font-weight: 600; }
.reply textarea { width: 100%; min-height: 6rem; padding: .5rem .75rem; resize: vertical; }
.reply-actions { display: flex; flex-wrap: wrap; align-items: center; gap: .75rem; }
.no-reply { color: var(--bs-muted); margin-block-start: 1rem; }
.form-error { color: var(--bs-danger); margin: 0; }

/* Announcements */
.announcement {
  border: 1px solid var(--bs-border);
  border-radius: var(--bs-radius);
  background: var(--bs-surface);
}
.announcement + .announcement { margin-block-start: .75rem; }
.announcement.important { border-color: #c99a2e; border-inline-start: 4px solid #c99a2e; }
.announcement h3 { margin: 0; font-weight: 400; }
.announcement:not([data-read="true"]) .thread-subject { font-weight: 700; }
.announcement-toggle {
  position: relative;
  display: block;
  width: 100%;
  padding: .75rem 1rem;
  border: 0;
  border-radius: var(--bs-radius);
  background: transparent;
  color: inherit;
  font: inherit;
  text-align: start;
  cursor: pointer;
}
.announcement-toggle:hover { background: var(--bs-bg); }
.announcement-body { padding: 0 1rem 1rem; }

/* Errors and notices */
.problem {
  margin: 1rem 0;
  padding: .75rem 1rem;
  border: 1px solid #c99a2e;
  border-inline-start: 4px solid #c99a2e;
  border-radius: var(--bs-radius);
  background: var(--bs-warning-bg);
  color: var(--bs-text);
}
.problem p { margin: 0 0 .5rem; }
.problem p:last-child { margin-block-end: 0; }
.problem .code { color: var(--bs-muted); font-size: .875rem; }
.problem .button { margin-block-start: .25rem; }

.sr-only {
  position: absolute !important;
  width: 1px; height: 1px;
  padding: 0; margin: -1px;
  overflow: hidden; clip: rect(0 0 0 0);
  white-space: nowrap; border: 0;
}

@media (max-width: 480px) {
  .view { padding: .75rem; }
  .shell-header { padding-inline: .25rem; }
  .nav-item { padding-inline: .5rem; margin-inline: 0; }
  .message { padding: .75rem; }
}

@media (prefers-reduced-motion: reduce) {
  *, *::before, *::after {
    animation: none !important;
    transition: none !important;
    scroll-behavior: auto !important;
  }
}
`;

let shared = null;

/** Put the stylesheet on a shadow root (shared between instances). */
export function adoptStyles(root) {
  if ("adoptedStyleSheets" in root && typeof CSSStyleSheet === "function" && "replaceSync" in CSSStyleSheet.prototype) {
    if (!shared) {
      shared = new CSSStyleSheet();
      shared.replaceSync(CSS);
    }
    root.adoptedStyleSheets = [...root.adoptedStyleSheets.filter((s) => s !== shared), shared];
    return;
  }
  const style = document.createElement("style");
  style.textContent = CSS;
  root.prepend(style);
}
