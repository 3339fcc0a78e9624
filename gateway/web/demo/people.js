// The demo's people (/demo-api/people) and what each of them shows.
import {t} from "./i18n.js";
import {login} from "./token.js";

let loaded = null;

/** {municipality, people: [{key, person, name, kind}]} — fetched once per page. */
export function demoPeople() {
  if (!loaded) {
    loaded = fetch("/demo-api/people", {headers: {accept: "application/json"}}).then((response) => {
      if (!response.ok) throw new Error(`demo people: ${response.status}`);
      return response.json();
    });
    loaded.catch(() => {
      loaded = null;
    });
  }
  return loaded;
}

/** The demo person with this source id (or key), or null. */
export async function findPerson(id) {
  const {people} = await demoPeople();
  return people.find((p) => p.person === id || p.key === id) || null;
}

/** A demo person, or anyone else by roster source id (their name and kind from the API). */
export async function whoAmI(id) {
  const found = await findPerson(id).catch(() => null);
  if (found) return found;
  const session = await login(id);
  let kind = "person";
  try {
    const response = await fetch("/v1/me", {headers: {authorization: `Bearer ${session.token}`, accept: "application/json"}});
    if (response.ok) kind = (await response.json()).kind;
  } catch {
    // the kind only picks the role label
  }
  return {key: null, person: id, name: session.name, kind};
}

export function isStaff(person) {
  return Boolean(person) && person.kind === "staff";
}

/** Their role in a word or two. */
export function roleLabel(person) {
  switch (person && person.key) {
    case "teacher": return t("Teacher");
    case "pedagogue": return t("Pedagogue");
    case "leader": return t("School leader");
    case "guardian": return t("Parent");
    case "non_custodial_parent": return t("Parent without custody");
    case "pupil": return t("Pupil");
    default: return kindLabel(person && person.kind);
  }
}

export function kindLabel(kind) {
  if (kind === "staff") return t("Staff");
  if (kind === "guardian") return t("Parent");
  if (kind === "child") return t("Pupil");
  return t("Person");
}

/** One line: what this person shows in the demo. */
export function description(person) {
  switch (person && person.key) {
    case "teacher": return t("Teacher in 3.A — write to the class's parents");
    case "pedagogue": return t("Pedagogue in a nursery room — messages and daycare notices");
    case "leader": return t("School leader — announcements to the whole school");
    case "guardian": return t("Mother of Lærke (3.A) and Otto (kindergarten)");
    case "non_custodial_parent": return t("Parent without custody — sees messages, cannot give consent");
    case "pupil": return t("Pupil in 8.A — a pupil's own inbox");
    default: return "";
  }
}

/** What to try first as this person (shown above their inbox). */
export function firstSteps(person) {
  switch (person && person.key) {
    case "teacher":
      return t("Write to the parents of 3.A, follow the delivery report, and ask for a consent.");
    case "pedagogue":
      return t("Write to the parents of your room and see the daycare notices parents send.");
    case "leader":
      return t("Post an announcement to the whole school; it reaches every family.");
    case "guardian":
      return t("Read what the school sends, reply, and answer consents for each of your children.");
    case "non_custodial_parent":
      return t("You see what you are sent, but consents are answered by the parents with custody.");
    case "pupil":
      return t("The pupil's own inbox: messages to the class and from the teachers.");
    default:
      return "";
  }
}
