// Budstikke's service worker: web push notifications for the inbox (docs/embedding.md).
//
// It caches nothing and handles no fetches: it exists only to show the gateway's push
// messages, to take the reader to the thread when one is clicked, and to renew the push
// subscription when the browser replaces it. A portal that embeds the inbox on its own
// origin serves this file itself, at the root of that origin (a service worker must be
// same-origin with the page that registers it).
//
// The gateway's payload (gateway/delivery/render.py, Renderer.push) is JSON:
//   {title, body, thread_id, message_id, url, tag, sensitive, urgent, kind}
// already in the reader's language. Chrome requires a notification for every push, so a
// payload that is not JSON or lacks what is needed still shows a generic one.
//
// Sensitive threads: the gateway never puts a subject, body or sender name in their
// payload. This worker does not rely on that alone: when `sensitive` is true, it shows
// the payload's title/body only if they are exactly one of the gateway's own content-free
// texts below (so the reader keeps their language), and otherwise fixed Danish text. Only
// a payload saying `sensitive: false` shows its own text.

"use strict";

// The gateway's content-free texts for a sensitive item, per locale (templates/locale/*/
// messages.po: "New sensitive message", "[Urgent] %(subject)s", "Open the portal to read
// it."). Danish first: it is also the fallback.
const SENSITIVE_TEXTS = [
  {lang: "da", dir: "ltr", title: "Ny følsom besked", urgent: "[Vigtigt] Ny følsom besked",
   body: "Åbn portalen for at læse den."},
  {lang: "en", dir: "ltr", title: "New sensitive message",
   urgent: "[Urgent] New sensitive message", body: "Open the portal to read it."},
  {lang: "ar", dir: "rtl", title: "رسالة حساسة جديدة", urgent: "[عاجل] رسالة حساسة جديدة",
   body: "افتح البوابة لقراءتها."},
];
// A push we cannot read: say only that something waits.
const GENERIC = {title: "Ny besked", body: "Åbn portalen for at læse den.", lang: "da"};
const GENERIC_TAG = "budstikke";
// How long a page has to confirm it opened the thread before a new window is opened.
const ACK_TIMEOUT_MS = 1500;

self.addEventListener("install", () => {
  self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});

function text(value) {
  return typeof value === "string" && value.trim() !== "" ? value : null;
}

function threadId(payload) {
  const id = text(payload.thread_id);
  return id && /^[0-9a-fA-F-]{1,64}$/.test(id) ? id : null;
}

function safeUrl(value) {
  // Only http(s) links, resolved against this worker's origin; anything else is dropped.
  const given = text(value);
  if (!given) return null;
  try {
    const url = new URL(given, self.location.origin);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

function sensitiveText(payload, urgent) {
  const title = text(payload.title);
  const body = text(payload.body);
  const known = SENSITIVE_TEXTS.find(
    (entry) => title === entry.title || title === entry.urgent,
  );
  const entry = known || SENSITIVE_TEXTS[0];
  return {
    title: known ? title : urgent ? entry.urgent : entry.title,
    body: body === entry.body ? body : entry.body,
    lang: entry.lang,
    dir: entry.dir,
  };
}

// What to show for one push: {title, options}. Never throws.
function notificationFor(payload) {
  if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
    return {title: GENERIC.title, options: {body: GENERIC.body, tag: GENERIC_TAG,
      lang: GENERIC.lang, data: {url: null, thread_id: null}}};
  }
  const id = threadId(payload);
  const urgent = payload.urgent === true;
  const data = {url: safeUrl(payload.url), thread_id: id, message_id: text(payload.message_id),
    kind: text(payload.kind)};
  const tag = text(payload.tag) || (id ? `thread-${id}` : GENERIC_TAG);
  const options = {tag, data, renotify: urgent, requireInteraction: urgent};
  if (payload.sensitive === true) {
    const shown = sensitiveText(payload, urgent);
    return {title: shown.title, options: {...options, body: shown.body, lang: shown.lang,
      dir: shown.dir}};
  }
  const title = text(payload.title);
  if (payload.sensitive !== false || !title) {
    // No explicit "not sensitive", or nothing to show: content-free, like an unreadable push.
    return {title: GENERIC.title, options: {...options, body: GENERIC.body, lang: GENERIC.lang}};
  }
  return {title, options: {...options, body: typeof payload.body === "string" ? payload.body : ""}};
}

function parse(data) {
  if (!data) return null;
  try {
    return data.json();
  } catch {
    return null;
  }
}

self.addEventListener("push", (event) => {
  const {title, options} = notificationFor(parse(event.data));
  event.waitUntil(
    self.registration.showNotification(title, options).catch(() =>
      // Options a browser refuses must not cost the reader the notification.
      self.registration.showNotification(GENERIC.title, {body: GENERIC.body, tag: options.tag}),
    ),
  );
});

// Ask an open page of the portal to open the thread; true if it confirmed in time.
function askToOpen(client, id, kind) {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    const timer = setTimeout(() => resolve(false), ACK_TIMEOUT_MS);
    channel.port1.onmessage = () => {
      clearTimeout(timer);
      resolve(true);
    };
    client.postMessage({type: "budstikke-open-thread", thread_id: id, kind}, [channel.port2]);
  });
}

async function focus(client) {
  try {
    await client.focus();
  } catch {
    // Focus can be refused (e.g. the click was too long ago); the thread is open anyway.
  }
}

async function openThread(data) {
  const id = data && typeof data.thread_id === "string" ? data.thread_id : null;
  const kind = data && data.kind === "announcement" ? "announcement" : "message";
  const url = (data && data.url) || self.registration.scope;
  const windows = await self.clients.matchAll({type: "window", includeUncontrolled: true});
  const ours = windows.filter((client) => new URL(client.url).origin === self.location.origin);
  // The most recently focused first (matchAll's order), a visible one before hidden ones.
  ours.sort((a, b) => Number(b.visibilityState === "visible") -
    Number(a.visibilityState === "visible"));
  // Ask at most two (each has ACK_TIMEOUT_MS to answer: the browser lets a click open a
  // window only for a few seconds), and bring the one that opened the thread to the front.
  for (const client of id ? ours.slice(0, 2) : []) {
    if (await askToOpen(client, id, kind)) {
      await focus(client);
      return;
    }
  }
  if (!id && ours.length > 0) {
    // A push we could not read: no thread to open; the portal, if open, is enough.
    await focus(ours[0]);
    return;
  }
  // No open page showing the inbox: open the thread's link (the gateway's /threads/<id>,
  // which redirects to the portal, where opening the thread marks it read).
  await self.clients.openWindow(url);
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(openThread(event.notification.data));
});

// The browser replaced the subscription (expired or revoked): subscribe again with the
// same key and hand the new one to open pages, whose push control posts it to the gateway
// with the reader's token (this worker has none). With no page open, the gateway's copy
// goes stale until the next visit: the control re-posts the browser's subscription
// whenever it is shown.
async function resubscribe(event) {
  let key = event.oldSubscription && event.oldSubscription.options
    ? event.oldSubscription.options.applicationServerKey : null;
  if (!key) {
    try {
      const response = await fetch(new URL("/v1/push/vapid-public-key", self.location.origin));
      if (response.ok) key = fromBase64Url((await response.json()).public_key);
    } catch {
      key = null;
    }
  }
  let subscription = event.newSubscription || null;
  if (!subscription && key) {
    try {
      subscription = await self.registration.pushManager.subscribe(
        {userVisibleOnly: true, applicationServerKey: key});
    } catch {
      subscription = null;
    }
  }
  const windows = await self.clients.matchAll({type: "window", includeUncontrolled: true});
  for (const client of windows) {
    client.postMessage({
      type: "budstikke-resubscribe",
      subscription: subscription ? subscription.toJSON() : null,
      old_endpoint: event.oldSubscription ? event.oldSubscription.endpoint : null,
    });
  }
}

function fromBase64Url(value) {
  const base64 = value.replace(/-/g, "+").replace(/_/g, "/");
  const raw = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(raw, (char) => char.charCodeAt(0));
}

self.addEventListener("pushsubscriptionchange", (event) => {
  event.waitUntil(resubscribe(event));
});
