// Labelled form controls for the demo's forms: a label for every control, hints tied to
// their control with aria-describedby (not inside the label, where they would be read as
// part of its name).
import {h, uid} from "./dom.js";

function choice(type, name, value, text, hint, checked) {
  const id = uid(name);
  const hintId = hint ? `${id}-hint` : null;
  return h("div", {class: "check"},
    h("input", {type, id, name, value, "aria-describedby": hintId, props: {checked: Boolean(checked)}}),
    h("span", {class: "check-text"},
      h("label", {for: id}, text),
      hint ? h("span", {class: "check-hint", id: hintId}, hint) : null));
}

export function check(name, value, text, hint, checked) {
  return choice("checkbox", name, value, text, hint, checked);
}

export function radio(name, value, text, checked, hint) {
  return choice("radio", name, value, text, hint, checked);
}

export function field(name, labelText, control, hint) {
  const id = uid(name);
  control.id = id;
  control.name = name;
  const hintId = hint ? `${id}-hint` : null;
  if (hintId) control.setAttribute("aria-describedby", hintId);
  return h("div", {class: "field", "data-field": name},
    h("label", {for: id}, labelText),
    hint ? h("span", {class: "hint", id: hintId}, hint) : null,
    control);
}
