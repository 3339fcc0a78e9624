// /demo/results?consent=<id>: a consent request's answers per child
// (GET /v1/consents/{id}/results), counts, and the CSV (fetched with the token).
import {problemText} from "./api.js";
import {h, replace, scrollBox} from "./dom.js";
import {dateTime, number, t, time, tn} from "./i18n.js";
import {findSent} from "./sent.js";
import {startPage} from "./shell.js";
import {demoHref} from "./token.js";

const REFRESH_MS = 5000;
const FIXED = ["pending", "conflicting", "expired"];

const main = document.getElementById("main");
const consentId = new URLSearchParams(location.search).get("consent");
let person = null;
let api = null;
let request = null;
let results = null;
let failure = null;
let updatedAt = null;
let timer = null;

function statusName(status) {
  if (status === "pending") return t("Waiting for an answer");
  if (status === "conflicting") return t("Parents disagree");
  if (status === "expired") return t("No answer by the deadline");
  if (status === "withdrawn") return t("Withdrawn");
  const option = ((request && request.options) || []).find((o) => o.key === status);
  if (option) return option.label;
  if (status === "yes") return t("Yes");
  if (status === "no") return t("No");
  return status;
}

function relationName(relation) {
  switch (relation) {
    case "parent": return t("parent");
    case "guardian": return t("guardian");
    case "relative": return t("relative");
    case "foster": return t("foster parent");
    case "self": return t("the pupil");
    default: return relation;
  }
}

function badge(status) {
  const tone = status === "yes" || status === "no" || status === "pending" ? status : "";
  return h("span", {class: `status status-${tone || "other"}`, "data-status": status}, statusName(status));
}

function stat(value, label, key) {
  return h("div", {class: "stat", "data-count": key},
    h("span", {class: "stat-value"}, number(value)), h("span", {class: "stat-label"}, label));
}

function answerers(child) {
  if (!child.answerers.length) return h("span", {class: "muted"}, t("Nobody can answer for this child; ask on paper."));
  return h("ul", {class: "plain"}, child.answerers.map((a) => h("li", {},
    `${a.person.name} (${relationName(a.relation)}): `,
    a.option ? statusName(a.option) : h("span", {class: "muted"}, t("not answered")))));
}

function data() {
  if (failure) return h("div", {class: "error-box", role: "alert"}, h("p", {}, problemText(failure)));
  if (!results) return h("p", {class: "loading"}, t("Loading …"));
  const optionKeys = ((request && request.options) || []).map((o) => o.key);
  const keys = [...optionKeys, ...FIXED.filter((key) => key === "pending" || results.counts[key])];
  return [
    h("div", {class: "stats", id: "counts"}, keys.map((key) => stat(results.counts[key] || 0, statusName(key), key))),
    h("section", {class: "card", "aria-labelledby": "children-title"},
      h("h2", {id: "children-title"}, tn("{n} child", "{n} children", results.children.length, {n: results.children.length})),
      scrollBox(t("Answers per child"),
        h("table", {id: "children", class: "stack"},
          h("caption", {class: "visually-hidden"}, t("Answers per child")),
          h("thead", {}, h("tr", {},
            h("th", {scope: "col"}, t("Child")),
            h("th", {scope: "col"}, t("Status")),
            h("th", {scope: "col"}, t("Who may answer")))),
          h("tbody", {}, results.children.map((child) => h("tr", {"data-child": child.child.id},
            h("th", {scope: "row", class: "stack-title"}, child.child.name),
            h("td", {}, badge(child.status), child.answered_at ? h("div", {class: "muted"}, dateTime(child.answered_at)) : null),
            h("td", {}, answerers(child))))))),
      h("p", {class: "updated"}, updatedAt ? t("Updated {time}", {time: time(updatedAt)}) : null)),
  ];
}

function head() {
  const title = (results && results.title) || (request && request.title) || "";
  const kind = (results || request || {}).kind;
  const deadline = (results || request || {}).deadline;
  return [
    h("p", {class: "eyebrow"}, t("Answers"), " · ", kind === "permission" ? t("Permission") : t("Consent request")),
    h("h1", {class: "page-title"}, h("bdi", {}, title || t("Answers"))),
    deadline ? h("p", {class: "page-lead"},
      (results && results.closed) ? t("Closed. The deadline was {time}.", {time: dateTime(deadline)})
        : t("Deadline {time}. Parents with custody answer per child.", {time: dateTime(deadline)})) : null,
  ];
}

function actions() {
  const sent = findSent(consentId);
  return [
    h("button", {type: "button", class: "button", id: "csv", on: {click: downloadCsv}}, t("Download as CSV")),
    h("button", {type: "button", class: "button button-secondary", on: {click: refresh}}, t("Update now")),
    request ? h("a", {href: demoHref("/demo", {thread: request.thread_id}), class: "button button-secondary"}, t("Open the thread")) : null,
    sent ? h("a", {href: demoHref("/demo/report", {message: sent.message_id}), class: "button button-secondary"}, t("See the delivery report")) : null,
  ];
}

function drawAll() {
  replace(main,
    h("div", {id: "results-head"}, head()),
    h("p", {id: "results-status", role: "status"}),
    h("div", {id: "results-data"}, data()),
    h("p", {class: "actions", id: "results-actions"}, actions()),
    h("p", {id: "csv-status", role: "status", class: "muted"}));
  drawStatus();
}

function drawStatus() {
  const status = document.getElementById("results-status");
  const line = results && !failure
    ? tn("{n} child answered", "{n} children answered", answered(), {n: answered()}) + ", " +
      tn("{n} waiting", "{n} waiting", results.counts.pending || 0, {n: results.counts.pending || 0}) + "."
    : "";
  if (status.textContent !== line) status.textContent = line;
}

function answered() {
  return results.children.filter((c) => !FIXED.includes(c.status)).length;
}

async function downloadCsv() {
  const status = document.getElementById("csv-status");
  status.textContent = t("Preparing the file …");
  try {
    const blob = await api.blob(`/v1/consents/${encodeURIComponent(consentId)}/results.csv`);
    const url = URL.createObjectURL(blob);
    const link = h("a", {href: url, download: `samtykke-${consentId}.csv`, hidden: true});
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    status.textContent = t("The CSV file is downloaded.");
  } catch (error) {
    status.textContent = problemText(error);
  }
}

async function refresh() {
  clearTimeout(timer);
  const first = !results && !failure;
  try {
    if (!request) request = await api.get(`/v1/consents/${encodeURIComponent(consentId)}`);
    results = await api.get(`/v1/consents/${encodeURIComponent(consentId)}/results`);
    failure = null;
    updatedAt = new Date();
  } catch (error) {
    failure = error;
  }
  if (first) {
    drawAll();
  } else {
    replace(document.getElementById("results-head"), head());
    replace(document.getElementById("results-data"), data());
    drawStatus();
  }
  if (!failure && !results.closed) timer = setTimeout(refresh, REFRESH_MS);
}

startPage({
  page: "results",
  title: () => t("Answers"),
  whoFor: () => t("The answers are for the staff member who asked."),
  draw: async (page) => {
    ({person, api} = page);
    if (!consentId) {
      replace(main, h("p", {class: "error"}, t("No consent request chosen.")));
      return;
    }
    drawAll();
    if (!results && !failure) await refresh();
  },
});
