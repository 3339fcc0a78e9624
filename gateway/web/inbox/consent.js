// A consent request (samtykke) or permission (tilladelse): the question, one answer
// control per child the reader may answer for, why there is none otherwise, and for the
// staff member who asked: the counts, the results per child, the CSV and the record.
// API: GET /v1/consents/{id}, POST …/answers, POST …/withdraw, GET …/results(.csv),
// GET …/record (docs/consents.md). Uses only ctx (see the issue 6 brief).
import {
  adoptPanelSheet, download, el, formats, onUnmount, problemErrors, safeHtml, uid,
} from "./panels.css.js";

const RECORD_PAGE = 100;

export async function renderConsent(ctx, container, consentId) {
  adoptPanelSheet(container);
  const {t, tn} = ctx.i18n;
  const f = formats(ctx);
  const base = `/v1/consents/${encodeURIComponent(consentId)}`;
  const prefix = uid("consent");
  const state = {
    consent: null,
    results: null,
    record: null,
    recordCursor: null,
    choice: {}, // child id -> the option the reader picked, not yet sent
    busy: new Set(),
    messages: {}, // child id -> {text, error}
    focus: null,
  };
  const section = el("section", {class: "bsp bsp-consent", "aria-labelledby": `${prefix}-title`});
  container.append(section);

  const when = (iso) => t("{date} at {time}", {date: f.shortDate(iso), time: f.time(iso)});
  const optionLabel = (key) => {
    const found = (state.consent.options || []).find((option) => option.key === key);
    if (found) return found.label;
    if (key === "withdrawn") return t("Withdrawn");
    if (key === "no") return t("No (withdrawn)");
    return key;
  };
  const statusLabel = (status) => {
    if (status === "pending") return t("Not answered yet");
    if (status === "conflicting") return t("The answers differ");
    if (status === "expired") return t("Not answered by the deadline");
    return optionLabel(status);
  };
  const badge = (status) => {
    const tone = status === "pending" ? "wait"
      : status === "expired" || status === "conflicting" ? "bad" : "info";
    return el("span", {class: `bsp-badge bsp-badge-${tone}`}, statusLabel(status));
  };
  const relationLabel = (relation) => ({
    parent: t("parent"),
    guardian: t("legal guardian"),
    relative: t("relative"),
    foster: t("foster parent"),
    self: t("the pupil"),
  })[relation] || relation;
  const whyNot = (child) => ({
    no_custody: t("Only parents with custody can answer"),
    too_young: t("Your guardians answer for you until you are old enough to answer yourself"),
    pupils_do_not_answer: t("Your guardians answer for you"),
    closed: t("The deadline has passed, so answers are closed"),
    recalled: t("The school recalled this request, so answers are closed"),
    staff: t("Staff do not answer; the child's guardians with custody do"),
  })[child.why_not_code] || child.why_not || "";

  async function load() {
    state.consent = await ctx.api.get(base);
    if (state.consent.summary) await loadResults();
  }

  async function loadResults() {
    try {
      state.results = await ctx.api.get(`${base}/results`);
      const page = await ctx.api.get(`${base}/record?limit=${RECORD_PAGE}`);
      state.record = page.items;
      state.recordCursor = page.next_cursor;
    } catch (error) {
      if (error && (error.status === 403 || error.status === 404)) {
        state.results = null; // staff in the thread who did not ask: the summary only
        return;
      }
      throw error;
    }
  }

  function render() {
    const consent = state.consent;
    const kind = consent.kind === "permission" ? t("Permission") : t("Consent");
    const deadline = consent.closed && !consent.recalled
      ? t("The deadline passed on {when}", {when: when(consent.deadline)})
      : t("Answer by {when}", {when: when(consent.deadline)});
    const parts = [
      el("h2", {id: `${prefix}-title`, tabindex: "-1"}, consent.title),
      el("p", {class: "bsp-meta"},
        el("span", {}, kind),
        el("span", {}, t("From {name}", {name: consent.created_by.name})),
        el("span", {}, deadline)),
    ];
    if (consent.recalled) {
      parts.push(el("p", {class: "bsp-note"}, t("The school recalled this request, so answers are closed")));
    } else {
      parts.push(el("div", {class: "bsp-question", dir: "auto"}, safeHtml(consent.question_html)));
    }
    if (consent.attachments && consent.attachments.length) parts.push(attachments(consent.attachments));
    if (consent.summary) {
      parts.push(...staffView());
    } else if (consent.children.length) {
      parts.push(el("h3", {}, consent.children.length > 1 ? t("Answer for each child") : t("Your answer")));
      parts.push(el("div", {class: "bsp-children"}, consent.children.map(childBlock)));
    } else {
      parts.push(el("p", {class: "bsp-note"}, t("This request does not ask you about any child.")));
    }
    section.replaceChildren(...parts);
    if (state.focus) {
      const target = section.querySelector(`#${CSS.escape(state.focus)}`);
      state.focus = null;
      if (target) target.focus();
    }
  }

  function attachments(files) {
    return el("div", {},
      el("h3", {}, t("Attachments")),
      el("ul", {class: "bsp-list"}, files.map((file) => el("li", {},
        el("button", {
          type: "button",
          class: "bsp-secondary",
          on: {click: () => download(ctx, `/v1/attachments/${encodeURIComponent(file.id)}`, file.file_name)
            .catch((error) => ctx.showError(section, error))},
        }, t("Download {name}", {name: file.file_name}))))));
  }

  function myAnswerLine(child) {
    const mine = child.my_answer;
    if (!mine) return null;
    const at = {date: f.shortDate(mine.answered_at), time: f.time(mine.answered_at)};
    const text = mine.option === "withdrawn"
      ? t("Withdrawn by you {date} at {time}", at)
      : t("Answered by you {date} at {time}", at);
    return el("p", {class: "bsp-muted"},
      mine.option === "withdrawn" ? null : el("span", {}, t("Your answer: {answer}", {answer: optionLabel(mine.option)}), ". "),
      text,
      mine.channel === "email_link" ? " " + t("(from the link in the email)") : null);
  }

  function childBlock(child) {
    const id = `${prefix}-${child.child.id}`;
    const name = child.child.name;
    const status = child.status
      ? el("p", {class: "bsp-status", id: `${id}-status`, tabindex: "-1"},
        el("span", {}, t("Status:")), badge(child.status))
      : null;
    const message = state.messages[child.child.id];
    const feedback = message
      ? el("p", {class: message.error ? "bsp-error" : "bsp-saved", id: `${id}-msg`}, message.text)
      : null;
    const again = child.asked_again
      ? el("p", {class: "bsp-note"}, t("The wording has changed since you answered. Please answer again."))
      : null;
    const busy = state.busy.has(child.child.id);
    const withdraw = child.can_withdraw && state.consent.kind === "consent"
      ? el("button", {
        type: "button",
        class: "bsp-danger",
        disabled: busy,
        on: {click: () => send(child, null)},
      }, t("Withdraw consent for {child}", {child: name}))
      : null;

    if (!child.can_answer) {
      return el("div", {class: "bsp-card", role: "group", "aria-labelledby": `${id}-name`},
        el("h4", {id: `${id}-name`}, name),
        el("p", {class: "bsp-note"}, whyNot(child)),
        status, myAnswerLine(child), feedback,
        withdraw ? el("div", {class: "bsp-actions"}, withdraw) : null);
    }

    const picked = state.choice[child.child.id]
      ?? (child.my_answer && child.my_answer.option !== "withdrawn" ? child.my_answer.option : null);
    const radios = state.consent.options.map((option) => el("label", {class: "bsp-choice"},
      el("input", {
        type: "radio",
        name: `${id}-option`,
        value: option.key,
        props: {checked: option.key === picked},
        disabled: busy,
        "aria-describedby": message && message.error ? `${id}-msg` : null,
        on: {change: () => { state.choice[child.child.id] = option.key; }},
      }),
      el("span", {}, option.label)));
    const answered = child.my_answer && child.my_answer.option !== "withdrawn";
    const form = el("form", {
      class: "bsp-answer",
      on: {
        submit: (event) => {
          event.preventDefault();
          const chosen = form.querySelector("input[type=radio]:checked");
          if (!chosen) {
            state.messages[child.child.id] = {error: true, text: t("Choose an answer for {child}.", {child: name})};
            state.focus = `${id}-first`;
            render();
            return;
          }
          send(child, chosen.value);
        },
      },
    },
    el("fieldset", {},
      el("legend", {}, name),
      status, myAnswerLine(child), again,
      el("div", {class: "bsp-choices"}, radios),
      feedback,
      el("div", {class: "bsp-actions"},
        el("button", {type: "submit", disabled: busy},
          answered ? t("Change answer for {child}", {child: name}) : t("Send answer for {child}", {child: name})),
        withdraw)));
    const first = form.querySelector("input[type=radio]");
    if (first) first.id = `${id}-first`;
    return form;
  }

  async function send(child, option) {
    const name = child.child.name;
    state.busy.add(child.child.id);
    delete state.messages[child.child.id];
    render();
    try {
      const result = option === null
        ? await ctx.api.post(`${base}/withdraw`, {child_ids: [child.child.id]})
        : await ctx.api.post(`${base}/answers`, {answers: [{child_id: child.child.id, option}]});
      const fresh = new Map(result.children.map((item) => [item.child.id, item]));
      state.consent.children = state.consent.children.map((item) => fresh.get(item.child.id) || item);
      delete state.choice[child.child.id];
      const text = option === null
        ? t("Your consent for {child} is withdrawn.", {child: name})
        : t("Your answer for {child} is saved: {answer}.", {child: name, answer: optionLabel(option)});
      state.messages[child.child.id] = {text};
      ctx.announce(text);
    } catch (error) {
      let text;
      if (error && error.status === 409) text = t("The deadline has passed, so answers are closed");
      else if (error && error.status === 403) text = t("Only parents with custody can answer");
      else text = [t("Your answer was not saved."), ...problemErrors(error)].join(" ");
      state.messages[child.child.id] = {error: true, text};
      ctx.announce(text);
      if (error && error.status === 409) {
        try {
          state.consent = await ctx.api.get(base);
        } catch {
          // keep what is shown; the message says what happened
        }
      }
    } finally {
      state.busy.delete(child.child.id);
      render();
      // Keyboard and screen reader users land on what happened, in that child's block.
      const msg = section.querySelector(`#${CSS.escape(`${prefix}-${child.child.id}-msg`)}`);
      if (msg) {
        msg.tabIndex = -1;
        msg.focus();
      }
    }
  }

  function staffView() {
    const consent = state.consent;
    const counts = consent.summary.counts;
    const keys = consent.options.map((option) => option.key);
    const shown = [...keys];
    if (!keys.includes("no") && counts.no) shown.push("no");
    shown.push("pending");
    if (consent.answer_rule === "all") shown.push("conflicting");
    if (consent.closed || counts.expired) shown.push("expired");
    const parts = [
      el("h3", {}, t("Results")),
      el("p", {}, tn("{n} child is asked about", "{n} children are asked about",
        consent.summary.children, {n: consent.summary.children})),
      el("ul", {class: "bsp-counts", "aria-label": t("Answers so far")}, shown.map((key) => el("li", {},
        el("strong", {}, String(counts[key] || 0)), " ", statusLabel(key)))),
    ];
    const actions = el("div", {class: "bsp-actions"},
      el("button", {
        type: "button",
        class: "bsp-secondary",
        on: {click: refreshResults},
      }, t("Update results")));
    if (state.results) {
      actions.append(el("button", {
        type: "button",
        class: "bsp-secondary",
        on: {click: () => download(ctx, `${base}/results.csv`, `${fileName(consent.title)}.csv`)
          .then(() => ctx.announce(t("The results are downloaded as a CSV file.")))
          .catch((error) => ctx.showError(section, error))},
      }, t("Download results (CSV)")));
    }
    parts.push(actions);
    if (state.results) {
      parts.push(resultsTable(state.results));
      parts.push(recordList());
    }
    return parts;
  }

  function resultsTable(results) {
    const rows = results.children.map((row) => el("tr", {},
      el("th", {scope: "row"}, row.child.name),
      el("td", {}, badge(row.status),
        row.answered_at ? el("div", {class: "bsp-muted"}, when(row.answered_at)) : null),
      el("td", {}, row.answerers.length
        ? el("ul", {class: "bsp-list"}, row.answerers.map((person) => el("li", {},
          `${person.person.name} (${relationLabel(person.relation)}): `,
          person.option ? optionLabel(person.option) : el("span", {class: "bsp-muted"}, t("no answer")))))
        : el("span", {class: "bsp-muted"}, t("Nobody can answer for this child here; ask on paper.")))));
    return el("div", {class: "bsp-table-wrap"},
      el("table", {class: "bsp-results"},
        el("caption", {}, t("Answers per child")),
        el("thead", {}, el("tr", {},
          el("th", {scope: "col"}, t("Child")),
          el("th", {scope: "col"}, t("Status")),
          el("th", {scope: "col"}, t("Who may answer")))),
        el("tbody", {}, rows)));
  }

  function recordList() {
    const items = state.record || [];
    const list = items.length
      ? el("ol", {class: "bsp-record"}, items.map((entry) => {
        const vars = {
          when: when(entry.at),
          person: entry.answered_by.name,
          relation: relationLabel(entry.relation),
          child: entry.child.name,
          answer: optionLabel(entry.option),
        };
        return el("li", {},
          entry.option === "withdrawn"
            ? t("{when}: {person} ({relation}) withdrew the consent for {child}", vars)
            : t("{when}: {person} ({relation}) answered “{answer}” for {child}", vars),
          entry.version !== state.consent.version
            ? " " + t("(an earlier wording, version {version})", {version: entry.version}) : null,
          entry.channel === "email_link" ? " " + t("(from the link in the email)") : null);
      }))
      : el("p", {class: "bsp-muted"}, t("Nobody has answered yet."));
    const more = state.recordCursor
      ? el("button", {type: "button", class: "bsp-secondary", on: {click: moreRecord}}, t("Show more"))
      : null;
    return el("div", {}, el("h3", {}, t("Record of all answers")), list, more);
  }

  async function refreshResults() {
    try {
      state.consent = await ctx.api.get(base);
      await loadResults();
      render();
      ctx.announce(t("The results are updated."));
    } catch (error) {
      ctx.showError(section, error);
    }
  }

  async function moreRecord() {
    try {
      const page = await ctx.api.get(
        `${base}/record?limit=${RECORD_PAGE}&cursor=${encodeURIComponent(state.recordCursor)}`);
      state.record = [...state.record, ...page.items];
      state.recordCursor = page.next_cursor;
      render();
    } catch (error) {
      ctx.showError(section, error);
    }
  }

  try {
    await load();
  } catch (error) {
    section.remove();
    ctx.showError(container, error);
    return;
  }
  render();

  // A new version of the question (or the request arriving again) comes as a live event.
  const unsubscribe = ctx.onEvent((event) => {
    const ours = event.type === "consent" && event.consent_id === state.consent.id;
    if (!ours && event.type !== "resync") return;
    ctx.api.get(base).then(async (fresh) => {
      state.consent = fresh;
      if (fresh.summary) await loadResults();
      render();
      if (ours) ctx.announce(t("The request has been updated."));
    }).catch(() => {});
  });
  onUnmount(container, unsubscribe);
}

function fileName(title) {
  const slug = String(title).normalize("NFKD").replace(/[^\w\s-]/g, "").trim()
    .replace(/\s+/g, "-").toLowerCase().slice(0, 60);
  return slug || "consent";
}
