// The UI text: the gateway's catalog for the reader's language, and dates in it.
//
// Message ids are the English text, so English needs no catalog entries and a missing
// translation shows English rather than an id. Plural entries are lists of forms in
// CLDR's category order (zero one two few many other, those the language has).

const SUPPORTED = ["da", "en", "ar"];
const DEFAULT = "da";
const CATEGORY_ORDER = ["zero", "one", "two", "few", "many", "other"];

/** The language to ask for: the attribute, else the page's, else the browser's; da. */
export function pickLocale(attribute) {
  const candidates = [attribute, document.documentElement.lang, navigator.language];
  for (const candidate of candidates) {
    const language = (candidate || "").replace("_", "-").split("-")[0].trim().toLowerCase();
    if (SUPPORTED.includes(language)) return language;
    if (language) break; // a stated language we do not have: Danish, not the next guess
  }
  return DEFAULT;
}

function fill(text, vars) {
  if (!vars) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) =>
    Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : whole);
}

/** The i18n object of ctx for a loaded catalog ({locale, dir, messages}). */
export function makeI18n(catalog) {
  const locale = catalog.locale || DEFAULT;
  const dir = catalog.dir === "rtl" ? "rtl" : "ltr";
  const messages = catalog.messages || {};
  const rules = new Intl.PluralRules(locale);
  const categories = CATEGORY_ORDER.filter((c) => rules.resolvedOptions().pluralCategories.includes(c));
  const formats = {
    date: new Intl.DateTimeFormat(locale, {day: "numeric", month: "long", year: "numeric"}),
    dateTime: new Intl.DateTimeFormat(locale, {dateStyle: "medium", timeStyle: "short"}),
    time: new Intl.DateTimeFormat(locale, {timeStyle: "short"}),
    short: new Intl.DateTimeFormat(locale, {day: "numeric", month: "short"}),
  };
  const number = new Intl.NumberFormat(locale);

  function t(msgid, vars) {
    const entry = messages[msgid];
    const text = typeof entry === "string" ? entry : Array.isArray(entry) ? entry[entry.length - 1] : msgid;
    return fill(text, vars);
  }

  function tn(one, other, n, vars) {
    const entry = messages[one];
    const all = {n: number.format(n), ...(vars || {})};
    if (Array.isArray(entry) && entry.length) {
      const index = categories.indexOf(rules.select(n));
      return fill(entry[index >= 0 && index < entry.length ? index : entry.length - 1], all);
    }
    return fill(n === 1 ? one : other, all);
  }

  function parse(iso) {
    const when = iso instanceof Date ? iso : new Date(iso);
    return Number.isNaN(when.getTime()) ? null : when;
  }

  return {
    locale,
    dir,
    t,
    tn,
    number: (n) => number.format(n),
    date: (iso) => { const d = parse(iso); return d ? formats.date.format(d) : ""; },
    dateTime: (iso) => { const d = parse(iso); return d ? formats.dateTime.format(d) : ""; },
    time: (iso) => { const d = parse(iso); return d ? formats.time.format(d) : ""; },
    /** Today: the time; earlier: the day and month (for lists). */
    when: (iso) => {
      const d = parse(iso);
      if (!d) return "";
      const now = new Date();
      const sameDay = d.toDateString() === now.toDateString();
      return sameDay ? formats.time.format(d) : formats.short.format(d);
    },
  };
}

/** Fetch the catalog for a locale from the gateway; English ids if it cannot be had. */
export async function loadI18n(base, locale) {
  try {
    const response = await fetch(`${base}/web/i18n/${locale}.json`, {headers: {accept: "application/json"}});
    if (!response.ok) throw new Error(String(response.status));
    return makeI18n(await response.json());
  } catch {
    return makeI18n({locale, dir: locale === "ar" ? "rtl" : "ltr", messages: {}});
  }
}
