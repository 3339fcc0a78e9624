// The staff pages' API client: JSON with the demo person's bearer token; RFC 9457 problems
// become ApiError {status, problem}; problemText() says what went wrong in the reader's words.
import {t} from "./i18n.js";
import {login} from "./token.js";

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || {};
  }
}

export function client(person) {
  async function call(method, path, body, headers) {
    const {token} = await login(person);
    const init = {
      method,
      headers: {accept: "application/json", authorization: `Bearer ${token}`, ...(headers || {})},
    };
    if (body !== undefined) {
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (error) {
      throw new ApiError(0, {title: String(error)});
    }
    if (response.status === 204) return null;
    const text = await response.text();
    let parsed = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = {detail: text.slice(0, 200)};
    }
    if (!response.ok) throw new ApiError(response.status, parsed);
    return parsed;
  }
  async function blob(path) {
    const {token} = await login(person);
    const response = await fetch(path, {headers: {authorization: `Bearer ${token}`}});
    if (!response.ok) throw new ApiError(response.status, null);
    return response.blob();
  }
  return {
    get: (path) => call("GET", path),
    post: (path, body, headers) => call("POST", path, body, headers),
    blob,
  };
}

/** What a failed call means for the reader (the API's own words as detail, for staff). */
export function problemText(error) {
  const status = error instanceof ApiError ? error.status : 0;
  const problem = error instanceof ApiError ? error.problem : {};
  if (problem.limit === "recipient_limit") {
    return t("Too many recipients at once. Choose a smaller audience, or ask a school leader to send it.");
  }
  if ((problem.type || "").endsWith("/assurance-level-too-low")) {
    return t("This needs a stronger login. Log in with a higher assurance level and try again.");
  }
  if (status === 0) return t("No connection to the server. Check the connection and try again.");
  if (status === 401) return t("Your login has expired. Reload the page.");
  if (status === 403) return t("You cannot send to everyone in this audience.");
  if (status === 404) return t("Not found. It may have been removed, or you do not have access to it.");
  if (status === 413) return t("Too large: shorten the text or choose a smaller audience.");
  if (status === 422) return t("Something in the form is not valid:");
  if (status === 429) return t("Too many requests right now. Wait a moment and try again.");
  if (status >= 500) return t("Something went wrong on the server. Try again in a moment.");
  return t("Something went wrong. Try again.");
}

/** The API's detail lines (English, from the server) to show under the reader's text. */
export function problemDetails(error) {
  if (!(error instanceof ApiError)) return [];
  const lines = [];
  if (Array.isArray(error.problem.errors)) lines.push(...error.problem.errors.map(String));
  else if (error.problem.detail) lines.push(String(error.problem.detail));
  return lines.slice(0, 5);
}
