// Daycare notices (docs/daycare-notices.md): a guardian tells a child's room that the
// child is sick, off or picked up by someone else, and sees whether the staff have seen
// it; the staff of a daycare see the day's notices and mark them as seen.
// API: POST/GET /v1/notices, DELETE /v1/notices/{id}, POST /v1/notices/{id}/acknowledge,
// GET /v1/institutions/{id}/notices. Live: SSE {"type": "daycare_notice", notice_id,
// change}. Uses only ctx (see the issue 6 brief).
import {renderDayList} from "./notice-day-list.js";
import {noticeWords} from "./notice-words.js";
import {
  adoptPanelSheet, el, onUnmount, problemErrors, todayIn, uid,
} from "./panels.css.js";

const MAX_NOTE = 1000;
const MAX_NAME = 200;
const MAX_OFF_DAYS = 60;

function addDays(iso, days) {
  const date = new Date(`${iso}T00:00:00Z`);
  date.setUTCDate(date.getUTCDate() + days);
  return date.toISOString().slice(0, 10);
}

function daysBetween(from, to) {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86400000);
}

function newKey() {
  if (globalThis.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
  return `${Date.now()}-${Math.random().toString(16).slice(2)}`;
}

export async function renderNotices(ctx, container) {
  adoptPanelSheet(container);
  const {t} = ctx.i18n;
  const me = ctx.me;
  const prefix = uid("notices");
  const daycares = new Set((me.institutions || []).filter((i) => i.kind === "daycare").map((i) => i.id));
  const children = (me.children || []).filter((child) =>
    (child.institution_ids || []).some((id) => daycares.has(id))
    || (child.groups || []).some((group) => group.kind === "room"))
    .filter((child) => !ctx.child || child.id === ctx.child);
  const staffPlaces = me.kind === "staff"
    ? (me.institutions || []).filter((i) => i.kind === "daycare") : [];

  const section = el("section", {class: "bsp bsp-notices", "aria-labelledby": `${prefix}-title`});
  container.append(section);
  const cleanups = [];

  const {when, kindLabel, headline, days, stateBadge} = noticeWords(ctx);

  const parts = [el("h2", {id: `${prefix}-title`}, t("Daycare notices"))];
  section.replaceChildren(...parts);

  try {
    if (children.length) await guardianPart();
    for (const place of staffPlaces) {
      await renderDayList(ctx, section, place, {prefix, cleanups});
    }
  } catch (error) {
    ctx.showError(section, error);
  }
  if (!children.length && !staffPlaces.length) {
    section.append(el("p", {class: "bsp-note"},
      t("Daycare notices are for guardians of children in daycare and for the staff there.")));
  }
  onUnmount(container, () => cleanups.forEach((fn) => fn()));

  // ----- guardians -----

  async function guardianPart() {
    const form = noticeForm();
    const mine = el("div", {class: "bsp-mine"});
    section.append(form.node, el("h3", {id: `${prefix}-mine`}, t("Your notices")), mine);
    let items = [];
    const load = async () => {
      const query = ctx.child ? `?child_id=${encodeURIComponent(ctx.child)}` : "";
      const list = await ctx.api.get(`/v1/notices${query}`);
      items = list.items;
    };
    const show = () => mine.replaceChildren(items.length
      ? el("ul", {class: "bsp-list", "aria-labelledby": `${prefix}-mine`}, items.map(guardianItem))
      : el("p", {class: "bsp-muted"}, t("You have no notices from today on.")));
    form.onSent = async (notice) => {
      await load().catch(() => { items = [notice, ...items]; });
      show();
    };
    const guardianItem = (notice) => {
      const own = notice.sent_by && notice.sent_by.id === me.id;
      const future = notice.from_date > todayIn();
      const withdraw = own && future && !notice.withdrawn_at
        ? el("button", {
          type: "button",
          class: "bsp-danger",
          on: {click: async (event) => {
            const button = event.currentTarget;
            button.disabled = true;
            try {
              await ctx.api.del(`/v1/notices/${encodeURIComponent(notice.id)}`);
              ctx.announce(t("The notice is withdrawn."));
              await load();
              show();
            } catch (error) {
              button.disabled = false;
              const text = error && error.status === 409
                ? t("The day has begun, so the notice cannot be withdrawn. Write to the staff instead.")
                : problemErrors(error).join(" ");
              ctx.announce(text);
              mine.prepend(el("p", {class: "bsp-error", role: "alert"}, text));
            }
          }},
        }, t("Withdraw notice"))
        : null;
      return el("li", {"data-notice": notice.id},
        el("article", {class: "bsp-card", "aria-labelledby": `${prefix}-n-${notice.id}`},
          el("h4", {id: `${prefix}-n-${notice.id}`, class: notice.withdrawn_at ? "bsp-withdrawn" : null}, headline(notice)),
          el("p", {}, days(notice)),
          notice.note ? el("p", {}, t("Note: {note}", {note: notice.note})) : null,
          el("p", {class: "bsp-meta"},
            el("span", {}, t("Sent by {name}", {name: notice.sent_by.name})),
            el("span", {}, when(notice.created_at))),
          el("p", {class: "bsp-status"}, stateBadge(notice)),
          withdraw ? el("div", {class: "bsp-actions"}, withdraw) : null));
    };
    await load();
    show();
    cleanups.push(ctx.onEvent((event) => {
      if (event.type !== "daycare_notice" && event.type !== "resync") return;
      const before = new Map(items.map((item) => [item.id, item]));
      load().then(() => {
        show();
        const fresh = items.find((item) => item.id === event.notice_id);
        const old = before.get(event.notice_id);
        if (fresh && fresh.acknowledged && !(old && old.acknowledged)) {
          ctx.announce(t("{child}: seen by {name}", {child: fresh.child.name, name: fresh.acknowledged.by.name}));
        }
      }).catch(() => {});
    }));
  }

  function noticeForm() {
    const ids = {
      child: `${prefix}-child`,
      kind: `${prefix}-kind`,
      from: `${prefix}-from`,
      to: `${prefix}-to`,
      name: `${prefix}-name`,
      time: `${prefix}-time`,
      note: `${prefix}-note`,
      summary: `${prefix}-summary`,
      custody: `${prefix}-custody`,
    };
    const today = todayIn();
    const last = addDays(today, 365);
    let key = newKey();
    const result = {node: null, onSent: null};

    const childSelect = children.length > 1
      ? el("select", {id: ids.child, name: "child"}, children.map((child) =>
        el("option", {value: child.id}, child.display_name)))
      : null;
    const childField = childSelect
      ? el("div", {class: "bsp-field"}, el("label", {for: ids.child}, t("Child")), childSelect)
      : el("p", {}, t("About {child}", {child: children[0].display_name}));
    const selectedChild = () => children.find((c) => c.id === (childSelect ? childSelect.value : children[0].id));

    const kinds = ["sick", "off", "picked_up_by"].map((kind) => el("label", {class: "bsp-choice"},
      el("input", {type: "radio", name: `${prefix}-kind`, value: kind, props: {checked: kind === "sick"}}),
      el("span", {}, kindLabel(kind))));
    const custodyNote = el("p", {class: "bsp-hint", id: ids.custody, hidden: true},
      t("Only a guardian with custody can let someone else pick up the child."));
    const kindField = el("fieldset", {},
      el("legend", {}, t("What do you want to tell the daycare?")),
      el("div", {class: "bsp-choices"}, kinds), custodyNote);

    const from = el("input", {type: "date", id: ids.from, name: "from_date", value: today, min: today, max: last, required: true});
    const fromLabel = el("label", {for: ids.from}, t("Date"));
    const to = el("input", {type: "date", id: ids.to, name: "to_date", min: today, max: last});
    const toField = el("div", {class: "bsp-field", hidden: true},
      el("label", {for: ids.to}, t("Last day (optional)")), to,
      el("span", {class: "bsp-hint"}, t("At most {n} days in all.", {n: MAX_OFF_DAYS})));
    const name = el("input", {type: "text", id: ids.name, name: "picked_up_by", maxlength: MAX_NAME, autocomplete: "off"});
    const time = el("input", {type: "time", id: ids.time, name: "pickup_time"});
    const pickup = el("div", {class: "bsp-row", hidden: true},
      el("div", {class: "bsp-field"}, el("label", {for: ids.name}, t("Who picks the child up?")), name),
      el("div", {class: "bsp-field"}, el("label", {for: ids.time}, t("At what time?")), time));
    const note = el("textarea", {id: ids.note, name: "note", maxlength: MAX_NOTE, rows: 3, "aria-describedby": `${ids.note}-hint`});
    const noteField = el("div", {class: "bsp-field"},
      el("label", {for: ids.note}, t("Note for the staff (optional)")), note,
      el("span", {class: "bsp-hint", id: `${ids.note}-hint`}, t("Plain text, at most {n} characters.", {n: MAX_NOTE})));
    const summary = el("div", {id: ids.summary, tabindex: "-1"});
    const submit = el("button", {type: "submit"}, t("Send to the daycare"));
    const fields = {child_id: childSelect, kind: kindField, from_date: from, to_date: to, picked_up_by: name, pickup_time: time, note};

    const kind = () => (kindField.querySelector("input:checked") || {}).value || "sick";
    const sync = () => {
      const child = selectedChild();
      const pickupInput = kindField.querySelector('input[value="picked_up_by"]');
      pickupInput.disabled = !child.custody;
      custodyNote.hidden = child.custody;
      pickupInput.setAttribute("aria-describedby", child.custody ? "" : ids.custody);
      if (!child.custody && kind() === "picked_up_by") kindField.querySelector('input[value="sick"]').checked = true;
      const chosen = kind();
      toField.hidden = chosen !== "off";
      pickup.hidden = chosen !== "picked_up_by";
      name.required = time.required = chosen === "picked_up_by";
      fromLabel.textContent = chosen === "off" ? t("First day") : t("Date");
    };
    kindField.addEventListener("change", sync);
    if (childSelect) childSelect.addEventListener("change", sync);

    const clearErrors = () => {
      summary.replaceChildren();
      for (const field of Object.values(fields)) {
        if (!field) continue;
        field.removeAttribute("aria-invalid");
        field.parentElement.querySelectorAll(".bsp-error").forEach((node) => node.remove());
      }
    };
    const showErrors = (list) => {
      // list: [{field, text}]
      summary.replaceChildren(el("div", {class: "bsp-alert", role: "alert"},
        el("h4", {}, t("The notice was not sent")),
        el("ul", {}, list.map((item) => el("li", {}, fields[item.field]
          ? el("button", {
            type: "button",
            class: "bsp-link",
            on: {click: () => focusField(fields[item.field])},
          }, item.text)
          : item.text)))));
      for (const item of list) {
        const field = fields[item.field];
        if (!field || field.tagName === "FIELDSET") continue;
        const errorId = `${field.id}-error`;
        field.setAttribute("aria-invalid", "true");
        field.insertAdjacentElement("afterend", el("p", {class: "bsp-error", id: errorId}, item.text));
        const described = (field.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
        if (!described.includes(errorId)) field.setAttribute("aria-describedby", [...described, errorId].join(" "));
      }
      summary.focus();
    };
    const focusField = (field) => {
      const target = field.tagName === "FIELDSET" ? field.querySelector("input") : field;
      if (target) target.focus();
    };

    const check = () => {
      const errors = [];
      const chosen = kind();
      if (!from.value) errors.push({field: "from_date", text: t("Choose a date.")});
      else if (from.value < today) errors.push({field: "from_date", text: t("The date cannot be in the past.")});
      else if (from.value > last) errors.push({field: "from_date", text: t("The date can be at most a year ahead.")});
      if (chosen === "off" && to.value) {
        if (to.value < from.value) errors.push({field: "to_date", text: t("The last day cannot be before the first day.")});
        else if (daysBetween(from.value, to.value) + 1 > MAX_OFF_DAYS) {
          errors.push({field: "to_date", text: t("Time off can be at most {n} days in all.", {n: MAX_OFF_DAYS})});
        }
      }
      if (chosen === "picked_up_by") {
        if (!name.value.trim()) errors.push({field: "picked_up_by", text: t("Write who picks the child up.")});
        if (!time.value) errors.push({field: "pickup_time", text: t("Choose the time of the pick-up.")});
      }
      return errors;
    };

    const node = el("form", {
      class: "bsp-card",
      "aria-labelledby": `${prefix}-new`,
      novalidate: true,
      on: {submit: async (event) => {
        event.preventDefault();
        clearErrors();
        const errors = check();
        if (errors.length) {
          showErrors(errors);
          return;
        }
        const child = selectedChild();
        const chosen = kind();
        const body = {child_id: child.id, kind: chosen, from_date: from.value};
        if (chosen === "off" && to.value) body.to_date = to.value;
        if (chosen === "picked_up_by") {
          body.picked_up_by = name.value.trim();
          body.pickup_time = time.value.slice(0, 5);
        }
        if (note.value.trim()) body.note = note.value.trim();
        submit.disabled = true;
        try {
          const notice = await ctx.api.post("/v1/notices", body, {headers: {"Idempotency-Key": key}});
          key = newKey();
          note.value = "";
          name.value = "";
          time.value = "";
          to.value = "";
          const text = t("Sent: {what}", {what: headline(notice)});
          summary.replaceChildren(el("p", {class: "bsp-saved", role: "status"}, text));
          ctx.announce(text);
          if (result.onSent) await result.onSent(notice);
        } catch (error) {
          key = newKey();
          showErrors(apiErrors(error, child));
        } finally {
          submit.disabled = false;
        }
      }},
    },
    el("h3", {id: `${prefix}-new`}, t("Tell the daycare")),
    summary, childField, kindField,
    el("div", {class: "bsp-row"}, el("div", {class: "bsp-field"}, fromLabel, from), toField),
    pickup, noteField,
    el("div", {class: "bsp-actions"}, submit));
    sync();
    result.node = node;
    return result;
  }

  function apiErrors(error, child) {
    const status = error && error.status;
    if (status === 409) {
      return [{field: "from_date", text: t("{child} is already reported sick or off on those days.", {child: child.display_name})}];
    }
    if (status === 403) {
      return [{field: "kind", text: t("Only a guardian with custody can let someone else pick up the child.")}];
    }
    if (status === 429) return [{field: null, text: t("You have sent as many notices as you may today. Try again tomorrow.")}];
    return problemErrors(error).map((text) => {
      const match = /^([a-z_]+)(?:[.[][^:]*)?:\s*(.*)$/.exec(text);
      return match ? {field: match[1], text: match[2] || text} : {field: null, text};
    });
  }

  // ----- staff -----
}
