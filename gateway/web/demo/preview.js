// The composer's live count of who an audience reaches, and who it cannot reach by email.
import {h} from "./dom.js";
import {t, tn} from "./i18n.js";
import {reasonText} from "./words.js";

const UNREACHABLE_SHOWN = 8;

/** What an audience preview (POST /v1/audiences/preview) reaches, in words. */
export function previewText(found, kind) {
  const counts = found.counts;
  const lines = [];
  if (kind === "consent") {
    lines.push(h("p", {class: "preview-count", "data-total": counts.children},
      tn("Asks about {n} child", "Asks about {n} children", counts.children, {n: counts.children})));
    lines.push(h("p", {}, tn("{n} parent with custody can answer.", "{n} parents with custody can answer.",
      counts.guardians, {n: counts.guardians})));
  } else if (counts.total === 0) {
    lines.push(h("p", {class: "preview-count", "data-total": "0"}, t("This audience reaches nobody.")));
  } else {
    const parts = [];
    if (counts.guardians) parts.push(tn("{n} parent", "{n} parents", counts.guardians, {n: counts.guardians}));
    if (counts.children) parts.push(tn("{n} child", "{n} children", counts.children, {n: counts.children}));
    if (counts.staff) parts.push(tn("{n} staff member", "{n} staff members", counts.staff, {n: counts.staff}));
    lines.push(h("p", {class: "preview-count", "data-total": counts.total},
      new Intl.ListFormat(document.documentElement.lang || "da", {type: "conjunction"}).format(parts)));
  }
  if (found.unreachable_total > 0) {
    const shown = found.unreachable_children.slice(0, UNREACHABLE_SHOWN);
    lines.push(h("p", {}, tn("{n} child whose parents cannot be reached by email:",
      "{n} children whose parents cannot be reached by email:", found.unreachable_total, {n: found.unreachable_total})));
    lines.push(h("ul", {}, shown.map((child) => h("li", {}, `${child.name} — ${reasonText(child.reason)}`)),
      found.unreachable_total > shown.length
        ? h("li", {}, t("and {n} more", {n: found.unreachable_total - shown.length})) : null));
  } else if (counts.total > 0 && kind !== "consent" && counts.guardians > 0) {
    lines.push(h("p", {class: "muted"}, t("Every family can be reached by email.")));
  }
  return lines;
}
