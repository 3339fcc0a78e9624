// The demo portal's UI text: the same catalogs as the component (/web/i18n/<lang>.json),
// English message ids as literals: t("Choose a person"), tn("{n} parent", "{n} parents", n, {n}).
const STORE = "budstikke-demo-lang";
export const LANGUAGES = [
  {code: "da", name: "Dansk"},
  {code: "en", name: "English"},
  {code: "ar", name: "العربية"},
];
const CLDR_ORDER = ["zero", "one", "two", "few", "many", "other"];

let catalog = {locale: "da", dir: "ltr", messages: {}};
let plurals = new Intl.PluralRules("da");
let categories = ["one", "other"];

function known(code) {
  return LANGUAGES.some((language) => language.code === code) ? code : null;
}

/** The language the reader chose: ?lang=, then the stored choice, then Danish. */
export function chosenLanguage() {
  const asked = known(new URLSearchParams(location.search).get("lang"));
  if (asked) return asked;
  try {
    return known(localStorage.getItem(STORE)) || "da";
  } catch {
    return "da";
  }
}

/** Load a language's catalog and set the page's lang and dir. */
export async function loadLanguage(code) {
  const lang = known(code) || "da";
  try {
    localStorage.setItem(STORE, lang);
  } catch {
    // storage may be off; the choice then lasts for this page only
  }
  const response = await fetch(`/web/i18n/${lang}.json`, {headers: {accept: "application/json"}});
  if (!response.ok) throw new Error(`catalog ${lang}: ${response.status}`);
  catalog = await response.json();
  plurals = new Intl.PluralRules(catalog.locale);
  const own = new Set(plurals.resolvedOptions().pluralCategories);
  categories = CLDR_ORDER.filter((category) => own.has(category));
  document.documentElement.lang = catalog.locale;
  document.documentElement.dir = catalog.dir;
  return catalog;
}

export function locale() {
  return catalog.locale;
}

function fill(text, vars) {
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

/** The text of an English message id in the current language. */
export function t(id, vars) {
  const found = catalog.messages[id];
  return fill(typeof found === "string" ? found : id, vars);
}

/** A count's text: the plural form of the current language. */
export function tn(one, other, n, vars) {
  const found = catalog.messages[one];
  let text;
  if (Array.isArray(found)) {
    const index = categories.indexOf(plurals.select(n));
    text = found[index >= 0 && index < found.length ? index : found.length - 1];
  } else {
    text = n === 1 ? one : other;
  }
  return fill(text, {n, ...vars});
}

export function dateTime(iso) {
  return new Intl.DateTimeFormat(catalog.locale, {dateStyle: "medium", timeStyle: "short"})
    .format(new Date(iso));
}

export function time(value) {
  return new Intl.DateTimeFormat(catalog.locale, {timeStyle: "medium"}).format(value);
}

export function number(n) {
  return new Intl.NumberFormat(catalog.locale).format(n);
}
