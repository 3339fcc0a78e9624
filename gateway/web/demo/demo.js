// /demo: pick a demo person (?as=<source id> picks without a click, kept in
// sessionStorage["budstikke-demo-person"]), then use <budstikke-inbox> as them.
// ?thread=<id> opens a thread; ?acr=low|substantial|high is the login's assurance level.
import "/web/budstikke-inbox.js";
import {h, replace} from "./dom.js";
import {chosenLanguage, loadLanguage, locale, t} from "./i18n.js";
import {demoPeople, description, firstSteps, isStaff, kindLabel, roleLabel, whoAmI} from "./people.js";
import {needPerson, renderHeader} from "./shell.js";
import {ASSURANCE, currentAcr, currentPerson, demoHref, tokenProvider} from "./token.js";

const header = document.getElementById("header");
const main = document.getElementById("main");
const skip = document.getElementById("skip");
const personId = currentPerson();
let inbox = null;
let person = null;

function initials(name) {
  return name.split(/\s+/).filter(Boolean).slice(0, 2).map((part) => part[0]).join("").toUpperCase();
}

function personCard(p) {
  return h("li", {class: "person-item"},
    h("a", {class: "person-card", href: demoHref("/demo", {as: p.person}), "data-person": p.key},
      h("span", {class: `avatar avatar-${p.kind}`, "aria-hidden": "true"}, initials(p.name)),
      h("span", {class: "person-text"},
        h("span", {class: "person-role"}, roleLabel(p)),
        h("bdi", {class: "person-name"}, p.name),
        h("span", {class: "person-description"}, description(p)))));
}

async function renderPicker() {
  let people = [];
  let municipality = "Budstikke Kommune";
  try {
    ({people, municipality} = await demoPeople());
  } catch {
    replace(main, h("p", {class: "error", role: "alert"}, t("The demo people could not be loaded. Is the gateway running in demo mode?")));
    return;
  }
  const staff = people.filter((p) => p.kind === "staff");
  const families = people.filter((p) => p.kind !== "staff");
  replace(main,
    h("section", {class: "hero"},
      h("h1", {}, t("Messages between school, daycare and home")),
      h("p", {class: "lead"}, t("Budstikke carries messages, announcements and consent requests to every family, in the inbox and by email and push. Choose a person in {municipality} and use it as them.", {municipality})),
      h("p", {class: "muted"}, t("Everyone here is made up. Every mail the demo sends lands in the local mail view."))),
    h("section", {class: "picker", "aria-labelledby": "picker-title"},
      h("h2", {id: "picker-title"}, t("Choose a person")),
      h("h3", {class: "picker-group"}, t("School and daycare")),
      h("ul", {class: "person-grid", role: "list"}, staff.map(personCard)),
      h("h3", {class: "picker-group"}, t("Families")),
      h("ul", {class: "person-grid", role: "list"}, families.map(personCard))));
}

function mountInbox() {
  const params = new URLSearchParams(location.search);
  inbox = document.createElement("budstikke-inbox");
  inbox.setAttribute("api-base", location.origin);
  inbox.setAttribute("locale", locale());
  if (params.get("thread")) inbox.setAttribute("thread", params.get("thread"));
  inbox.tokenProvider = tokenProvider(personId);
  inbox.addEventListener("budstikke-navigate", (event) => {
    const detail = event.detail || {};
    const url = new URL(location.href);
    if (detail.view === "thread" && detail.id) url.searchParams.set("thread", detail.id);
    else url.searchParams.delete("thread");
    history.replaceState(history.state, "", url.pathname + url.search + url.hash);
  });
  inbox.addEventListener("budstikke-auth-needed", (event) => offerStrongerLogin(event.detail || {}));
  return inbox;
}

function strongerAcr(asked) {
  const current = ASSURANCE.indexOf(currentAcr());
  const wanted = ASSURANCE.indexOf(asked);
  if (wanted > current) return asked;
  return ASSURANCE[Math.min(current + 1, ASSURANCE.length - 1)];
}

function offerStrongerLogin(detail) {
  const banner = document.getElementById("auth-banner");
  if (!banner) return;
  const expired = !detail.acr;
  if (!expired && currentAcr() === "high") return;
  const next = expired ? currentAcr() : strongerAcr(detail.acr);
  replace(banner,
    h("div", {class: "banner banner-warning", role: "status"},
      h("p", {}, expired
        ? t("Your login has expired. Reload the page.")
        : t("This needs a login with a higher assurance level (MitID substantial or high).")),
      h("button", {type: "button", class: "button", on: {click: () => {
        const url = new URL(location.href);
        url.searchParams.set("acr", next);
        location.assign(url.pathname + url.search);
      }}}, expired ? t("Log in again") : t("Log in with higher assurance"))));
}

function portalIntro() {
  const steps = firstSteps(person);
  return h("div", {class: "portal-intro"},
    h("div", {class: "portal-intro-text"},
      h("h1", {class: "portal-title"}, t("Inbox of {name}", {name: person.name})),
      steps ? h("p", {class: "muted"}, steps) : h("p", {class: "muted"}, kindLabel(person.kind))),
    h("div", {class: "portal-intro-actions"},
      isStaff(person) ? h("a", {href: demoHref("/demo/staff"), class: "button"}, t("Write a message")) : null));
}

async function renderPortal() {
  skip.textContent = t("Skip to content");
  await renderHeader(header, {person, page: "portal", onLanguage: switchLanguage});
  if (!inbox) {
    replace(main, h("div", {id: "intro-slot"}), h("div", {id: "auth-banner"}), mountInbox());
  } else {
    inbox.setAttribute("locale", locale());
  }
  replace(document.getElementById("intro-slot"), portalIntro());
}

async function render() {
  skip.textContent = t("Skip to content");
  if (!personId) {
    await renderHeader(header, {person: null, page: "picker", onLanguage: switchLanguage});
    await renderPicker();
    return;
  }
  if (!person) {
    try {
      person = await whoAmI(personId);
    } catch {
      await renderHeader(header, {person: null, page: "picker", onLanguage: switchLanguage});
      needPerson(main, t("There is no demo person {person}.", {person: personId}));
      return;
    }
  }
  await renderPortal();
}

async function switchLanguage(code) {
  await loadLanguage(code);
  await render();
}

loadLanguage(chosenLanguage()).then(render).catch((error) => {
  replace(main, h("p", {class: "error", role: "alert"}, String(error)));
});
