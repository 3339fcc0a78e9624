// What the reader is told when something fails: plain words and what to do, the
// status code only as a small aside. A sensitive thread behind too weak a login says
// how to log in more strongly, and the portal gets `budstikke-auth-needed`.

import {h} from "./dom.js";

/** {title, hint} for an error, in the reader's language. */
export function describe(i18n, error) {
  const {t} = i18n;
  const status = error?.status;
  if (error?.assuranceTooLow) {
    return {
      title: t("This message is sensitive. Log in with MitID to read it."),
      hint: t("Your current login is not strong enough for sensitive messages."),
    };
  }
  if (status === 0) return {title: t("No connection to the server."), hint: t("Check your connection and try again.")};
  if (status === 401) return {title: t("You are not logged in."), hint: t("Log in again to see your messages.")};
  if (status === 403) return {title: t("You do not have access to this."), hint: null};
  if (status === 404) return {title: t("We could not find it."), hint: t("It may have been deleted, or you may not have access to it.")};
  if (status === 410) return {title: t("This is no longer available."), hint: null};
  if (status === 429) {
    return {title: t("Too many requests right now."), hint: t("Wait a moment and try again.")};
  }
  if (status >= 500) return {title: t("Something went wrong on our side."), hint: t("Try again in a little while.")};
  if (status >= 400) return {title: t("The request could not be carried out."), hint: t("Try again.")};
  return {title: t("Something went wrong."), hint: t("Try again in a little while.")};
}

/**
 * makeShowError(host, i18n, retry) → showError(container, error, {onRetry}).
 * `retry` is the shell's "show this view again", used when a panel gives none.
 */
export function makeShowError(host, getI18n, retry) {
  return function showError(container, error, {onRetry} = {}) {
    const i18n = getI18n();
    const {t} = i18n;
    if (error?.name === "AbortError") return null;
    if (!(error && "status" in error)) console.warn("budstikke-inbox:", error);
    const {title, hint} = describe(i18n, error);
    const again = onRetry || retry;
    const box = h(
      "div",
      {class: error?.assuranceTooLow ? "problem problem-assurance" : "problem", role: "alert"},
      h("p", {class: "problem-title"}, h("strong", null, title)),
      hint ? h("p", null, hint) : null,
      error?.status ? h("p", {class: "code"}, t("Error code: {code}", {code: String(error.status)})) : null,
      again ? h("button", {type: "button", class: "button secondary", on: {click: () => again()}}, t("Try again")) : null,
    );
    container.append(box);
    if (error?.assuranceTooLow || error?.status === 401) {
      host.dispatchEvent(
        new CustomEvent("budstikke-auth-needed", {
          detail: {acr: error.assuranceTooLow ? error.requiredAcr : null},
          bubbles: true,
          composed: true,
        }),
      );
    }
    return box;
  };
}
