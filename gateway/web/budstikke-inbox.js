// <budstikke-inbox>: the inbox a portal embeds. No framework, no build step.
//
//   <script type="module" src="https://gateway.example/web/budstikke-inbox.js"></script>
//   <budstikke-inbox api-base="https://gateway.example" locale="da"></budstikke-inbox>
//   inbox.tokenProvider = async () => (await myPortal.freshToken());
//
// Attributes: api-base (default: where this module came from), locale (da, en, ar;
// default: the page's language), child (a child's person id: only threads about that
// child), thread (a thread id to open). Property: tokenProvider, called before each
// request (the component keeps no token). Events: budstikke-navigate {view, id} when
// the reader moves; budstikke-auth-needed {acr} when a (stronger) login is needed.
// docs/embedding.md has the whole story.

import {plainAnnouncements, renderAnnouncements} from "./inbox/announcements.js";
import {makeApi} from "./inbox/api.js";
import {consentItems, renderConsents} from "./inbox/consent-list.js";
import {clear, h, uid} from "./inbox/dom.js";
import {loadI18n, pickLocale} from "./inbox/i18n.js";
import {loadPanel} from "./inbox/lazy.js";
import {connectLive} from "./inbox/live.js";
import {debounce, isNewToReader, loadingLine} from "./inbox/pieces.js";
import {makeShowError} from "./inbox/problems.js";
import {adoptStyles} from "./inbox/style.js";
import {renderThread} from "./inbox/thread.js";
import {renderThreads} from "./inbox/threads.js";

const MODULE_ORIGIN = new URL(import.meta.url).origin;
const VIEWS = ["threads", "thread", "announcements", "consents", "notices", "settings"];

export class BudstikkeInbox extends HTMLElement {
  static get observedAttributes() {
    return ["api-base", "locale", "child", "thread"];
  }

  #tokenProvider = null;
  #generation = 0;
  #booted = false;
  #onWorkerMessage = null;
  #root;
  #ctx = null;
  #view = {view: "threads", id: null};
  #container = null;
  #viewHost = null;
  #status = null;
  #nav = new Map();
  #childSelect = null;
  #live = null;
  #subscribers = new Set();
  #refreshCounts = debounce(() => this.#loadCounts(), 200);

  constructor() {
    super();
    const shadow = this.attachShadow({mode: "open"});
    adoptStyles(shadow);
    this.#root = h("div", {class: "root"});
    shadow.append(this.#root);
  }

  get tokenProvider() {
    return this.#tokenProvider;
  }

  set tokenProvider(provider) {
    this.#tokenProvider = typeof provider === "function" ? provider : null;
    if (this.isConnected && this.#tokenProvider && !this.#booted) this.#boot();
  }

  connectedCallback() {
    if (!this.#tokenProvider) {
      clear(this.#root);
      this.#root.append(h("p", {class: "loading"}, "…"));
      return;
    }
    this.#boot();
  }

  disconnectedCallback() {
    this.#teardown();
    this.#booted = false;
    if (this.#onWorkerMessage) navigator.serviceWorker?.removeEventListener("message", this.#onWorkerMessage);
    this.#onWorkerMessage = null;
  }

  attributeChangedCallback(name, previous, value) {
    if (previous === value || !this.#booted) return;
    if (name === "thread") {
      if (value) this.#show({view: "thread", id: value}, {focus: "auto"});
    } else if (name === "child") {
      this.#setChild(value || null);
    } else {
      this.#boot(); // api-base or locale: start again with the new catalog or gateway
    }
  }

  /** Open a view from the portal: el.show({view: "thread", id}). */
  show(target) {
    if (this.#booted) this.#show(target, {focus: "auto"});
    else if (target?.view) this.#view = {view: target.view, id: target.id ?? null};
  }

  #teardown() {
    this.#generation += 1;
    delete this.#root.dataset.live;
    this.#live?.stop();
    this.#live = null;
    this.#unmount();
  }

  #unmount() {
    if (!this.#container) return;
    this.#container.dispatchEvent(new Event("budstikke-unmount"));
    this.#container.remove();
    this.#container = null;
  }

  async #boot() {
    this.#teardown();
    this.#booted = true;
    const generation = this.#generation;
    const base = (this.getAttribute("api-base") || MODULE_ORIGIN).replace(/\/+$/, "");
    clear(this.#root);
    this.#root.append(h("p", {class: "loading", role: "status"}, "…"));
    const i18n = await loadI18n(base, pickLocale(this.getAttribute("locale")));
    if (generation !== this.#generation) return;
    this.#root.setAttribute("dir", i18n.dir);
    this.#root.setAttribute("lang", i18n.locale);
    const api = makeApi(base, () => this.#tokenProvider?.());
    const showError = makeShowError(this, () => this.#ctx?.i18n || i18n, () => this.#show(this.#view, {focus: "none"}));
    clear(this.#root);
    this.#root.append(loadingLine({i18n}));
    let me;
    try {
      me = await api.get("/v1/me");
    } catch (error) {
      if (generation !== this.#generation) return;
      clear(this.#root);
      const view = h("div", {class: "view"});
      this.#root.append(view);
      showError(view, error, {onRetry: () => this.#boot()});
      return;
    }
    if (generation !== this.#generation) return;

    const ctx = {
      api,
      i18n,
      h,
      me,
      child: this.getAttribute("child") || null,
      navigate: (target) => this.#show(target, {focus: "auto"}),
      onEvent: (handler) => {
        this.#subscribers.add(handler);
        return () => this.#subscribers.delete(handler);
      },
      announce: (text) => this.#announce(text),
      showError,
      refreshCounts: () => this.#refreshCounts(),
      cache: {threads: new Map()},
    };
    this.#ctx = ctx;
    this.#subscribers.clear();
    this.#renderShell();
    const initial = this.getAttribute("thread");
    this.#show(initial ? {view: "thread", id: initial} : this.#view, {focus: "none", emit: false});
    this.#loadCounts();
    this.#followServiceWorker(ctx);
    this.#live = connectLive({
      base,
      token: api.token,
      onEvent: (event) => this.#dispatchLive(event),
      // Visible to the portal's own tests and styles: "open" while events flow.
      onStatus: (state) => {
        if (generation === this.#generation) this.#root.dataset.live = state;
      },
    });
  }

  // A click on a push notification: the service worker asks an open inbox to show the
  // thread (which marks it read) before it opens a new window. And the browser's push
  // subscription is re-posted once per visit, so a renewed one reaches the gateway.
  #followServiceWorker(ctx) {
    const worker = navigator.serviceWorker;
    if (!worker) return;
    if (!this.#onWorkerMessage) {
      this.#onWorkerMessage = (event) => {
        const data = event.data || {};
        if (data.type !== "budstikke-open-thread" || !data.thread_id || event.budstikkeHandled) return;
        if (!this.isConnected || !this.#ctx) return;
        event.budstikkeHandled = true;
        event.ports?.[0]?.postMessage({type: "budstikke-opened"});
        const view = data.kind === "announcement" ? "announcements" : "thread";
        this.#show({view, id: data.thread_id}, {focus: "auto"});
      };
      worker.addEventListener("message", this.#onWorkerMessage);
    }
    import("./inbox/push.js")
      .then((push) => push.syncPushSubscription(ctx))
      .catch(() => {}); // push is optional: no worker, no permission, no key
  }

  #renderShell() {
    const {t} = this.#ctx.i18n;
    clear(this.#root);
    this.#nav.clear();
    const items = [
      ["threads", t("Messages")],
      ["announcements", t("Announcements")],
      ["consents", t("Consents")],
      ...(this.#hasDaycareChild() ? [["notices", t("Absence")]] : []),
      ["settings", t("Settings")],
    ];
    const list = h("ul", {class: "nav-list", role: "list"});
    for (const [view, label] of items) {
      const badge = h("span", {class: "badge", "aria-hidden": "true", hidden: true});
      const hint = h("span", {class: "sr-only"});
      const button = h(
        "button",
        {type: "button", class: "nav-item", "data-view": view},
        h("span", null, label),
        badge,
        hint,
      );
      button.addEventListener("click", () => this.#show({view}, {focus: "none"}));
      this.#nav.set(view, {button, badge, hint});
      list.append(h("li", null, button));
    }
    const header = h("header", {class: "shell-header"}, h("nav", {"aria-label": t("Inbox")}, list));
    this.#childSelect = null;
    const children = this.#ctx.me.children || [];
    if (children.length > 1) {
      const id = uid("child");
      const select = h(
        "select",
        {id},
        h("option", {value: ""}, t("All children")),
        children.map((child) => h("option", {value: child.id}, child.display_name)),
      );
      select.value = this.#ctx.child || "";
      select.addEventListener("change", () => this.#setChild(select.value || null));
      this.#childSelect = select;
      header.append(h("div", {class: "child-filter"}, h("label", {for: id}, t("Show for")), select));
    }
    this.#status = h("div", {class: "sr-only live-region", role: "status", "aria-live": "polite", "aria-atomic": "true"});
    this.#viewHost = h("div", {class: "view-host"});
    this.#root.append(header, this.#status, this.#viewHost);
  }

  #hasDaycareChild() {
    const me = this.#ctx.me;
    const daycare = new Set((me.institutions || []).filter((i) => i.kind === "daycare").map((i) => i.id));
    // Daycare staff get the day list; guardians of a daycare child report absence.
    if (me.kind === "staff") return daycare.size > 0;
    if (me.kind !== "guardian") return false;
    return (me.children || []).some((child) => child.institution_ids.some((id) => daycare.has(id)));
  }

  #setChild(child) {
    if (!this.#ctx) return;
    const known = (this.#ctx.me.children || []).some((c) => c.id === child);
    this.#ctx.child = known ? child : null;
    if (this.#childSelect) this.#childSelect.value = this.#ctx.child || "";
    this.#loadCounts();
    if (["threads", "announcements", "consents"].includes(this.#view.view) && !this.#view.id) {
      this.#show(this.#view, {focus: "none", emit: false});
    }
  }

  #announce(text) {
    if (!this.#status) return;
    this.#status.textContent = "";
    setTimeout(() => {
      if (this.#status) this.#status.textContent = text;
    }, 100);
  }

  #dispatchLive(event) {
    if (!event || typeof event.type !== "string") return;
    if (event.type !== "read" || event.person_id === this.#ctx?.me.id) this.#refreshCounts();
    for (const handler of [...this.#subscribers]) {
      try {
        handler(event);
      } catch (error) {
        reportError(error);
      }
    }
  }

  async #loadCounts() {
    const ctx = this.#ctx;
    if (!ctx) return;
    const generation = this.#generation;
    const [unread, feed] = await Promise.allSettled([
      ctx.api.get("/v1/inbox/unread"),
      ctx.api.get("/v1/inbox/announcements"),
    ]);
    if (generation !== this.#generation) return;
    const {tn} = ctx.i18n;
    if (unread.status === "fulfilled") {
      const counts = unread.value;
      const n = ctx.child ? counts.children.find((c) => c.id === ctx.child)?.unread || 0 : counts.total;
      this.#badge("threads", n, tn("{n} unread message", "{n} unread messages", n));
    }
    if (feed.status === "fulfilled") {
      const items = feed.value.items;
      const news = plainAnnouncements(ctx, items).filter((i) => isNewToReader(ctx, i)).length;
      const asks = consentItems(ctx, items).filter((i) => isNewToReader(ctx, i)).length;
      this.#badge("announcements", news, tn("{n} new announcement", "{n} new announcements", news));
      this.#badge("consents", asks, tn("{n} new consent request", "{n} new consent requests", asks));
    }
  }

  #badge(view, n, text) {
    const entry = this.#nav.get(view);
    if (!entry) return;
    entry.badge.hidden = n === 0;
    entry.badge.textContent = this.#ctx.i18n.number(n);
    entry.hint.textContent = n ? `, ${text}` : "";
    entry.button.dataset.count = String(n);
  }

  #show(target, {focus = "auto", emit = true} = {}) {
    const ctx = this.#ctx;
    if (!ctx || !this.#viewHost) return;
    const view = VIEWS.includes(target?.view) ? target.view : "threads";
    if (view === "notices" && !this.#nav.has("notices")) return this.#show({view: "threads"}, {focus, emit});
    const previous = this.#view;
    this.#view = {view, id: target?.id ?? null};
    this.#unmount();
    const container = h("div", {class: "view", "data-view": view});
    this.#container = container;
    this.#viewHost.append(container);
    const section = view === "thread" ? "threads" : view;
    for (const [name, {button}] of this.#nav) {
      if (name === section) button.setAttribute("aria-current", "page");
      else button.removeAttribute("aria-current");
    }
    if (emit) {
      this.dispatchEvent(
        new CustomEvent("budstikke-navigate", {detail: {...this.#view}, bubbles: true, composed: true}),
      );
    }
    const rendering = this.#render(view, this.#view.id, previous, container, focus === "auto");
    // A view that fails in a way it did not handle still tells the reader something.
    return Promise.resolve(rendering).catch((error) => {
      if (container.isConnected) ctx.showError(container, error);
    });
  }

  #render(view, id, previous, container, auto) {
    const ctx = this.#ctx;
    switch (view) {
      case "thread":
        return renderThread(ctx, container, id, {focus: auto});
      case "threads":
        return renderThreads(ctx, container, {
          focusThread: auto ? (previous.view === "thread" ? previous.id : "heading") : null,
        });
      case "announcements":
        return renderAnnouncements(ctx, container, {open: id, focus: auto});
      case "consents":
        return renderConsents(ctx, container, {
          open: id,
          focusItem: auto && !id ? (previous.view === "consents" && previous.id) || "heading" : null,
        });
      case "notices":
        return loadPanel(ctx, container, "notices", (module) => module.renderNotices(ctx, container));
      case "settings":
        return this.#renderSettings(container);
      default:
        return null;
    }
  }

  async #renderSettings(container) {
    const ctx = this.#ctx;
    const {t} = ctx.i18n;
    const headingId = uid("settings");
    const push = h("div", {class: "panel", "data-panel": "push"});
    const preferences = h("div", {class: "panel", "data-panel": "preferences"});
    container.append(
      h("section", {"aria-labelledby": headingId}, h("h2", {id: headingId, tabindex: "-1"}, t("Settings")), push, preferences),
    );
    await Promise.all([
      loadPanel(ctx, push, "push", (module) => module.renderPushControl(ctx, push)),
      loadPanel(ctx, preferences, "preferences", (module) => module.renderPreferences(ctx, preferences)),
    ]);
  }
}

if (!customElements.get("budstikke-inbox")) customElements.define("budstikke-inbox", BudstikkeInbox);
