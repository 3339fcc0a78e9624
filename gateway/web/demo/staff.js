// /demo/staff: what staff send — messages, announcements and consent requests.
import {problemText} from "./api.js";
import {composer} from "./compose.js";
import {h, replace} from "./dom.js";
import {t} from "./i18n.js";
import {needPerson, startPage} from "./shell.js";
import {demoHref} from "./token.js";

let person = null;
let compose = null;
let body = null;

startPage({
  page: "staff",
  title: () => t("Write a message"),
  whoFor: () => t("The staff page is for teachers, pedagogues and leaders. Choose one of them."),
  draw: async ({main, person: reader, api}) => {
    person = reader;
    let me;
    try {
      me = await api.get("/v1/me");
    } catch (error) {
      needPerson(main, problemText(error));
      return;
    }
    if (me.kind !== "staff") {
      replace(main, h("section", {class: "card"},
        h("h1", {}, t("The staff page is for staff")),
        h("p", {}, t("{name} is not staff. Choose a teacher, pedagogue or leader to write messages.", {name: person.name})),
        h("p", {class: "actions"},
          h("a", {href: demoHref("/demo"), class: "button button-secondary"}, t("Back to the inbox")))));
      return;
    }
    if (compose) {
      replace(main.querySelector(".page-head"), ...pageHead());
      compose.rerender();
      return;
    }
    body = h("div", {id: "compose-body"});
    replace(main, h("div", {class: "page-head"}, ...pageHead()), body);
    compose = composer(body, {person, me, api});
  },
});

function pageHead() {
  return [
    h("h1", {class: "page-title"}, t("Write a message")),
    h("p", {class: "page-lead"}, t("As {name}: choose who receives it, see how many it reaches, and send.", {name: person.name})),
  ];
}
