// The one way the dashboard calls the REST API: same-origin fetch with the session cookie,
// the CSRF token on unsafe methods, and the one error format turned into an ApiError.

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

/** An API error in the platform's one format: {"error": {"code", "message", "details"}}. */
export class ApiError extends Error {
  constructor(status, code, message, details = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** Django's CSRF token, read from its cookie (the dashboard page makes sure it is set). */
export function csrfToken() {
  for (const part of document.cookie.split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === "csrftoken") return decodeURIComponent(rest.join("="));
  }
  return "";
}

/**
 * Call the API and return the decoded JSON body.
 * Throws ApiError for any non-2xx answer (and code "network_error" when the server is
 * unreachable). A 401 also fires a "dsta:unauthenticated" event: the session ended.
 */
export async function apiFetch(path, { method = "GET", body, signal } = {}) {
  const headers = { Accept: "application/json" };
  const upper = method.toUpperCase();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (UNSAFE.has(upper)) headers["X-CSRFToken"] = csrfToken();
  let response;
  try {
    response = await fetch(path, {
      method: upper,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      signal,
    });
  } catch (error) {
    if (error?.name === "AbortError") throw error;
    throw new ApiError(0, "network_error", "The server cannot be reached.");
  }
  const payload = await readJson(response);
  if (!response.ok) {
    const error = payload && typeof payload === "object" ? payload.error : null;
    const apiError = new ApiError(
      response.status,
      error?.code ?? `http_${response.status}`,
      error?.message ?? (response.statusText || `HTTP ${response.status}`),
      error?.details ?? null,
    );
    if (response.status === 401) {
      document.dispatchEvent(new CustomEvent("dsta:unauthenticated", { detail: apiError }));
    }
    throw apiError;
  }
  return payload;
}

async function readJson(response) {
  if (response.status === 204) return null;
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null; // a proxy's HTML error page: the status code says enough
  }
}

/** True when the endpoint does not exist on this server (an optional capability). */
export function isMissingEndpoint(error) {
  return error instanceof ApiError && (error.status === 404 || error.status === 405);
}

/** Query string from an object, skipping empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}
