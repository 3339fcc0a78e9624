// How the demo names the roster's kinds of group and institution, the audience's roles,
// and why a recipient cannot be reached.
import {t} from "./i18n.js";

export function groupKind(kind) {
  switch (kind) {
    case "class": return t("Class");
    case "room": return t("Room");
    case "year": return t("Year group");
    case "club": return t("Club");
    case "staff": return t("Staff group");
    default: return t("Group");
  }
}

export function institutionKind(kind) {
  return kind === "daycare" ? t("Daycare") : t("School");
}

export function roleName(role) {
  if (role === "guardians") return t("Parents");
  if (role === "children") return t("Children and pupils");
  return t("Staff");
}

export function reasonText(reason) {
  return reason === "no_guardian" ? t("no parent who can be reached") : t("no email address");
}
