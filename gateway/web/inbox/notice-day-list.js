// The staff side of daycare notices: GET /v1/institutions/{id}/notices?date=…, live on
// SSE "daycare_notice" events, and POST /v1/notices/{id}/acknowledge.
import {noticeWords} from "./notice-words.js";
import {el, todayIn} from "./panels.css.js";

/** One daycare's notices for a day, for its staff: by room, each to mark as seen. */
export async function renderDayList(ctx, section, place, {prefix, cleanups}) {
  const {t, tn} = ctx.i18n;
  const {when, kindLabel, headline, days, stateBadge} = noticeWords(ctx);
  const head = `${prefix}-day-${place.id}`;
  const dateId = `${prefix}-date-${place.id}`;
  const date = el("input", {type: "date", id: dateId, value: todayIn()});
  const list = el("div", {});
  const counts = el("p", {class: "bsp-muted"});
  const part = el("div", {class: "bsp-day"},
    el("h3", {id: head}, t("Notices for {place}", {place: place.name})),
    el("div", {class: "bsp-row"},
      el("div", {class: "bsp-field"}, el("label", {for: dateId}, t("Day")), date)),
    counts, list);
  section.append(part);
  let day = null;
  const load = async () => {
    day = await ctx.api.get(
      `/v1/institutions/${encodeURIComponent(place.id)}/notices?date=${encodeURIComponent(date.value || todayIn())}`);
  };
  const show = () => {
    const total = Object.values(day.counts || {}).reduce((sum, n) => sum + n, 0);
    counts.textContent = [
      tn("{n} notice", "{n} notices", total, {n: total}),
      ...Object.entries(day.counts || {}).filter(([, n]) => n).map(([kind, n]) => `${kindLabel(kind)}: ${n}`),
    ].join(" · ");
    if (!day.items.length) {
      list.replaceChildren(el("p", {class: "bsp-muted"}, t("No notices for this day.")));
      return;
    }
    const groups = new Map();
    for (const item of day.items) {
      const key = item.group ? item.group.name : t("No room");
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(item);
    }
    list.replaceChildren(...[...groups].map(([group, items], index) => {
      const groupId = `${head}-g${index}`;
      return el("div", {},
        el("h4", {id: groupId}, group),
        el("ul", {class: "bsp-list", "aria-labelledby": groupId}, items.map(staffItem)));
    }));
  };
  const staffItem = (notice) => {
    const itemId = `${head}-n-${notice.id}`;
    const ack = !notice.acknowledged
      ? el("button", {
        type: "button",
        on: {click: async (event) => {
          const button = event.currentTarget;
          button.disabled = true;
          try {
            await ctx.api.post(`/v1/notices/${encodeURIComponent(notice.id)}/acknowledge`, {});
            ctx.announce(t("Marked as seen: {what}", {what: headline(notice)}));
            await load();
            show();
            const badge = list.querySelector(`#${CSS.escape(itemId)}-state`);
            if (badge) badge.focus();
          } catch (error) {
            button.disabled = false;
            ctx.showError(list, error);
          }
        }},
      }, t("Mark as seen"), el("span", {class: "bsp-vh"}, `: ${headline(notice)}`))
      : null;
    return el("li", {"data-notice": notice.id},
      el("article", {class: "bsp-card", "aria-labelledby": itemId},
        el("h5", {id: itemId, class: notice.withdrawn_at ? "bsp-withdrawn" : null}, headline(notice)),
        el("p", {}, days(notice)),
        notice.note ? el("p", {}, t("Note: {note}", {note: notice.note})) : null,
        el("p", {class: "bsp-meta"},
          el("span", {}, t("Sent by {name}", {name: notice.sent_by.name})),
          el("span", {}, when(notice.created_at))),
        el("p", {class: "bsp-status", id: `${itemId}-state`, tabindex: "-1"}, stateBadge(notice)),
        ack ? el("div", {class: "bsp-actions"}, ack) : null));
  };
  date.addEventListener("change", () => load().then(show).catch((error) => ctx.showError(list, error)));
  await load();
  show();
  cleanups.push(ctx.onEvent((event) => {
    if (event.type !== "daycare_notice" && event.type !== "resync") return;
    const known = new Set(day.items.map((item) => item.id));
    load().then(() => {
      show();
      const fresh = day.items.find((item) => item.id === event.notice_id);
      if (fresh && !known.has(fresh.id)) ctx.announce(t("New notice: {what}", {what: headline(fresh)}));
    }).catch(() => {});
  }));
}
