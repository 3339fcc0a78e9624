// Notification preferences (docs/api-preferences.md): per category and channel instant,
// digest or off; quiet hours (guardians, pupils) or the working hours (staff, read
// only); the digest time. GET/PUT /v1/me/preferences; a PUT sends only what changed,
// so a choice left alone keeps following the institution's default.
// Uses only ctx (see the issue 6 brief).
import {adoptPanelSheet, el, onUnmount, problemErrors, uid} from "./panels.css.js";

const CATEGORIES = ["message", "announcement", "consent", "reminder", "urgent"];
const CHANNELS = ["push", "email"];
const MODES = ["instant", "digest", "off"];
const WEEK = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

export async function renderPreferences(ctx, container) {
  adoptPanelSheet(container);
  const {t} = ctx.i18n;
  const prefix = uid("prefs");
  const section = el("section", {class: "bsp bsp-preferences", "aria-labelledby": `${prefix}-title`});
  container.append(section);
  let prefs;
  try {
    prefs = await ctx.api.get("/v1/me/preferences");
  } catch (error) {
    section.remove();
    ctx.showError(container, error);
    return;
  }
  let alive = true;
  onUnmount(container, () => { alive = false; });

  const categoryLabel = (category) => ({
    message: t("Messages"),
    announcement: t("Announcements"),
    consent: t("Consent requests"),
    reminder: t("Reminders"),
    urgent: t("Urgent messages"),
  })[category];
  const categoryHint = (category) => ({
    message: t("A new message or reply in a conversation you are part of."),
    announcement: t("Announcements from the school or daycare."),
    consent: t("Requests for consent or permission you can answer."),
    reminder: t("Reminders of something you have not answered or read."),
    urgent: t("Urgent messages always come at once, also in quiet hours."),
  })[category];
  const channelLabel = (channel) => (channel === "push" ? t("Push") : t("Email"));
  const modeLabel = (mode) => ({
    instant: t("At once"),
    digest: t("Daily summary"),
    off: t("Off"),
  })[mode];
  const dayName = (() => {
    const format = new Intl.DateTimeFormat(ctx.i18n.locale || "da", {weekday: "short", timeZone: "UTC"});
    // 2024-01-01 was a Monday.
    return (day) => format.format(new Date(Date.UTC(2024, 0, 1 + WEEK.indexOf(day))));
  })();

  const ids = {
    summary: `${prefix}-summary`,
    quietStart: `${prefix}-quiet-start`,
    quietEnd: `${prefix}-quiet-end`,
    digest: `${prefix}-digest`,
    status: `${prefix}-status`,
  };
  const selects = {}; // "category.channel" -> <select>
  let quietStart = null;
  let quietEnd = null;
  let digest = null;
  const summary = el("div", {id: ids.summary, tabindex: "-1"});
  const status = el("p", {id: ids.status, class: "bsp-saved", role: "status"});
  const save = el("button", {type: "submit"}, t("Save preferences"));

  function build() {
    for (const key of Object.keys(selects)) delete selects[key];
    const rows = CATEGORIES.map((category) => {
      const current = prefs.categories[category];
      const legendId = `${prefix}-${category}`;
      if (current.locked) {
        return el("fieldset", {},
          el("legend", {id: legendId}, categoryLabel(category)),
          el("p", {class: "bsp-hint"}, categoryHint(category)),
          el("p", {}, t("Push and email: at once (always)")));
      }
      return el("fieldset", {},
        el("legend", {id: legendId}, categoryLabel(category)),
        el("p", {class: "bsp-hint"}, categoryHint(category)),
        el("div", {class: "bsp-channels"}, CHANNELS.map((channel) => {
          const id = `${prefix}-${category}-${channel}`;
          const chosen = current[channel];
          const select = el("select", {id, name: `${category}.${channel}`},
            MODES.map((mode) => el("option", {value: mode, props: {selected: mode === chosen.mode}},
              mode === chosen.default ? t("{mode} (standard)", {mode: modeLabel(mode)}) : modeLabel(mode))));
          select.dataset.initial = chosen.mode;
          selects[`${category}.${channel}`] = select;
          return el("div", {class: "bsp-field"},
            el("label", {for: id},
              el("span", {class: "bsp-vh"}, `${categoryLabel(category)} – `), channelLabel(channel)),
            select);
        })));
    });

    const timing = [];
    if (prefs.quiet_hours) {
      quietStart = el("input", {type: "time", id: ids.quietStart, name: "quiet_start", value: prefs.quiet_hours.start, required: true});
      quietEnd = el("input", {type: "time", id: ids.quietEnd, name: "quiet_end", value: prefs.quiet_hours.end, required: true});
      quietStart.dataset.initial = prefs.quiet_hours.start;
      quietEnd.dataset.initial = prefs.quiet_hours.end;
      timing.push(el("fieldset", {"aria-describedby": `${prefix}-quiet-hint`},
        el("legend", {}, t("Quiet hours")),
        el("p", {class: "bsp-hint", id: `${prefix}-quiet-hint`},
          t("Push and email wait until the quiet hours are over. Times in {zone}.", {zone: prefs.time_zone}),
          prefs.quiet_hours.source === "default" ? " " + t("You use the standard quiet hours.") : null),
        el("div", {class: "bsp-row"},
          el("div", {class: "bsp-field"}, el("label", {for: ids.quietStart}, t("Quiet from")), quietStart),
          el("div", {class: "bsp-field"}, el("label", {for: ids.quietEnd}, t("Quiet until")), quietEnd))));
    } else {
      quietStart = quietEnd = null;
    }
    if (prefs.working_hours) {
      const hours = prefs.working_hours;
      timing.push(el("div", {class: "bsp-card"},
        el("h3", {}, t("Working hours")),
        el("p", {},
          hours.days.length === WEEK.length ? t("Every day") : hours.days.map(dayName).join(", "),
          ", ",
          el("span", {dir: "ltr"}, `${hours.start}–${hours.end}`)),
        el("p", {class: "bsp-hint"},
          t("Outside your working hours, notifications wait until your next working day. The working hours are set by the municipality."))));
    }
    digest = el("input", {type: "time", id: ids.digest, name: "digest_time", value: prefs.digest_time, required: true,
      "aria-describedby": `${ids.digest}-hint`});
    digest.dataset.initial = prefs.digest_time;
    timing.push(el("div", {class: "bsp-field"},
      el("label", {for: ids.digest}, t("Time of the daily summary")),
      digest,
      el("span", {class: "bsp-hint", id: `${ids.digest}-hint`},
        t("The daily summary lists what is still unread, once a day."))));

    const form = el("form", {
      novalidate: true,
      "aria-labelledby": `${prefix}-title`,
      on: {submit: (event) => { event.preventDefault(); submit(); }, input: () => { status.textContent = ""; }},
    },
    summary,
    el("h3", {}, t("How do you want to be notified?")),
    el("div", {class: "bsp-prefs"}, rows),
    el("h3", {}, t("When")),
    ...timing,
    el("div", {class: "bsp-actions"}, save),
    status);
    section.replaceChildren(
      el("h2", {id: `${prefix}-title`}, t("Notification settings")),
      el("p", {class: "bsp-muted"},
        t("Everything always reaches your inbox. Here you choose how you are notified about it.")),
      form);
  }

  function changes() {
    const body = {};
    for (const [key, select] of Object.entries(selects)) {
      if (select.value === select.dataset.initial) continue;
      const [category, channel] = key.split(".");
      body.categories = body.categories || {};
      body.categories[category] = body.categories[category] || {};
      body.categories[category][channel] = select.value;
    }
    if (quietStart && (quietStart.value !== quietStart.dataset.initial || quietEnd.value !== quietEnd.dataset.initial)) {
      body.quiet_hours = {start: quietStart.value.slice(0, 5), end: quietEnd.value.slice(0, 5)};
    }
    if (digest.value !== digest.dataset.initial) body.digest_time = digest.value.slice(0, 5);
    return body;
  }

  // Field of an API error path (e.g. "quiet_hours.end", "categories.message.email").
  function fieldOf(path) {
    if (path.startsWith("quiet_hours.end")) return quietEnd;
    if (path.startsWith("quiet_hours")) return quietStart;
    if (path.startsWith("digest_time")) return digest;
    const match = /^categories\.(\w+)\.(\w+)/.exec(path);
    return match ? selects[`${match[1]}.${match[2]}`] || null : null;
  }

  function explain(text) {
    const [path, ...rest] = text.split(":");
    const detail = rest.join(":").trim();
    const field = fieldOf(path.trim());
    let message = detail || text;
    if (/must differ/.test(detail)) message = t("Quiet hours must start and end at different times.");
    else if (/HH:MM|Expected `str` matching/.test(detail)) message = t("Enter a time as hours and minutes, e.g. 20:00.");
    else if (/urgent/.test(path)) message = t("Urgent messages always come at once.");
    else if (/staff have working hours/.test(detail)) message = t("Staff have working hours instead of quiet hours.");
    return {field, message};
  }

  function clearErrors() {
    summary.replaceChildren();
    for (const node of section.querySelectorAll("[aria-invalid]")) {
      node.removeAttribute("aria-invalid");
      const keep = (node.getAttribute("aria-describedby") || "").split(" ")
        .filter((id) => id && !id.endsWith("-error"));
      if (keep.length) node.setAttribute("aria-describedby", keep.join(" "));
      else node.removeAttribute("aria-describedby");
    }
    section.querySelectorAll(".bsp-field > .bsp-error").forEach((node) => node.remove());
  }

  function showErrors(items) {
    summary.replaceChildren(el("div", {class: "bsp-alert", role: "alert"},
      el("h3", {}, t("Your preferences were not saved")),
      el("ul", {}, items.map((item) => el("li", {}, item.field
        ? el("button", {type: "button", class: "bsp-link", on: {click: () => item.field.focus()}}, item.message)
        : item.message)))));
    for (const item of items) {
      if (!item.field) continue;
      const errorId = `${item.field.id}-error`;
      if (!section.querySelector(`#${CSS.escape(errorId)}`)) {
        item.field.insertAdjacentElement("afterend", el("p", {class: "bsp-error", id: errorId}, item.message));
      }
      item.field.setAttribute("aria-invalid", "true");
      const described = (item.field.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      if (!described.includes(errorId)) item.field.setAttribute("aria-describedby", [...described, errorId].join(" "));
    }
    summary.focus();
  }

  async function submit() {
    clearErrors();
    status.textContent = "";
    const local = [];
    for (const input of [quietStart, quietEnd, digest]) {
      if (input && !input.value) local.push({field: input, message: t("Enter a time as hours and minutes, e.g. 20:00.")});
    }
    if (local.length) {
      showErrors(local);
      return;
    }
    const body = changes();
    if (!Object.keys(body).length) {
      status.textContent = t("Nothing to save: you have not changed anything.");
      ctx.announce(status.textContent);
      return;
    }
    save.disabled = true;
    try {
      prefs = await ctx.api.put("/v1/me/preferences", body);
      if (!alive) return;
      build();
      status.textContent = t("Your preferences are saved.");
      ctx.announce(status.textContent);
    } catch (error) {
      if (!alive) return;
      if (error && error.status === 422) {
        showErrors(problemErrors(error).map(explain));
        ctx.announce(t("Your preferences were not saved"));
      } else {
        ctx.showError(summary, error);
      }
    } finally {
      save.disabled = false;
    }
  }

  build();
}
