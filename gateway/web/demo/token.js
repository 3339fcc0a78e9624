// Who the demo reader is (sessionStorage["budstikke-demo-person"], set by /demo?as=<source id>)
// and their tokens from /demo-api/token, at the login's assurance level (?acr=, default
// substantial). Tokens stay in memory only and are fetched again shortly before they expire.
const PERSON = "budstikke-demo-person";
export const ASSURANCE = ["low", "substantial", "high"];
const EARLY_MS = 5 * 60 * 1000;

const cache = new Map(); // "person acr" -> {token, name, expires} or a pending promise

// The person last chosen in any tab: a window a push notification opens (/demo?thread=…)
// starts with an empty sessionStorage, and should open as the person the push was for.
const LAST_PERSON = "budstikke-demo-last-person";

/** The person chosen with ?as= (stored) or earlier in this tab; null if none. A link to
 * a thread in a new tab falls back to the person chosen last in this browser. */
export function currentPerson() {
  const params = new URLSearchParams(location.search);
  const asked = params.get("as");
  try {
    if (asked) {
      sessionStorage.setItem(PERSON, asked);
      localStorage.setItem(LAST_PERSON, asked);
    }
    const here = asked || sessionStorage.getItem(PERSON);
    if (here || !params.has("thread")) return here;
    const last = localStorage.getItem(LAST_PERSON);
    if (last) sessionStorage.setItem(PERSON, last);
    return last;
  } catch {
    return asked;
  }
}

export function forgetPerson() {
  try {
    sessionStorage.removeItem(PERSON);
  } catch {
    // nothing stored
  }
}

/** The assurance level of this page's login: ?acr=low|substantial|high, default substantial. */
export function currentAcr() {
  const asked = new URLSearchParams(location.search).get("acr");
  return ASSURANCE.includes(asked) ? asked : "substantial";
}

/** A link within the demo that keeps a non-default assurance level (and nothing else). */
export function demoHref(path, params) {
  const url = new URL(path, location.origin);
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== null && value !== undefined) url.searchParams.set(key, value);
  }
  const acr = currentAcr();
  if (acr !== "substantial" && !url.searchParams.has("acr")) url.searchParams.set("acr", acr);
  return url.pathname + url.search;
}

async function fetchToken(person, acr) {
  const response = await fetch("/demo-api/token", {
    method: "POST",
    headers: {"content-type": "application/json", accept: "application/json"},
    body: JSON.stringify({person, acr}),
  });
  if (!response.ok) {
    const error = new Error(`demo token for ${person}: ${response.status}`);
    error.status = response.status;
    throw error;
  }
  const body = await response.json();
  return {token: body.token, name: body.name, person: body.person, expires: Date.parse(body.expires_at)};
}

/** The login of a person at an assurance level: {token, name, person, expires}. */
export async function login(person, acr = currentAcr()) {
  const key = `${person} ${acr}`;
  const held = cache.get(key);
  if (held && !(held instanceof Promise) && held.expires - Date.now() > EARLY_MS) return held;
  if (held instanceof Promise) return held;
  const pending = fetchToken(person, acr).then(
    (found) => {
      cache.set(key, found);
      return found;
    },
    (error) => {
      cache.delete(key);
      throw error;
    },
  );
  cache.set(key, pending);
  return pending;
}

/** The component's tokenProvider: a fresh token string for each request. */
export function tokenProvider(person, acr = currentAcr()) {
  return async () => (await login(person, acr)).token;
}
