// The API client: a fresh token from the portal before each request, JSON both ways,
// RFC 9457 problems as ApiError. It never keeps a token.

export const ASSURANCE_PROBLEM = "https://budstikke.dk/problems/assurance-level-too-low";

export class ApiError extends Error {
  constructor(status, problem, message) {
    super(message || (problem && (problem.title || problem.detail)) || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status; // 0 when the gateway could not be reached
    this.problem = problem || null;
  }

  get assuranceTooLow() {
    return this.status === 403 && this.problem?.type === ASSURANCE_PROBLEM;
  }

  /** The level the problem asks for ("substantial" when it does not say). */
  get requiredAcr() {
    const match = /level '([a-z]+)'/.exec(this.problem?.detail || "");
    return match ? match[1] : "substantial";
  }
}

/**
 * makeApi(base, getToken) → {base, get, post, put, del, blob, token}.
 * getToken is the portal's tokenProvider (async, may refresh); it is called per request.
 */
export function makeApi(base, getToken) {
  const root = (base || "").replace(/\/+$/, "");

  async function token() {
    if (typeof getToken !== "function") throw new ApiError(401, null, "no token provider");
    const value = await getToken();
    if (!value) throw new ApiError(401, null, "no token");
    return String(value);
  }

  async function send(method, path, body, {raw = false, signal, headers: extra = {}} = {}) {
    const headers = {...extra, authorization: `Bearer ${await token()}`, accept: "application/json"};
    const init = {method, headers, signal};
    if (body !== undefined) {
      headers["content-type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(root + path, init);
    } catch (error) {
      if (error?.name === "AbortError") throw error;
      throw new ApiError(0, null, "network");
    }
    if (!response.ok) {
      let problem = null;
      try {
        problem = await response.json();
      } catch {
        problem = null;
      }
      const error = new ApiError(response.status, problem);
      error.retryAfter = Number(response.headers.get("retry-after")) || null;
      throw error;
    }
    if (raw) return response;
    if (response.status === 204) return null;
    const text = await response.text();
    return text ? JSON.parse(text) : null;
  }

  return {
    base: root,
    token,
    get: (path, options) => send("GET", path, undefined, options),
    post: (path, body = {}, options) => send("POST", path, body, options),
    put: (path, body = {}, options) => send("PUT", path, body, options),
    del: (path, options) => send("DELETE", path, undefined, options),
    /** A binary answer (an attachment) as a Blob. */
    blob: async (path, options) => (await send("GET", path, undefined, {...options, raw: true})).blob(),
  };
}

/** A query string from an object, leaving out empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === null || value === undefined || value === "" || value === false) continue;
    search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
