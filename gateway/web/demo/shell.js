// The demo's top bar (who you are, switch person, language, staff page, mail, API docs)
// shared by /demo, /demo/staff, /demo/report and /demo/results.
import {client, problemText} from "./api.js";
import {h, replace, uid} from "./dom.js";
import {LANGUAGES, chosenLanguage, loadLanguage, locale, t} from "./i18n.js";
import {demoPeople, isStaff, roleLabel, whoAmI} from "./people.js";
import {currentAcr, currentPerson, demoHref, forgetPerson} from "./token.js";

function newTab(href, text) {
  return h("a", {href, target: "_blank", rel: "noopener", class: "nav-link"},
    text, h("span", {class: "visually-hidden"}, " ", t("(opens in a new tab)")),
    h("span", {"aria-hidden": "true", class: "external"}, " ↗"));
}

function languageSwitch(onLanguage) {
  const id = uid("language");
  const select = h("select", {id, class: "language-select", on: {change: () => onLanguage(select.value)}},
    LANGUAGES.map((language) => h("option", {value: language.code, lang: language.code,
      props: {selected: language.code === locale()}}, language.name)));
  return h("div", {class: "language"}, h("label", {for: id}, t("Language")), select);
}

/**
 * The top bar. `person` is the demo person ({key, person, name, kind}) or null on the
 * picker; `page` is "portal", "staff", "report" or "results".
 */
export async function renderHeader(container, {person, page, onLanguage}) {
  let municipality = "Budstikke Kommune";
  try {
    municipality = (await demoPeople()).municipality || municipality;
  } catch {
    // the name is a nicety; the page still works
  }
  const brand = h("a", {href: "/demo", class: "brand"},
    h("span", {class: "brand-mark", "aria-hidden": "true"}, "B"),
    h("span", {class: "brand-text"},
      h("span", {class: "brand-name"}, "Budstikke"),
      h("span", {class: "brand-sep", "aria-hidden": "true"}, "·"),
      h("span", {class: "brand-place"}, t("{municipality} (demo)", {municipality}))));
  const links = [];
  if (person && page !== "portal") links.push(h("a", {href: demoHref("/demo"), class: "nav-link"}, t("Inbox")));
  if (person && isStaff(person) && page !== "staff") {
    links.push(h("a", {href: demoHref("/demo/staff"), class: "nav-link nav-primary"}, t("Write a message")));
  }
  links.push(newTab("/dev/mail", t("Mail")));
  links.push(newTab("/schema", t("API docs")));
  const who = person
    ? h("div", {class: "who"},
      h("bdi", {class: "who-name"}, person.name),
      h("span", {class: "who-role"}, roleLabel(person)),
      currentAcr() !== "substantial"
        ? h("span", {class: "who-acr"}, currentAcr() === "low" ? t("Login: low assurance") : t("Login: high assurance"))
        : null,
      h("button", {type: "button", class: "button button-quiet", on: {click: switchPerson}}, t("Switch person")))
    : null;
  replace(container,
    h("div", {class: "bar"},
      brand,
      h("nav", {class: "nav", "aria-label": t("Demo")}, links, languageSwitch(onLanguage)),
      who));
}

function switchPerson() {
  forgetPerson();
  location.assign("/demo");
}

/** A note for a page that needs someone it does not have. */
export function needPerson(container, text) {
  replace(container,
    h("section", {class: "card notice"},
      h("h1", {}, t("Choose a person first")),
      h("p", {}, text),
      h("p", {}, h("a", {href: "/demo", class: "button", on: {click: forgetPerson}}, t("Choose a person")))));
}

/**
 * Start one of the pages for the person chosen in this tab (staff, report, results):
 * the header with its language switch — or, without a person, a card saying whom the
 * page is for — then `draw({main, person, api})`, again after each change of language.
 */
export function startPage({page, title, whoFor, draw}) {
  const header = document.getElementById("header");
  const main = document.getElementById("main");
  const personId = currentPerson();
  let person = null;
  let api = null;

  async function render() {
    document.getElementById("skip").textContent = t("Skip to content");
    document.title = `${title()} · Budstikke demo`;
    if (!personId) {
      await renderHeader(header, {person: null, page, onLanguage: switchLanguage});
      needPerson(main, whoFor());
      return;
    }
    if (!person) {
      try {
        person = await whoAmI(personId);
      } catch (error) {
        await renderHeader(header, {person: null, page, onLanguage: switchLanguage});
        needPerson(main, problemText(error));
        return;
      }
      api = client(personId);
    }
    await renderHeader(header, {person, page, onLanguage: switchLanguage});
    await draw({main, person, api});
  }

  async function switchLanguage(code) {
    await loadLanguage(code);
    await render();
  }

  loadLanguage(chosenLanguage()).then(render).catch((error) => {
    replace(main, h("p", {class: "error", role: "alert"}, String(error)));
  });
}
