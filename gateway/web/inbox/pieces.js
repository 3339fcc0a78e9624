// Small UI pieces the inbox's own views share: markers, the back button, a loading
// line, and live subscriptions that end when the view is unmounted.

import {ICONS, h, icon} from "./dom.js";

/** Subscribe to live events for as long as `container` is shown. */
export function whileMounted(ctx, container, handler) {
  if (!container.isConnected) return () => {};
  const off = ctx.onEvent(handler);
  container.addEventListener("budstikke-unmount", off, {once: true});
  return off;
}

/** A run-once-after-a-pause wrapper, so a burst of events costs one refresh. */
export function debounce(fn, ms = 150) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

export function loadingLine(ctx, text) {
  return h("p", {class: "loading", role: "status"}, text || ctx.i18n.t("Loading…"));
}

/** The marker of a sensitive thread: an icon and the word, never colour alone. */
export function sensitiveTag(ctx) {
  return h("span", {class: "tag tag-sensitive"}, icon(ICONS.lock, {size: 14}), ctx.i18n.t("Sensitive"));
}

export function urgentTag(ctx) {
  return h("span", {class: "tag tag-urgent"}, icon(ICONS.alert, {size: 14}), ctx.i18n.t("Urgent"));
}

export function importantTag(ctx) {
  return h("span", {class: "tag tag-important"}, icon(ICONS.star, {size: 14}), ctx.i18n.t("Important"));
}

/** Whether a feed item (announcement, consent request) is new to the reader; never their own. */
export function isNewToReader(ctx, item) {
  return !item.read && item.sender?.id !== ctx.me.id;
}

/** Whether a thread is urgent (an emergency), in whichever way the API marks it. */
export function isUrgent(thread) {
  return thread.urgent === true || thread.category === "urgent";
}

export function backButton(label, onClick) {
  return h(
    "button",
    {type: "button", class: "link-button back", on: {click: onClick}},
    icon(ICONS.back, {size: 18, name: "back"}),
    label,
  );
}

/** The names of the reader's children a thread regards (guardians; others: none). */
export function childNames(ctx, ids) {
  const children = ctx.me?.children || [];
  return (ids || [])
    .map((id) => children.find((child) => child.id === id))
    .filter(Boolean)
    .map((child) => child.display_name);
}

/** A list of names as the language joins them ("Lærke og Otto"). */
export function joinNames(ctx, names) {
  try {
    return new Intl.ListFormat(ctx.i18n.locale, {type: "conjunction"}).format(names);
  } catch {
    return names.join(", ");
  }
}

/** The child filter's institutions (announcements carry no child, only an institution). */
export function childInstitutions(ctx) {
  if (!ctx.child) return null;
  const child = (ctx.me?.children || []).find((c) => c.id === ctx.child);
  return child ? new Set(child.institution_ids) : null;
}

export function timeElement(ctx, iso, format = "when") {
  return h("time", {datetime: iso, title: ctx.i18n.dateTime(iso)}, ctx.i18n[format](iso));
}

/** Bytes as a short size ("12 kB"). */
export function fileSize(ctx, bytes) {
  const units = ["B", "kB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const number = new Intl.NumberFormat(ctx.i18n.locale, {maximumFractionDigits: unit ? 1 : 0}).format(value);
  return `${number} ${units[unit]}`;
}

/**
 * Attachments as buttons that fetch the file with the reader's token (a plain link
 * could not send it) and hand it to the browser through an object URL.
 */
export function attachmentList(ctx, attachments) {
  if (!attachments || !attachments.length) return null;
  const {t} = ctx.i18n;
  return h(
    "ul",
    {class: "attachments", role: "list", "aria-label": t("Attachments")},
    attachments.map((file) => {
      const status = h("span", {class: "attachment-size", role: "status"});
      const button = h(
        "button",
        {type: "button", class: "link-button", on: {click: () => download(ctx, file, button, status)}},
        icon(ICONS.clip, {size: 16}),
        h("span", null, t("Download {name}", {name: file.file_name})),
      );
      return h("li", null, button, " ", h("span", {class: "attachment-size"}, `(${fileSize(ctx, file.size)})`), " ", status);
    }),
  );
}

async function download(ctx, file, button, status) {
  const {t} = ctx.i18n;
  button.disabled = true;
  status.textContent = t("Downloading…");
  try {
    const blob = await ctx.api.blob(`/v1/attachments/${encodeURIComponent(file.id)}`);
    const url = URL.createObjectURL(blob);
    const link = h("a", {href: url, download: file.file_name, hidden: true});
    button.after(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    status.textContent = "";
  } catch (error) {
    status.textContent = error?.assuranceTooLow
      ? t("Log in with MitID to open this file.")
      : t("The file could not be downloaded. Try again.");
  } finally {
    button.disabled = false;
  }
}
