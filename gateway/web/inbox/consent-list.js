// Consent requests (samtykker): the consent items of the reader's feed, and one opened
// request, which the consent panel (./consent.js, loaded when needed) renders.

import {clear, h, uid} from "./dom.js";
import {loadPanel} from "./lazy.js";
import {backButton, childInstitutions, debounce, isNewToReader, loadingLine, timeElement, whileMounted} from "./pieces.js";

/** The feed's consent requests (a thread of category `consent`). */
export function consentItems(ctx, items) {
  const institutions = childInstitutions(ctx);
  return items.filter(
    (item) =>
      item.category === "consent" &&
      (!institutions || !item.institution_id || institutions.has(item.institution_id)),
  );
}

/** The consent request's id: the API names it on the item (thread id otherwise). */

export async function renderConsents(ctx, container, {open = null, focusItem = null} = {}) {
  if (open) return renderOne(ctx, container, open);
  const {t} = ctx.i18n;
  const headingId = uid("consents");
  const heading = h("h2", {id: headingId, tabindex: "-1"}, t("Consents"));
  const body = h("div", {"aria-busy": "true"}, loadingLine(ctx, t("Loading consent requests…")));
  container.append(h("div", {class: "view-head"}, heading), body);
  const list = h("ul", {class: "list", role: "list", "aria-labelledby": headingId});

  async function load() {
    const feed = await ctx.api.get("/v1/inbox/announcements");
    const items = consentItems(ctx, feed.items);
    clear(list);
    for (const item of items) list.append(consentItem(ctx, item));
    clear(body);
    body.removeAttribute("aria-busy");
    body.append(items.length ? list : h("p", {class: "empty"}, t("There are no consent requests.")));
  }

  try {
    await load();
  } catch (error) {
    clear(body);
    body.removeAttribute("aria-busy");
    ctx.showError(body, error);
    return;
  }
  if (focusItem) (list.querySelector(`[data-consent="${CSS.escape(focusItem)}"]`) || heading).focus();
  const refresh = debounce(() => load().catch(() => {}), 200);
  whileMounted(ctx, container, (event) => {
    if (event.type === "consent" || event.type === "resync") refresh();
  });
}

function consentItem(ctx, item) {
  const {t} = ctx.i18n;
  const fresh = isNewToReader(ctx, item);
  const button = h(
    "button",
    {type: "button", class: "thread-link", "data-consent": item.id},
    h(
      "span",
      {class: "thread-line"},
      h("span", {class: "thread-subject"}, h("bdi", null, item.subject)),
      fresh ? h("span", {class: "badge"}, t("New")) : null,
      h("span", {class: "sr-only"}, ", "),
      h("span", {class: "thread-time"}, timeElement(ctx, item.published_at)),
    ),
    h("span", {class: "thread-meta"}, h("span", null, t("From {name}", {name: item.sender.name}))),
  );
  button.addEventListener("click", () => ctx.navigate({view: "consents", id: item.id}));
  return h("li", {class: fresh ? "thread-item unread" : "thread-item"}, button);
}

/** One request: its consent panel, by the id the announcement feed gives. */
async function renderOne(ctx, container, threadId) {
  const {t} = ctx.i18n;
  container.append(backButton(t("Back to consents"), () => ctx.navigate({view: "consents"})));
  const body = h("div", {"aria-busy": "true"}, loadingLine(ctx));
  container.append(body);
  let item;
  try {
    const feed = await ctx.api.get("/v1/inbox/announcements");
    item = feed.items.find((i) => i.id === threadId) || null;
  } catch (error) {
    clear(body);
    body.removeAttribute("aria-busy");
    ctx.showError(body, error);
    return;
  }
  clear(body);
  body.removeAttribute("aria-busy");
  // A request not (or no longer) in the feed is opened by its id: the panel says why not.
  const consentId = item ? item.consent_id : threadId;
  if (item && !item.read) {
    ctx.api.post(`/v1/inbox/announcements/${encodeURIComponent(item.id)}/read`, {})
      .then(() => ctx.refreshCounts?.())
      .catch(() => {});
  }
  const panel = h("div", {class: "panel"});
  body.append(panel);
  await loadPanel(ctx, panel, "consent", (module) => module.renderConsent(ctx, panel, consentId));
  panel.querySelector("h2, h3")?.setAttribute("tabindex", "-1");
  panel.querySelector("h2, h3")?.focus();
}
