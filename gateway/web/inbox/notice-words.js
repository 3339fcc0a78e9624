// How a daycare notice reads: its kind, its headline ("Otto is sick"), its days and
// whether the staff have seen it — the same words in the guardian's list and the staff's.
import {el, formats} from "./panels.css.js";

export function noticeWords(ctx) {
  const {t} = ctx.i18n;
  const f = formats(ctx);
  const when = (iso) => t("{date} at {time}", {date: f.shortDate(iso), time: f.time(iso)});
  const kindLabel = (kind) => ({
    sick: t("Sick"),
    off: t("Time off"),
    picked_up_by: t("Picked up by someone else"),
  })[kind] || kind;
  const headline = (notice) => {
    const child = notice.child.name;
    if (notice.kind === "sick") return t("{child} is sick", {child});
    if (notice.kind === "off") return t("{child} has time off", {child});
    if (notice.picked_up_by) return t("{child} is picked up by {name}", {child, name: notice.picked_up_by});
    return t("{child} is picked up by someone else", {child});
  };
  const days = (notice) => {
    const text = notice.from_date === notice.to_date
      ? f.day(notice.from_date)
      : t("{from} to {to}", {from: f.day(notice.from_date), to: f.day(notice.to_date)});
    return notice.pickup_time ? text + ", " + t("at {time}", {time: notice.pickup_time}) : text;
  };
  const stateBadge = (notice) => {
    if (notice.withdrawn_at) return el("span", {class: "bsp-badge bsp-badge-off"}, t("Withdrawn"));
    if (notice.acknowledged) {
      return el("span", {class: "bsp-badge bsp-badge-ok"},
        t("Seen by {name} {when}", {name: notice.acknowledged.by.name, when: when(notice.acknowledged.at)}));
    }
    return el("span", {class: "bsp-badge bsp-badge-wait"}, t("Not seen yet"));
  };
  return {when, kindLabel, headline, days, stateBadge};
}
