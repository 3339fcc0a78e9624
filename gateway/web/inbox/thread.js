// One thread: its messages in order, attachments, recalled markers, the reply form
// where the reply policy lets the reader answer, and — for its sender — the read
// receipts, kept current live.

import {clear, h, setSanitisedHtml, uid} from "./dom.js";
import {
  attachmentList,
  backButton,
  childNames,
  debounce,
  isUrgent,
  joinNames,
  loadingLine,
  sensitiveTag,
  timeElement,
  urgentTag,
  whileMounted,
} from "./pieces.js";

export async function renderThread(ctx, container, threadId, {focus = false} = {}) {
  const {t} = ctx.i18n;
  const path = `/v1/inbox/threads/${encodeURIComponent(threadId)}`;
  const back = backButton(t("Back to messages"), () => ctx.navigate({view: "threads"}));
  const body = h("div", {"aria-busy": "true"}, loadingLine(ctx, t("Loading the thread…")));
  container.append(back, body);

  let thread;
  try {
    thread = await ctx.api.get(path);
  } catch (error) {
    clear(body);
    body.removeAttribute("aria-busy");
    ctx.showError(body, error);
    if (focus) back.focus();
    return;
  }
  clear(body);
  body.removeAttribute("aria-busy");

  const headingId = uid("thread");
  const heading = h("h2", {id: headingId, tabindex: "-1"}, h("bdi", null, thread.subject || t("(no subject)")));
  const section = h("section", {"aria-labelledby": headingId}, heading);
  const summary = ctx.cache?.threads.get(thread.id);
  const names = childNames(ctx, summary?.regarding);
  section.append(
    h(
      "p",
      {class: "thread-sub"},
      thread.created_by.id === ctx.me.id
        ? t("Started by you on {date}", {date: ctx.i18n.dateTime(thread.created_at)})
        : t("Started by {name} on {date}", {name: thread.created_by.name, date: ctx.i18n.dateTime(thread.created_at)}),
      names.length ? " · " + t("About {names}", {names: joinNames(ctx, names)}) : "",
    ),
  );
  const markers = [thread.sensitive ? sensitiveTag(ctx) : null, isUrgent(thread) ? urgentTag(ctx) : null].filter(Boolean);
  if (markers.length) section.append(h("div", {class: "thread-markers"}, markers));

  const isSender = thread.created_by.id === ctx.me.id;
  const receipts = isSender ? receiptsBox(ctx, thread.id) : null;
  if (receipts) section.append(receipts.element);

  const messages = h("ol", {class: "messages", role: "list", "aria-label": t("Messages in the thread")});
  section.append(messages);
  let shown = new Set();
  drawMessages(ctx, messages, thread, shown);
  shown = new Set(thread.messages.map((m) => m.id));
  section.append(thread.can_reply ? replyForm(ctx, thread, reload) : h("p", {class: "no-reply"}, t("You cannot reply in this thread.")));
  body.append(section);
  if (focus) heading.focus();

  container.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || event.defaultPrevented) return;
    const field = event.target;
    if (field instanceof HTMLTextAreaElement && field.value.trim()) return; // keep a draft
    event.preventDefault();
    ctx.navigate({view: "threads"});
  });

  if (thread.unread_count > 0) await markRead(ctx, thread.id);

  async function reload({announceNew = false} = {}) {
    let fresh;
    try {
      fresh = await ctx.api.get(path);
    } catch {
      return; // the next event or a reload will try again
    }
    thread = fresh;
    const added = fresh.messages.filter((m) => !shown.has(m.id));
    drawMessages(ctx, messages, fresh, shown);
    shown = new Set(fresh.messages.map((m) => m.id));
    const others = added.filter((m) => m.author.id !== ctx.me.id);
    if (announceNew && others.length) {
      const last = others[others.length - 1];
      ctx.announce(t("New message from {name}", {name: last.author.name}));
    }
    if (fresh.unread_count > 0 && document.visibilityState === "visible") await markRead(ctx, fresh.id);
  }

  const liveReload = debounce(() => reload({announceNew: true}), 150);
  const liveReceipts = debounce(() => receipts?.refresh(), 150);
  whileMounted(ctx, container, (event) => {
    if (event.thread_id !== thread.id && event.type !== "resync") return;
    if (event.type === "message" || event.type === "recalled" || event.type === "resync") liveReload();
    if (event.type === "read" || event.type === "resync") liveReceipts();
  });
  return {heading};
}

async function markRead(ctx, threadId) {
  try {
    await ctx.api.post(`/v1/inbox/threads/${encodeURIComponent(threadId)}/read`, {});
    ctx.refreshCounts?.();
  } catch {
    // Not fatal: the thread stays unread and is marked the next time it opens.
  }
}

function drawMessages(ctx, list, thread, shown) {
  clear(list);
  for (const message of thread.messages) {
    const item = messageItem(ctx, message);
    if (shown.size && !shown.has(message.id)) item.firstChild.classList.add("fresh");
    list.append(item);
  }
}

function messageItem(ctx, message) {
  const {t} = ctx.i18n;
  const nameId = uid("author");
  const own = message.author.id === ctx.me.id;
  const head = h(
    "header",
    {class: "message-head"},
    h("h3", {id: nameId}, own ? t("{name} (you)", {name: message.author.name}) : message.author.name),
    h("span", {class: "message-time"}, timeElement(ctx, message.created_at, "dateTime")),
    message.private ? h("span", {class: "tag tag-muted"}, t("Private reply")) : null,
    message.auto_reply ? h("span", {class: "tag tag-muted"}, t("Automatic reply")) : null,
  );
  const article = h("article", {class: own ? "message own" : "message", "aria-labelledby": nameId}, head);
  if (message.recalled) {
    article.append(h("p", {class: "recalled"}, t("The message has been recalled")));
  } else {
    article.append(messageBody(message));
    const files = attachmentList(ctx, message.attachments);
    if (files) article.append(files);
  }
  return h("li", null, article);
}

/** The body: the gateway's sanitised HTML, or the plain text when there is none. */
function messageBody(message) {
  const element = h("div", {class: "message-body", dir: "auto"});
  if (message.body_html) setSanitisedHtml(element, message.body_html);
  else element.append(h("p", null, message.body || ""));
  return element;
}

function replyForm(ctx, thread, reload) {
  const {t} = ctx.i18n;
  const fieldId = uid("reply");
  const hintId = uid("reply-hint");
  const privateReply = thread.created_by.id !== ctx.me.id && (thread.reply_policy === "sender" || thread.hidden_recipients);
  const field = h("textarea", {id: fieldId, name: "body", rows: "4", required: true, maxlength: "20000", "aria-describedby": privateReply ? hintId : null});
  const status = h("span", {role: "status", class: "thread-sub"});
  const error = h("p", {class: "form-error", role: "alert"});
  const submit = h("button", {type: "submit", class: "button"}, t("Send reply"));
  const form = h(
    "form",
    {class: "reply", "aria-label": t("Reply")},
    h("label", {for: fieldId}, t("Write a reply")),
    privateReply ? h("p", {id: hintId, class: "thread-sub"}, t("Only the sender sees your reply.")) : null,
    field,
    error,
    h("div", {class: "reply-actions"}, submit, status),
  );
  field.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = field.value.trim();
    error.textContent = "";
    if (!text) {
      error.textContent = t("Write something before you send.");
      field.focus();
      return;
    }
    submit.disabled = true;
    status.textContent = t("Sending…");
    try {
      await ctx.api.post(`/v1/threads/${encodeURIComponent(thread.id)}/messages`, {body: text});
      field.value = "";
      status.textContent = t("Your reply has been sent.");
      await reload();
      field.focus();
    } catch (problem) {
      status.textContent = "";
      error.textContent = replyProblem(ctx, problem);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

function replyProblem(ctx, problem) {
  const {t} = ctx.i18n;
  if (problem?.assuranceTooLow) return t("This message is sensitive. Log in with MitID to read it.");
  if (problem?.status === 403) return t("You cannot reply in this thread.");
  if (problem?.status === 413) return t("The reply is too long.");
  if (problem?.status === 429) return t("Too many requests right now. Wait a moment and try again.");
  if (problem?.status === 0) return t("No connection to the server. Check your connection and try again.");
  return t("Your reply could not be sent. Try again.");
}

/** "Read by 3 of 24" and who, for the thread's sender; refresh() re-reads it. */
function receiptsBox(ctx, threadId) {
  const {t} = ctx.i18n;
  const label = h("span", {class: "receipt-count"}, t("Loading read receipts…"));
  const list = h("ul", {role: "list"});
  const element = h("details", {class: "receipts"}, h("summary", null, label), list);
  element.hidden = false;

  async function refresh() {
    let data;
    try {
      data = await ctx.api.get(`/v1/threads/${encodeURIComponent(threadId)}/receipts`);
    } catch (error) {
      if (error?.status === 403 || error?.status === 404) element.hidden = true;
      else label.textContent = t("Read receipts could not be loaded.");
      return;
    }
    label.textContent = t("Read by {read} of {total}", {read: ctx.i18n.number(data.read), total: ctx.i18n.number(data.total)});
    element.dataset.read = String(data.read);
    element.dataset.total = String(data.total);
    const people = [...data.recipients].sort((a, b) => Number(b.read) - Number(a.read) || a.person.name.localeCompare(b.person.name, ctx.i18n.locale));
    clear(list);
    for (const receipt of people) {
      list.append(
        h(
          "li",
          null,
          receipt.person.name,
          " — ",
          h("span", {class: "receipt-state"}, receipt.read
            ? t("read {time}", {time: ctx.i18n.dateTime(receipt.read_at)})
            : t("not read")),
        ),
      );
    }
  }
  refresh();
  return {element, refresh};
}
