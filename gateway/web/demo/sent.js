// What this demo person sent in this tab's session (sessionStorage), newest first.
import {h} from "./dom.js";
import {dateTime, t, tn} from "./i18n.js";
import {demoHref} from "./token.js";

const STORE = "budstikke-demo-sent";
const KEEP = 20;

function load() {
  try {
    return JSON.parse(sessionStorage.getItem(STORE) || "{}") || {};
  } catch {
    return {};
  }
}

/** Items {kind: "message"|"announcement"|"consent", subject, at, message_id, thread_id, consent_id?, recipients}. */
export function sentBy(person) {
  const items = load()[person];
  return Array.isArray(items) ? items : [];
}

export function remember(person, item) {
  const all = load();
  all[person] = [item, ...sentBy(person)].slice(0, KEEP);
  try {
    sessionStorage.setItem(STORE, JSON.stringify(all));
  } catch {
    // storage full or off: the list is a convenience
  }
}

/** The item with this message or consent id, from anyone's list. */
export function findSent(id) {
  for (const items of Object.values(load())) {
    if (!Array.isArray(items)) continue;
    const found = items.find((item) => item.message_id === id || item.consent_id === id);
    if (found) return found;
  }
  return null;
}

export function kindName(kind) {
  if (kind === "announcement") return t("Announcement");
  if (kind === "consent") return t("Consent request");
  return t("Message");
}

/** Links to what can be read about a sent item. */
export function sentLinks(item) {
  return h("span", {class: "sent-links"},
    item.consent_id
      ? h("a", {href: demoHref("/demo/results", {consent: item.consent_id})}, t("See the answers"))
      : null,
    h("a", {href: demoHref("/demo/report", {message: item.message_id})}, t("See the delivery report")),
    h("a", {href: demoHref("/demo", {thread: item.thread_id})}, t("Open the thread")));
}

export function sentList(person) {
  const items = sentBy(person);
  return h("section", {class: "card", "aria-labelledby": "sent-title"},
    h("h2", {id: "sent-title"}, t("Sent in this session")),
    items.length
      ? h("ul", {class: "sent-list", role: "list"}, items.map((item) => h("li", {class: "sent-item"},
        h("div", {class: "sent-title"}, item.subject),
        h("div", {class: "sent-meta"}, kindName(item.kind), " · ", dateTime(item.at), " · ",
          tn("{n} recipient", "{n} recipients", item.recipients, {n: item.recipients})),
        sentLinks(item))))
      : h("p", {class: "muted"}, t("Nothing yet. What you send here is listed with links to its delivery report.")));
}
