// /demo/report?message=<id>: a message's delivery report (GET /v1/messages/{id}/report):
// notifications by channel × state, who no channel reaches; refreshed while some wait.
import {problemText} from "./api.js";
import {h, replace, scrollBox} from "./dom.js";
import {number, t, time, tn} from "./i18n.js";
import {kindName, findSent} from "./sent.js";
import {startPage} from "./shell.js";
import {demoHref} from "./token.js";

const REFRESH_MS = 3000;
const STATES = ["queued", "deferred", "sent", "delivered", "read", "bounced", "rejected", "failed", "superseded", "skipped"];
const PENDING = ["queued", "deferred"];
const EMPTY_POLLS = 40; // two minutes of "nothing planned yet"

const main = document.getElementById("main");
const messageId = new URLSearchParams(location.search).get("message");
let person = null;
let api = null;
let report = null;
let failure = null;
let updatedAt = null;
let timer = null;
let subject = null;
let looked = false;
let emptyPolls = 0;

function stateName(state) {
  switch (state) {
    case "queued": return t("Queued");
    case "deferred": return t("Waiting");
    case "sent": return t("Sent");
    case "delivered": return t("Delivered");
    case "read": return t("Read");
    case "bounced": return t("Bounced");
    case "rejected": return t("Rejected");
    case "failed": return t("Failed");
    case "superseded": return t("Not needed");
    case "skipped": return t("Skipped");
    default: return state;
  }
}

function channelName(channel) {
  if (channel === "email") return t("Email");
  if (channel === "webpush" || channel === "push") return t("Push");
  return channel;
}

function kindLabel(kind) {
  if (kind === "guardian") return t("Parent");
  if (kind === "child") return t("Pupil");
  if (kind === "staff") return t("Staff");
  return kind;
}

function whyText(why) {
  if (why.startsWith("no channel")) return t("No channel: no email address or push subscription, or notifications turned off.");
  const [state, ...rest] = why.split(": ");
  const reason = rest.join(": ").trim();
  if (STATES.includes(state)) return reason ? `${stateName(state)}: ${reason}` : stateName(state);
  return why;
}

function totals() {
  const byState = {};
  let all = 0;
  for (const states of Object.values(report.channels)) {
    for (const [state, count] of Object.entries(states)) {
      byState[state] = (byState[state] || 0) + count;
      all += count;
    }
  }
  return {byState, all};
}

function pending() {
  if (!report) return true;
  const {byState, all} = totals();
  // Right after sending, nothing is planned yet (and everyone counts as unreached):
  // keep asking for a while, until the workers have fanned it out.
  if (all === 0 && report.recipients > 0) return emptyPolls < EMPTY_POLLS;
  return PENDING.some((state) => (byState[state] || 0) > 0);
}

function stat(value, label) {
  return h("div", {class: "stat"}, h("span", {class: "stat-value"}, number(value)), h("span", {class: "stat-label"}, label));
}

function channelTable() {
  const channels = Object.keys(report.channels).sort();
  if (!channels.length) {
    return h("p", {class: "muted"}, t("No notifications are planned yet. They appear here in a moment."));
  }
  const states = STATES.filter((state) => channels.some((channel) => report.channels[channel][state]));
  return scrollBox(t("Notifications by channel"),
    h("table", {id: "channels"},
      h("caption", {}, t("Notifications by channel")),
      h("thead", {}, h("tr", {},
        h("th", {scope: "col"}, t("Channel")),
        states.map((state) => h("th", {scope: "col", class: "num"}, stateName(state))))),
      h("tbody", {}, channels.map((channel) => h("tr", {"data-channel": channel},
        h("th", {scope: "row"}, channelName(channel)),
        states.map((state) => h("td", {class: "num", "data-state": state}, number(report.channels[channel][state] || 0))))))));
}

function unreachedSection() {
  if (!report.unreached_count) {
    return h("p", {}, t("Every recipient is reached by at least one channel."));
  }
  return h("div", {},
    h("p", {}, t("They still have it in their inbox, but nothing tells them. Consider phoning them.")),
    scrollBox(t("Recipients no channel reaches"),
      h("table", {id: "unreached", class: "stack"},
        h("caption", {class: "visually-hidden"}, t("Recipients no channel reaches")),
        h("thead", {}, h("tr", {}, h("th", {scope: "col"}, t("Name")), h("th", {scope: "col"}, t("Role")), h("th", {scope: "col"}, t("Why")))),
        h("tbody", {}, report.unreached.map((row) => h("tr", {},
          h("td", {class: "stack-title"}, row.name),
          h("td", {"data-label": t("Role")}, kindLabel(row.kind)),
          h("td", {"data-label": t("Why")}, whyText(row.why))))))),
    report.unreached_count > report.unreached.length
      ? h("p", {class: "muted"}, t("and {n} more", {n: report.unreached_count - report.unreached.length})) : null);
}

function summaryLine() {
  const {byState, all} = totals();
  if (all === 0 && pending()) return t("Planning the notifications …");
  const waiting = PENDING.reduce((sum, state) => sum + (byState[state] || 0), 0);
  const sent = (byState.sent || 0) + (byState.delivered || 0) + (byState.read || 0);
  return tn("{n} notification sent", "{n} notifications sent", sent, {n: sent}) + ", " +
    tn("{n} waiting", "{n} waiting", waiting, {n: waiting}) + ".";
}

function head() {
  const sent = findSent(messageId);
  return [
    h("p", {class: "eyebrow"}, t("Delivery report"), " · ", sent ? kindName(sent.kind) : t("Message")),
    h("h1", {class: "page-title", id: "report-subject"}, h("bdi", {}, subject || t("Delivery report"))),
    h("p", {class: "page-lead"}, t("Where each notification stands, and who no channel reaches.")),
  ];
}

function data() {
  if (failure) return h("div", {class: "error-box", role: "alert"}, h("p", {}, problemText(failure)));
  if (!report) return h("p", {class: "loading"}, t("Loading …"));
  const reached = report.recipients - report.unreached_count;
  // Before the workers fan it out, nothing is planned and everyone looks unreached.
  const planning = totals().all === 0 && pending();
  return [
    h("div", {class: "stats", id: "stats"},
      stat(report.recipients, t("Recipients")),
      planning ? null : stat(reached, t("Reached by a channel")),
      planning ? null : stat(report.unreached_count, t("Not reached")),
      stat(report.read, t("Have read it"))),
    h("section", {class: "card", "aria-labelledby": "channels-title"},
      h("h2", {id: "channels-title"}, t("Channels")),
      channelTable(),
      h("p", {class: "updated"},
        updatedAt ? t("Updated {time}", {time: time(updatedAt)}) : null,
        pending() ? [" · ", t("Updates by itself while notifications wait.")] : null)),
    planning ? null : h("section", {class: "card", "aria-labelledby": "unreached-title"},
      h("h2", {id: "unreached-title"}, t("Not reached by any channel")),
      unreachedSection()),
  ];
}

function actions() {
  return [
    h("button", {type: "button", class: "button button-secondary", on: {click: refresh}}, t("Update now")),
    report ? h("a", {href: demoHref("/demo", {thread: report.thread_id}), class: "button button-secondary"}, t("Open the thread")) : null,
    h("a", {href: demoHref("/demo/staff"), class: "button button-secondary"}, t("Write another")),
    h("a", {href: "/dev/mail", target: "_blank", rel: "noopener"}, t("Open the mail view"),
      h("span", {class: "visually-hidden"}, " ", t("(opens in a new tab)"))),
  ];
}

/** The whole page (first load, language switch); refreshes redraw only the figures. */
function drawAll() {
  replace(main,
    h("div", {id: "report-head"}, head()),
    h("p", {id: "report-status", role: "status"}),
    h("div", {id: "report-data"}, data()),
    h("p", {class: "actions", id: "report-actions"}, actions()));
  drawStatus();
}

function drawData() {
  replace(document.getElementById("report-head"), head());
  replace(document.getElementById("report-data"), data());
  drawStatus();
}

function drawStatus() {
  const status = document.getElementById("report-status");
  const line = report && !failure ? summaryLine() : "";
  if (status.textContent !== line) status.textContent = line;
}

async function refresh() {
  clearTimeout(timer);
  try {
    report = await api.get(`/v1/messages/${encodeURIComponent(messageId)}/report`);
    failure = null;
    if (!Object.keys(report.channels).length) emptyPolls += 1;
    updatedAt = new Date();
  } catch (error) {
    failure = error;
  }
  if (report && !looked) {
    looked = true;
    subject = await threadSubject(report.thread_id);
    drawAll();
  } else {
    drawData();
  }
  if (!failure && pending()) timer = setTimeout(refresh, REFRESH_MS);
}

async function threadSubject(threadId) {
  const sent = findSent(messageId);
  if (sent) return sent.subject;
  try {
    return (await api.get(`/v1/inbox/threads/${encodeURIComponent(threadId)}`)).subject;
  } catch {
    return null;
  }
}

startPage({
  page: "report",
  title: () => t("Delivery report"),
  whoFor: () => t("The delivery report is for the staff member who sent the message."),
  draw: async (page) => {
    ({person, api} = page);
    if (!messageId) {
      replace(main, h("p", {class: "error"}, t("No message chosen.")));
      return;
    }
    drawAll();
    if (!report && !failure) await refresh();
  },
});
