// The thread list: newest activity first, one button per thread, pages on demand,
// refreshed live when a message arrives or a thread changes.

import {query} from "./api.js";
import {clear, h, uid} from "./dom.js";
import {
  childNames,
  debounce,
  isUrgent,
  joinNames,
  loadingLine,
  sensitiveTag,
  timeElement,
  urgentTag,
  whileMounted,
} from "./pieces.js";

const PAGE = 25;
const REFRESH_ON = new Set(["message", "recalled", "thread_joined", "read", "resync"]);

/**
 * renderThreads(ctx, container, {focusThread}) — focusThread: a thread id whose item
 * gets the focus once shown (coming back from it), or "heading".
 */
export async function renderThreads(ctx, container, {focusThread = null} = {}) {
  const {t, tn} = ctx.i18n;
  const headingId = uid("threads");
  const heading = h("h2", {id: headingId, tabindex: "-1"}, t("Messages"));
  const summary = h("p", {class: "thread-sub list-summary"});
  const list = h("ul", {class: "list", role: "list", "aria-labelledby": headingId});
  const body = h("div", {"aria-busy": "true"}, loadingLine(ctx, t("Loading messages…")));
  const more = h("div", {class: "more"});
  container.append(h("div", {class: "view-head"}, heading), summary, body, more);

  let items = [];
  let cursor = null;
  let known = null; // ids shown, to tell which threads are new in a live refresh

  async function load({append = false, live = false} = {}) {
    const limit = append ? PAGE : Math.min(100, Math.max(PAGE, items.length));
    const page = await ctx.api.get(
      "/v1/inbox/threads" + query({child: ctx.child, limit, cursor: append ? cursor : null}),
    );
    const fresh = live && known ? page.items.filter((item) => !known.has(item.id) || isNewer(item)) : [];
    items = append ? [...items, ...page.items] : page.items;
    cursor = page.next_cursor;
    for (const item of page.items) ctx.cache?.threads.set(item.id, item);
    known = new Map(items.map((item) => [item.id, item.last_message_at]));
    draw();
    if (fresh.length) {
      const newest = fresh[0];
      ctx.announce(t("New message: {subject}", {subject: newest.subject || t("(no subject)")}));
    }
  }

  function isNewer(item) {
    return known.get(item.id) !== item.last_message_at && item.unread_count > 0;
  }

  function draw() {
    const focused = container.getRootNode().activeElement;
    const focusedId = focused?.dataset?.thread || null;
    clear(list);
    for (const item of items) list.append(threadItem(ctx, item));
    clear(body);
    body.removeAttribute("aria-busy");
    const unread = items.reduce((sum, item) => sum + (item.unread_count > 0 ? 1 : 0), 0);
    summary.textContent = items.length
      ? tn("{n} unread thread", "{n} unread threads", unread)
      : "";
    if (items.length) {
      body.append(list);
    } else {
      const names = ctx.child ? childNames(ctx, [ctx.child]) : [];
      body.append(h("p", {class: "empty"}, names.length
        ? t("No messages about {name}.", {name: names[0]})
        : t("You have no messages.")));
    }
    clear(more);
    if (cursor) {
      const button = h("button", {type: "button", class: "button secondary"}, t("Show more"));
      button.addEventListener("click", async () => {
        button.disabled = true;
        const first = items.length;
        try {
          await load({append: true});
          list.children[first]?.querySelector("button")?.focus();
        } catch (error) {
          ctx.showError(more, error);
        }
      });
      more.append(button);
    }
    if (focusedId) list.querySelector(`[data-thread="${CSS.escape(focusedId)}"]`)?.focus();
  }

  try {
    await load();
  } catch (error) {
    clear(body);
    body.removeAttribute("aria-busy");
    ctx.showError(body, error);
    return;
  }
  const refresh = debounce(() => load({live: true}).catch(() => {}), 200);
  whileMounted(ctx, container, (event) => {
    if (!REFRESH_ON.has(event.type)) return;
    if (event.type === "read" && event.person_id !== ctx.me.id) return;
    refresh();
  });
  if (focusThread === "heading") heading.focus();
  else if (focusThread) {
    const target = list.querySelector(`[data-thread="${CSS.escape(focusThread)}"]`);
    (target || heading).focus();
  }
}

function threadItem(ctx, item) {
  const {t, tn} = ctx.i18n;
  const unread = item.unread_count > 0;
  const names = childNames(ctx, item.regarding);
  const who = item.sender
    ? item.sender.id === ctx.me.id
      ? t("Sent by you")
      : t("From {name}", {name: item.sender.name})
    : null;
  const button = h(
    "button",
    {type: "button", class: "thread-link", "data-thread": item.id},
    h(
      "span",
      {class: "thread-line"},
      h("span", {class: "thread-subject"}, h("bdi", null, item.subject || t("(no subject)"))),
      unread ? h("span", {class: "badge", "aria-hidden": "true"}, ctx.i18n.number(item.unread_count)) : null,
      unread
        ? h("span", {class: "sr-only"}, ", " + tn("{n} unread message", "{n} unread messages", item.unread_count))
        : null,
      h("span", {class: "sr-only"}, ", "),
      h("span", {class: "thread-time"}, timeElement(ctx, item.last_message_at)),
    ),
    h(
      "span",
      {class: "thread-meta"},
      item.sensitive ? sensitiveTag(ctx) : null,
      isUrgent(item) ? urgentTag(ctx) : null,
      who ? h("span", null, who) : null,
      names.length ? h("span", null, t("About {names}", {names: joinNames(ctx, names)})) : null,
    ),
  );
  button.addEventListener("click", () => ctx.navigate({view: "thread", id: item.id}));
  return h("li", {class: unread ? "thread-item unread" : "thread-item"}, button);
}
