// The staff page's composer: a message, an announcement or a consent request, to an
// audience picked from the staff member's groups and institutions (GET /v1/me), with live
// counts from POST /v1/audiences/preview. Sends with an Idempotency-Key (one per compose).
import {problemDetails, problemText} from "./api.js";
import {h, replace, uid} from "./dom.js";
import {t, tn} from "./i18n.js";
import {check, field, radio} from "./controls.js";
import {defaultDeadline, optionKeys} from "./consent-options.js";
import {previewText} from "./preview.js";
import {remember, sentLinks, sentList} from "./sent.js";
import {groupKind, institutionKind, roleName} from "./words.js";

const PREVIEW_DELAY_MS = 350;
const KINDS = ["message", "announcement", "consent"];
const ROLES = ["guardians", "children", "staff"];

function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Render the composer into `container`. `ctx` = {person, me, api}; the returned object's
 * rerender() keeps what was typed (the language switch uses it).
 */
export function composer(container, ctx) {
  const state = {kind: "message", idem: {key: null, body: null}, result: null, previewSeq: 0, timer: null};
  let form = null;

  const groups = ctx.me.groups || [];
  const institutions = ctx.me.institutions || [];
  const institutionName = (id) => (institutions.find((i) => i.id === id) || {}).name || "";

  function kindPicker() {
    const labels = {message: t("Message"), announcement: t("Announcement"), consent: t("Consent request")};
    return h("fieldset", {class: "kind-picker"},
      h("legend", {}, t("What do you want to send?")),
      h("div", {class: "segmented"}, KINDS.map((kind) => {
        const id = uid("kind");
        return h("label", {for: id},
          h("input", {type: "radio", id, name: "kind", value: kind, props: {checked: kind === state.kind}}),
          labels[kind]);
      })),
      h("p", {class: "hint", id: "kind-hint"}, ""));
  }

  function audienceSection() {
    const targets = [
      ...groups.map((g, index) => check("target", `group:${g.id}`, h("bdi", {}, g.name),
        [groupKind(g.kind), institutionName(g.institution_id)].filter(Boolean).join(" · "), index === 0)),
      ...institutions.map((i) => check("target", `institution:${i.id}`,
        t("Everyone at {name}", {name: i.name}), institutionKind(i.kind), groups.length === 0 && institutions.length === 1)),
    ];
    return h("fieldset", {class: "audience"},
      h("legend", {}, t("Recipients")),
      h("fieldset", {class: "sub"},
        h("legend", {}, t("Groups")),
        targets.length ? targets : h("p", {class: "muted"}, t("You have no groups or institutions to write to."))),
      h("fieldset", {class: "sub", "data-kinds": "message announcement"},
        h("legend", {}, t("Who in them")),
        h("div", {class: "choices"}, ROLES.map((role) => check("role", role, roleName(role), null, role === "guardians")))),
      h("div", {"data-kinds": "message announcement"},
        check("non_custodial", "1", t("Also parents without custody"),
          t("By default only parents with custody receive messages (forældreansvarsloven § 23)."), false)),
      h("p", {class: "hint", "data-kinds": "consent"},
        t("A consent request asks about the children in the groups; their parents with custody answer.")),
      h("div", {class: "preview", id: "preview", "aria-live": "polite", "aria-atomic": "true"},
        h("p", {class: "muted"}, t("Choose a group to see how many it reaches."))));
  }

  function contentSection() {
    return h("fieldset", {},
      h("legend", {}, t("Content")),
      field("subject", t("Subject"), h("input", {type: "text", maxlength: "200", autocomplete: "off"})),
      field("body", t("Text"), h("textarea", {rows: "8"}),
        t("Markdown: **bold**, *italic*, lists with - and links [text](https://…).")));
  }

  function optionsSection() {
    return h("fieldset", {},
      h("legend", {}, t("Options")),
      h("div", {"data-kinds": "message announcement"},
        check("urgent", "1", t("Urgent"), t("Notifies at once, also in quiet hours. Only for emergencies."), false)),
      h("div", {"data-kinds": "message"},
        check("sensitive", "1", t("Sensitive"), t("Readers must log in with MitID substantial; notifications hide the content."), false),
        // Replies to the sender by default: a class's every "tak" reaching every family
        // is the notification flood parents complain of.
        field("reply_policy", t("Replies"), h("select", {},
          h("option", {value: "sender"}, t("Replies only to me")),
          h("option", {value: "all"}, t("Everyone can reply to everyone")),
          h("option", {value: "none"}, t("No replies"))))),
      h("div", {"data-kinds": "announcement"},
        check("important", "1", t("Important"), t("Shown at the top of the announcements."), false),
        check("comments", "1", t("Allow comments"), null, false)),
      h("div", {"data-kinds": "consent"},
        h("fieldset", {class: "sub"},
          h("legend", {}, t("Kind")),
          radio("consent_kind", "consent", t("Consent"), true, t("Can be withdrawn at any time, e.g. photos on the website.")),
          radio("consent_kind", "permission", t("Permission"), false, t("Can be changed until the deadline, e.g. a trip."))),
        h("fieldset", {class: "sub"},
          h("legend", {}, t("Answers")),
          radio("answers", "standard", t("Yes / No"), true),
          radio("answers", "custom", t("Own answer options"), false)),
        h("div", {"data-answers": "custom"},
          field("answer_options", t("Answer options"), h("textarea", {rows: "4"}), t("2 to 5 options, one per line."))),
        field("deadline", t("Deadline"), h("input", {type: "datetime-local", props: {value: defaultDeadline()}})),
        check("reminders", "1", t("Remind 3 days and 1 day before the deadline"),
          t("Only those who have not answered get a reminder."), true)));
  }

  function render() {
    const submitLabel = h("span", {id: "submit-label"}, "");
    form = h("form", {class: "compose", novalidate: true, on: {submit: send, change: onChange, input: onInput}},
      kindPicker(),
      audienceSection(),
      contentSection(),
      optionsSection(),
      h("div", {id: "form-errors", role: "alert"}),
      h("div", {class: "actions"},
        h("button", {type: "submit", class: "button", id: "send"}, submitLabel)),
      h("p", {id: "send-status", role: "status", class: "muted"}),
      h("div", {id: "result", tabindex: "-1"}));
    replace(container,
      h("div", {class: "layout"},
        h("section", {class: "card", "aria-labelledby": "compose-title"},
          h("h2", {id: "compose-title", class: "visually-hidden"}, t("Write")),
          form),
        h("aside", {id: "aside"}, sentList(ctx.person.person), tips())));
    applyKind();
    renderResult();
    schedulePreview(0);
  }

  function tips() {
    return h("section", {class: "card", "aria-labelledby": "tips-title"},
      h("h2", {id: "tips-title"}, t("Good to know")),
      h("p", {}, t("Email goes to the local mail view, where you can read it and reply as a parent.")),
      h("p", {}, h("a", {href: "/dev/mail", target: "_blank", rel: "noopener"}, t("Open the mail view"),
        h("span", {class: "visually-hidden"}, " ", t("(opens in a new tab)")))));
  }

  function applyKind() {
    for (const element of form.querySelectorAll("[data-kinds]")) {
      element.hidden = !element.dataset.kinds.split(" ").includes(state.kind);
    }
    const custom = form.querySelector("input[name=answers][value=custom]").checked;
    form.querySelector("[data-answers=custom]").hidden = state.kind !== "consent" || !custom;
    const subjectLabel = form.querySelector("[data-field=subject] label");
    const bodyLabel = form.querySelector("[data-field=body] label");
    subjectLabel.textContent = state.kind === "consent" ? t("Title") : t("Subject");
    bodyLabel.textContent = state.kind === "consent" ? t("Question") : t("Text");
    const hints = {
      message: t("A thread the recipients can answer. Email and push notify them."),
      announcement: t("A post in the recipients' announcements; important ones stay on top."),
      consent: t("A question per child that parents with custody answer, with a deadline and reminders."),
    };
    form.querySelector("#kind-hint").textContent = hints[state.kind];
    const labels = {message: t("Send message"), announcement: t("Post announcement"), consent: t("Send consent request")};
    form.querySelector("#submit-label").textContent = labels[state.kind];
  }

  function values(name) {
    return Array.from(form.querySelectorAll(`input[name=${name}]:checked`)).map((input) => input.value);
  }

  function checked(name) {
    return values(name).length > 0;
  }

  function text(name) {
    return form.elements[name].value.trim();
  }

  function audience(forPreview) {
    const consent = state.kind === "consent";
    let roles = consent ? ["children"] : values("role");
    if (consent && forPreview) roles = ["children", "guardians"];
    const targets = values("target").map((value) => {
      const [type, id] = value.split(":");
      return type === "group" ? {type, group: id, roles} : {type, institution: id, roles};
    });
    const result = {targets};
    if (!consent && checked("non_custodial")) result.include_non_custodial = true;
    return result;
  }

  function onChange(event) {
    const name = event.target.name;
    if (name === "kind") {
      state.kind = event.target.value;
      applyKind();
      schedulePreview(0);
    } else if (name === "answers") {
      applyKind();
    } else if (["target", "role", "non_custodial"].includes(name)) {
      schedulePreview(PREVIEW_DELAY_MS);
    }
  }

  function onInput() {
    replace(form.querySelector("#form-errors"));
  }

  function schedulePreview(delay) {
    clearTimeout(state.timer);
    // The counts shown are for the previous choice until the new ones arrive.
    form.querySelector("#preview").setAttribute("aria-busy", "true");
    state.timer = setTimeout(preview, delay);
  }

  async function preview() {
    const box = form.querySelector("#preview");
    const wanted = audience(true);
    const seq = ++state.previewSeq;
    if (!wanted.targets.length || !wanted.targets[0].roles.length) {
      box.removeAttribute("aria-busy");
      replace(box, h("p", {class: "muted"}, wanted.targets.length
        ? t("Choose who in the groups should receive it.")
        : t("Choose a group to see how many it reaches.")));
      return;
    }
    box.setAttribute("aria-busy", "true");
    let found;
    try {
      found = await ctx.api.post("/v1/audiences/preview", wanted);
    } catch (error) {
      if (seq !== state.previewSeq) return;
      box.removeAttribute("aria-busy");
      replace(box, h("p", {class: "error"}, error.status === 403
        ? t("You cannot send to everyone in this audience.")
        : problemText(error)));
      return;
    }
    if (seq !== state.previewSeq) return;
    box.removeAttribute("aria-busy");
    replace(box, previewText(found, state.kind));
  }

  function problems() {
    const found = [];
    const wanted = audience(false);
    if (!wanted.targets.length) found.push(t("Choose at least one group."));
    else if (!wanted.targets[0].roles.length) found.push(t("Choose who in the groups should receive it."));
    if (!text("subject")) found.push(state.kind === "consent" ? t("Write a title.") : t("Write a subject."));
    if (!text("body")) found.push(state.kind === "consent" ? t("Write the question.") : t("Write a text."));
    if (state.kind === "consent") {
      const deadline = Date.parse(form.elements.deadline.value);
      if (!deadline || deadline <= Date.now()) found.push(t("Choose a deadline in the future."));
      if (values("answers")[0] === "custom") {
        const count = customOptions().length;
        if (count < 2 || count > 5) found.push(t("Write 2 to 5 answer options, one per line."));
      }
    }
    return found;
  }

  function customOptions() {
    return form.elements.answer_options.value.split("\n").map((line) => line.trim()).filter(Boolean);
  }

  function requestBody() {
    const base = {audience: audience(false)};
    if (state.kind === "consent") {
      const deadline = new Date(form.elements.deadline.value);
      const body = {...base, title: text("subject"), question: text("body"),
        kind: values("consent_kind")[0] || "consent", deadline: deadline.toISOString()};
      if (values("answers")[0] === "custom") body.options = optionKeys(customOptions());
      if (checked("reminders")) {
        body.reminder_offsets_hours = [72, 24].filter((hours) => deadline.getTime() - hours * 3600 * 1000 > Date.now() + 60000);
      }
      return ["/v1/consents", body];
    }
    const common = {...base, subject: text("subject"), body: text("body"), urgent: checked("urgent")};
    if (state.kind === "announcement") {
      return ["/v1/announcements", {...common, important: checked("important"), comments_enabled: checked("comments")}];
    }
    return ["/v1/messages", {...common, sensitive: checked("sensitive"), reply_policy: form.elements.reply_policy.value}];
  }

  function idempotencyKey(body) {
    const fingerprint = JSON.stringify(body);
    if (state.idem.body !== fingerprint) state.idem = {key: uuid(), body: fingerprint};
    return state.idem.key;
  }

  async function send(event) {
    event.preventDefault();
    const errors = form.querySelector("#form-errors");
    const status = form.querySelector("#send-status");
    const found = problems();
    if (found.length) {
      replace(errors, h("div", {class: "error-box"}, h("p", {}, t("Check the form:")), h("ul", {}, found.map((line) => h("li", {}, line)))));
      return;
    }
    replace(errors);
    const [path, body] = requestBody();
    const button = form.querySelector("#send");
    button.disabled = true;
    status.textContent = t("Sending …");
    let accepted;
    try {
      accepted = await ctx.api.post(path, body, {"Idempotency-Key": idempotencyKey(body)});
    } catch (error) {
      button.disabled = false;
      status.textContent = "";
      const details = problemDetails(error);
      replace(errors, h("div", {class: "error-box"}, h("p", {}, problemText(error)),
        details.length ? h("ul", {}, details.map((line) => h("li", {lang: "en", dir: "ltr"}, line))) : null));
      return;
    }
    button.disabled = false;
    state.idem = {key: null, body: null};
    const item = {
      kind: state.kind,
      subject: body.subject || body.title,
      at: new Date().toISOString(),
      message_id: accepted.message_id,
      thread_id: accepted.thread_id,
      consent_id: accepted.consent_id || null,
      recipients: accepted.recipients,
      children: accepted.children || null,
    };
    remember(ctx.person.person, item);
    state.result = item;
    status.textContent = state.kind === "consent"
      ? tn("Sent: asks about {n} child.", "Sent: asks about {n} children.", item.children, {n: item.children})
      : tn("Sent to {n} recipient.", "Sent to {n} recipients.", item.recipients, {n: item.recipients});
    for (const name of ["subject", "body", "answer_options"]) form.elements[name].value = "";
    renderResult();
    replace(document.getElementById("aside"), sentList(ctx.person.person), tips());
    form.querySelector("#result").focus();
  }

  function renderResult() {
    const box = form.querySelector("#result");
    const item = state.result;
    if (!item) {
      replace(box);
      return;
    }
    replace(box, h("div", {class: "success-box"},
      h("p", {class: "sent-title"}, t("Sent: {subject}", {subject: item.subject})),
      h("p", {}, item.consent_id
        ? tn("The request asks about {n} child.", "The request asks about {n} children.", item.children, {n: item.children})
        : tn("It is in the inbox of {n} recipient now; notifications follow.", "It is in the inbox of {n} recipients now; notifications follow.", item.recipients, {n: item.recipients})),
      sentLinks(item)));
  }

  function snapshot() {
    if (!form) return null;
    return Array.from(form.elements).filter((element) => element.name).map((element) =>
      element.type === "checkbox" || element.type === "radio"
        ? {name: element.name, value: element.value, checked: element.checked}
        : {name: element.name, value: element.value});
  }

  function restore(saved) {
    if (!saved) return;
    const elements = Array.from(form.elements);
    for (const item of saved) {
      const element = elements.find((e) => e.name === item.name && ("checked" in item ? e.value === item.value : true));
      if (!element) continue;
      if ("checked" in item) element.checked = item.checked;
      else element.value = item.value;
    }
  }

  render();
  return {
    rerender() {
      const saved = snapshot();
      const focusedName = document.activeElement && document.activeElement.name;
      render();
      restore(saved);
      applyKind();
      schedulePreview(0);
      if (focusedName === "kind") form.querySelector(`input[name=kind][value=${state.kind}]`).focus();
    },
  };
}
