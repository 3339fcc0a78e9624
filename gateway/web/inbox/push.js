// The push opt-in / opt-out control of <budstikke-inbox> (docs/embedding.md, "Push
// notifications").
//
// Turning push on registers the service worker (/sw.js on the page's own origin, scope
// "/"), asks the browser for permission, subscribes with the gateway's VAPID key and posts
// the subscription to POST /v1/push/subscriptions. Turning it off deletes it at the
// gateway, then unsubscribes the browser. Each time the control is shown and push is on,
// the browser's current subscription is posted again: the gateway keys subscriptions by
// endpoint, so that is idempotent (200 instead of 201), refreshes a renewed subscription
// and gives the control the id it deletes with.
//
// While mounted it also listens to the service worker: "budstikke-open-thread" (a
// notification was clicked) opens the thread with ctx.navigate, and
// "budstikke-resubscribe" (the browser replaced the subscription) posts the new one.

const SW_URL = "/sw.js";
const SCOPE = "/";
const SUBSCRIPTIONS = "/v1/push/subscriptions";
const VAPID_KEY = "/v1/push/vapid-public-key";
const ACTIVATE_TIMEOUT_MS = 10000;
const STYLE = `
.bs-push { border: 1px solid var(--bs-border, #d4d2ca); border-radius: 8px;
  background: var(--bs-surface, #ffffff); color: var(--bs-text, #1f2328);
  padding: 1rem; max-inline-size: 40rem; text-align: start; }
.bs-push h3 { margin: 0 0 0.25rem; font-size: 1.125rem; line-height: 1.3; }
.bs-push p { margin: 0.5rem 0; }
.bs-push .bs-push-intro, .bs-push .bs-push-note { color: var(--bs-muted, #595f66); }
.bs-push .bs-push-note { font-size: 0.875rem; }
.bs-push .bs-push-state { display: flex; align-items: flex-start; gap: 0.5rem; font-weight: 600; }
.bs-push .bs-push-dot { flex: none; inline-size: 0.75rem; block-size: 0.75rem;
  margin-block-start: 0.375em;
  border-radius: 50%; border: 2px solid var(--bs-muted, #595f66); }
.bs-push[data-state="on"] .bs-push-dot { background: var(--bs-accent, #1d4e89);
  border-color: var(--bs-accent, #1d4e89); }
.bs-push[data-state="blocked"] .bs-push-dot, .bs-push[data-state="unsupported"] .bs-push-dot,
.bs-push[data-state="unavailable"] .bs-push-dot { border-style: dashed; }
.bs-push button { font: inherit; font-weight: 600; min-block-size: 2.75rem;
  padding: 0.5rem 1rem; border-radius: 8px; cursor: pointer;
  border: 2px solid var(--bs-accent, #1d4e89); }
.bs-push button.bs-push-on { background: var(--bs-accent, #1d4e89);
  color: var(--bs-accent-text, #ffffff); }
.bs-push button.bs-push-off { background: var(--bs-surface, #ffffff);
  color: var(--bs-accent, #1d4e89); }
.bs-push button[aria-disabled="true"] { cursor: progress; opacity: 0.75; }
.bs-push button:focus-visible { outline: 3px solid var(--bs-focus, #ffbf47);
  outline-offset: 2px; box-shadow: 0 0 0 2px var(--bs-text, #1f2328); }
.bs-push .bs-push-error > p { margin-block-start: 0.75rem; padding: 0.5rem 0.75rem;
  border-inline-start: 4px solid var(--bs-danger, #b42318); background: var(--bs-warning-bg, #fff4d6); }
@media (prefers-reduced-motion: no-preference) {
  .bs-push .bs-push-dot { transition: background-color 0.2s; }
}
`;
let sheet = null;
let counter = 0;

function adoptStyle(container) {
  const root = container.getRootNode();
  if (!("adoptedStyleSheets" in root)) return;
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(STYLE);
  }
  if (!root.adoptedStyleSheets.includes(sheet)) {
    root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet];
  }
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

// The gateway's key (base64url of a 65-byte P-256 point) as PushManager.subscribe takes it.
export function keyBytes(base64url) {
  const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
  const raw = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(raw, (char) => char.charCodeAt(0));
}

function sameKey(buffer, bytes) {
  if (!buffer) return true; // the browser does not say: trust the subscription
  const given = new Uint8Array(buffer);
  return given.length === bytes.length && given.every((byte, i) => byte === bytes[i]);
}

function unsupported() {
  if (!("serviceWorker" in navigator) || !("PushManager" in window) ||
      !("Notification" in window)) return "unsupported";
  if (!window.isSecureContext) return "insecure";
  return null;
}

async function activated(registration) {
  if (registration.active) return registration;
  const worker = registration.installing || registration.waiting;
  if (!worker) return registration;
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("service worker did not activate")),
      ACTIVATE_TIMEOUT_MS);
    worker.addEventListener("statechange", () => {
      if (worker.state === "activated") {
        clearTimeout(timer);
        resolve();
      } else if (worker.state === "redundant") {
        clearTimeout(timer);
        reject(new Error("service worker became redundant"));
      }
    });
  });
  return registration;
}

// The POST /v1/push/subscriptions body from PushSubscription.toJSON() (or the same shape).
function body(json) {
  return {
    endpoint: json.endpoint,
    expirationTime: json.expirationTime ?? null,
    keys: {p256dh: json.keys.p256dh, auth: json.keys.auth},
    user_agent: navigator.userAgent.slice(0, 300),
  };
}

function pageRegistration() {
  return navigator.serviceWorker.getRegistration(new URL(SCOPE, location.origin).href);
}

// Where this browser stands, and its subscription posted again when it has one:
// {state: "on", key, id} | {state: "off" | "blocked" | …, key, error?} (error: the post
// failed). Throws when the gateway's key cannot be had, except 404 ("unavailable": web
// push is not configured there).
async function syncState(ctx) {
  const reason = unsupported();
  if (reason) return {state: reason, key: null};
  let key;
  try {
    key = keyBytes((await ctx.api.get(VAPID_KEY)).public_key);
  } catch (err) {
    if (err && err.status === 404) return {state: "unavailable", key: null};
    throw err;
  }
  if (Notification.permission === "denied") return {state: "blocked", key};
  const registration = await pageRegistration();
  let subscription = registration ? await registration.pushManager.getSubscription() : null;
  if (subscription && !sameKey(subscription.options.applicationServerKey, key)) {
    // The gateway's key changed: this subscription no longer works; start again.
    await subscription.unsubscribe();
    subscription = null;
  }
  if (!subscription || Notification.permission !== "granted") return {state: "off", key};
  try {
    const stored = await ctx.api.post(SUBSCRIPTIONS, body(subscription.toJSON()));
    return {state: "on", key, id: stored.id};
  } catch (error) {
    return {state: "off", key, error};
  }
}

/**
 * syncPushSubscription(ctx) → true when push is on for this browser.
 * For the shell, once per visit: posts the browser's current subscription again (the
 * gateway keys them by endpoint: idempotent), so one the browser renewed while no page
 * was open reaches the gateway. Does nothing (false) when push is off; never throws.
 */
export async function syncPushSubscription(ctx) {
  if (typeof Notification === "undefined" || Notification.permission !== "granted") return false;
  try {
    return (await syncState(ctx)).state === "on";
  } catch {
    return false;
  }
}

export async function renderPushControl(ctx, container) {
  const t = (msgid, vars) => ctx.i18n.t(msgid, vars);
  adoptStyle(container);
  const headingId = `bs-push-heading-${++counter}`;
  const stateText = el("span", {});
  const status = el("p", {class: "bs-push-state"}, el("span", {class: "bs-push-dot",
    "aria-hidden": "true"}), stateText);
  const hint = el("p", {class: "bs-push-hint"});
  const button = el("button", {type: "button"});
  const actions = el("p", {});
  const error = el("div", {class: "bs-push-error"});
  const section = el("section", {class: "bs-push", "aria-labelledby": headingId},
    el("h3", {id: headingId}, t("Push notifications")),
    el("p", {class: "bs-push-intro"},
      t("Get a notification on this device when a new message arrives, even when the portal is closed.")),
    status, hint, actions, error,
    el("p", {class: "bs-push-note"},
      t("Sensitive messages never show their content in a notification, only that a message is waiting.")));
  container.append(section);

  let subscriptionId = null;
  let key = null;
  let busy = false;
  let current = "checking";

  const STATES = {
    checking: () => t("Checking push notifications…"),
    on: () => t("Push notifications are on for this browser."),
    off: () => t("Push notifications are off for this browser."),
    unsupported: () => t("This browser does not support push notifications."),
    insecure: () => t("Push notifications need a secure connection (https)."),
    blocked: () => t("Notifications are blocked for this site."),
    unavailable: () => t("Push notifications are not set up on this server."),
  };

  const HINTS = {
    blocked: () => t("Allow notifications for this site in the browser's settings, then reload the page to turn push on."),
    unsupported: () => t("You still get every message in the inbox and by email."),
    insecure: () => t("You still get every message in the inbox and by email."),
    unavailable: () => t("You still get every message in the inbox and by email."),
  };

  function show(state) {
    current = state;
    section.dataset.state = state;
    stateText.textContent = STATES[state]();
    hint.textContent = HINTS[state] ? HINTS[state]() : "";
    hint.hidden = !HINTS[state];
    const canAct = state === "on" || state === "off";
    if (!canAct) {
      actions.replaceChildren();
      return;
    }
    button.className = state === "on" ? "bs-push-off" : "bs-push-on";
    button.textContent = state === "on"
      ? t("Turn off push notifications") : t("Turn on push notifications");
    button.removeAttribute("aria-disabled");
    if (!actions.contains(button)) actions.replaceChildren(button);
  }

  function working(on) {
    busy = on;
    if (on) {
      button.setAttribute("aria-disabled", "true");
      button.textContent = t("Working…");
    }
  }

  function fail(err, fallback) {
    error.replaceChildren();
    if (err && typeof err.status === "number") {
      ctx.showError(error, err);
      return;
    }
    const said = el("p", {role: "alert"});
    error.append(said);
    said.textContent = err && err.name === "NotAllowedError"
      ? t("Notifications were not allowed, so push is still off.")
      : err && ["AbortError", "NetworkError", "TimeoutError"].includes(err.name)
        ? t("This browser could not reach its push service. Check your internet connection and try again.")
        : fallback;
  }

  async function register(json) {
    const stored = await ctx.api.post(SUBSCRIPTIONS, body(json));
    subscriptionId = stored.id;
  }

  async function turnOn() {
    const permission = Notification.permission === "granted"
      ? "granted" : await Notification.requestPermission();
    if (permission !== "granted") {
      show(permission === "denied" ? "blocked" : "off");
      const refused = new Error("permission");
      refused.name = "NotAllowedError";
      throw refused;
    }
    const swUrl = new URL(ctx.serviceWorkerUrl || SW_URL, location.origin);
    const reg = await activated(await navigator.serviceWorker.register(swUrl.href, {scope: SCOPE}));
    let subscription = await reg.pushManager.getSubscription();
    if (subscription && !sameKey(subscription.options.applicationServerKey, key)) {
      await subscription.unsubscribe();
      subscription = null;
    }
    subscription ||= await reg.pushManager.subscribe({userVisibleOnly: true,
      applicationServerKey: key});
    await register(subscription.toJSON());
  }

  async function turnOff() {
    const reg = await pageRegistration();
    const subscription = reg ? await reg.pushManager.getSubscription() : null;
    if (!subscriptionId && subscription) await register(subscription.toJSON());
    if (subscriptionId) {
      try {
        await ctx.api.del(`${SUBSCRIPTIONS}/${subscriptionId}`);
      } catch (err) {
        if (err.status !== 404) throw err; // 404: the gateway had dropped it already
      }
      subscriptionId = null;
    }
    if (subscription) await subscription.unsubscribe();
  }

  button.addEventListener("click", async () => {
    if (busy) return;
    const turningOn = current === "off";
    error.replaceChildren();
    working(true);
    try {
      if (turningOn) await turnOn();
      else await turnOff();
      show(turningOn ? "on" : "off");
      ctx.announce(turningOn ? t("Push notifications turned on.") : t("Push notifications turned off."));
    } catch (err) {
      if (current === "on" || current === "off") show(current);
      fail(err, turningOn
        ? t("Push could not be set up in this browser. Try again, or use another browser.")
        : t("Push notifications could not be turned off. Try again."));
    } finally {
      busy = false;
    }
  });

  // Messages from the service worker, while the control is shown. The shell listens for
  // "budstikke-open-thread" too; whoever sees the event first marks it handled.
  const onMessage = async (event) => {
    const data = event.data || {};
    if (data.type === "budstikke-open-thread" && typeof data.thread_id === "string") {
      if (event.budstikkeHandled) return;
      event.budstikkeHandled = true;
      if (event.ports && event.ports[0]) event.ports[0].postMessage({type: "budstikke-opened"});
      ctx.navigate(data.kind === "announcement"
        ? {view: "announcements", id: data.thread_id} : {view: "thread", id: data.thread_id});
    } else if (data.type === "budstikke-resubscribe" && current === "on") {
      try {
        if (data.subscription) {
          await register(data.subscription);
        } else {
          await turnOn();
        }
      } catch (err) {
        show("off");
        fail(err, t("Push could not be set up in this browser. Try again, or use another browser."));
      }
    }
  };

  show("checking");
  if (unsupported()) {
    show(unsupported());
    return;
  }
  navigator.serviceWorker.addEventListener("message", onMessage);
  navigator.serviceWorker.startMessages();
  container.addEventListener("budstikke-unmount", () => {
    navigator.serviceWorker.removeEventListener("message", onMessage);
  }, {once: true});

  let synced;
  try {
    synced = await syncState(ctx);
  } catch (err) {
    // Without the gateway's key there is nothing to subscribe with: no button.
    show("off");
    actions.replaceChildren();
    fail(err, t("Push could not be set up in this browser. Try again, or use another browser."));
    return;
  }
  key = synced.key;
  subscriptionId = synced.id || null;
  show(synced.state);
  if (synced.error) {
    fail(synced.error, t("Push could not be set up in this browser. Try again, or use another browser."));
  }
}
