// Announcements (opslag): the reader's feed, important ones on top; each opens in
// place (a disclosure button) and is marked read when it is first opened.

import {clear, h, setSanitisedHtml, uid} from "./dom.js";
import {
  attachmentList,
  childInstitutions,
  debounce,
  importantTag,
  isNewToReader,
  loadingLine,
  timeElement,
  whileMounted,
} from "./pieces.js";

/** The feed's items that are announcements proper (consent requests have their own view). */
export function plainAnnouncements(ctx, items) {
  const institutions = childInstitutions(ctx);
  return items.filter(
    (item) =>
      item.category !== "consent" &&
      (!institutions || !item.institution_id || institutions.has(item.institution_id)),
  );
}

export async function renderAnnouncements(ctx, container, {open = null, focus = false} = {}) {
  const {t} = ctx.i18n;
  const headingId = uid("announcements");
  const heading = h("h2", {id: headingId, tabindex: "-1"}, t("Announcements"));
  const body = h("div", {"aria-busy": "true"}, loadingLine(ctx, t("Loading announcements…")));
  container.append(h("div", {class: "view-head"}, heading), body);
  const expanded = new Set(open ? [open] : []);
  const list = h("ul", {class: "list", role: "list", "aria-labelledby": headingId});

  async function load() {
    const feed = await ctx.api.get("/v1/inbox/announcements");
    // The API sorts important first; keep that even if a portal proxy reorders.
    const items = plainAnnouncements(ctx, feed.items)
      .map((item, index) => ({item, index}))
      .sort((a, b) => Number(b.item.important) - Number(a.item.important) || a.index - b.index)
      .map(({item}) => item);
    const focusedId = container.getRootNode().activeElement?.dataset?.announcement || null;
    clear(list);
    for (const item of items) list.append(announcementItem(ctx, item, expanded));
    clear(body);
    body.removeAttribute("aria-busy");
    body.append(items.length ? list : h("p", {class: "empty"}, t("There are no announcements.")));
    if (focusedId) list.querySelector(`[data-announcement="${CSS.escape(focusedId)}"]`)?.focus();
    return items;
  }

  let items;
  try {
    items = await load();
  } catch (error) {
    clear(body);
    body.removeAttribute("aria-busy");
    ctx.showError(body, error);
    return;
  }
  if (focus && !open) heading.focus();
  if (open) {
    const item = items.find((i) => i.id === open);
    if (item && !item.read) markRead(ctx, item, list);
    list.querySelector(`[data-announcement="${CSS.escape(open)}"]`)?.focus();
  }
  const refresh = debounce(() => load().catch(() => {}), 200);
  whileMounted(ctx, container, (event) => {
    if (event.type === "announcement" || event.type === "resync") {
      if (event.type === "announcement") ctx.announce(t("New announcement"));
      refresh();
    }
  });
}

function announcementItem(ctx, item, expanded) {
  const {t} = ctx.i18n;
  const bodyId = uid("announcement-body");
  const isOpen = expanded.has(item.id);
  const fresh = isNewToReader(ctx, item);
  const badge = fresh ? h("span", {class: "badge"}, t("New")) : null;
  const toggle = h(
    "button",
    {
      type: "button",
      class: "announcement-toggle",
      "aria-expanded": isOpen ? "true" : "false",
      "aria-controls": bodyId,
      "data-announcement": item.id,
    },
    h(
      "span",
      {class: "thread-line"},
      h("span", {class: "thread-subject"}, h("bdi", null, item.subject)),
      badge,
      h("span", {class: "sr-only"}, ", "),
      h("span", {class: "thread-time"}, timeElement(ctx, item.published_at)),
    ),
    h(
      "span",
      {class: "thread-meta"},
      item.important ? importantTag(ctx) : null,
      h("span", null, t("From {name}", {name: item.sender.name})),
    ),
  );
  const content = h("div", {class: "message-body", dir: "auto"});
  setSanitisedHtml(content, item.body_html);
  const panel = h("div", {id: bodyId, class: "announcement-body"}, content, attachmentList(ctx, item.attachments));
  panel.hidden = !isOpen;
  const article = h(
    "li",
    {class: item.important ? "announcement important" : "announcement", "data-read": fresh ? "false" : "true"},
    h("h3", null, toggle),
    panel,
  );
  toggle.addEventListener("click", () => {
    const opening = panel.hidden;
    panel.hidden = !opening;
    toggle.setAttribute("aria-expanded", opening ? "true" : "false");
    if (opening) expanded.add(item.id);
    else expanded.delete(item.id);
    if (opening && !item.read) markRead(ctx, item, article);
  });
  return article;
}

async function markRead(ctx, item, scope) {
  try {
    await ctx.api.post(`/v1/inbox/announcements/${encodeURIComponent(item.id)}/read`, {});
    item.read = true;
    const element = scope.matches?.("li") ? scope : scope.querySelector(`[data-announcement="${CSS.escape(item.id)}"]`)?.closest("li");
    element?.querySelector(".badge")?.remove();
    element?.setAttribute("data-read", "true");
    ctx.refreshCounts?.();
  } catch {
    // Stays unread; it is marked the next time it opens.
  }
}
