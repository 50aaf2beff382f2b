// The one way the browser talks to the platform: JSON in and out, the session's CSRF token on
// every state-changing request, and one place that notices the session has ended.

const FALLBACK_MESSAGES = {
  0: "网络连接失败，请检查网络后重试。",
  401: "请先登录。",
  403: "您无权执行此操作。",
  404: "未找到请求的内容，或您无权查看。",
  413: "上传内容过大。",
  429: "请求过于频繁，请稍后再试。",
};

let csrfToken = "";
let onSessionEnded = () => {};

/** An API refusal: the server's stable code, its zh-CN message, and per-field or per-row errors. */
export class ApiError extends Error {
  constructor(status, body) {
    const message = (body && body.message) || FALLBACK_MESSAGES[status] || "服务器暂时无法处理请求，请稍后重试。";
    super(message);
    this.status = status;
    this.code = (body && body.code) || `http.${status}`;
    this.fields = (body && body.fields) || [];
    this.rows = (body && body.rows) || [];
  }

  /** The message for one form field ("address"), if the server named it. */
  fieldMessage(field) {
    const hit = this.fields.find((f) => f.field === field);
    return hit ? hit.message : "";
  }
}

/** Remember the token the server handed out at login or in /api/auth/me. */
export function setCsrfToken(token) {
  csrfToken = token || "";
}

/** Called once when any request answers 401: the cookie has expired or was revoked. */
export function whenSessionEnds(callback) {
  onSessionEnded = callback;
}

/** The request as sent: `timeout` (ms) gives up on a connection that hangs, as on poor signal. */
async function request(method, path, { json, form, timeout } = {}) {
  const headers = { Accept: "application/json" };
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form; // the browser sets the multipart boundary itself
  }
  if (method !== "GET" && csrfToken) headers["X-CSRF-Token"] = csrfToken;

  const abort = timeout ? new AbortController() : null;
  const timer = abort ? setTimeout(() => abort.abort(), timeout) : 0;
  let response;
  let text;
  try {
    response = await fetch(path, { method, headers, body, credentials: "same-origin", signal: abort?.signal });
    text = await response.text();
  } catch {
    throw new ApiError(0, null);
  } finally {
    clearTimeout(timer);
  }
  let payload = null;
  try {
    payload = text ? JSON.parse(text) : null;
  } catch {
    payload = null;
  }
  if (response.status === 401 && path !== "/api/auth/login") onSessionEnded();
  if (!response.ok) throw new ApiError(response.status, payload);
  return payload;
}

export const api = {
  get: (path, options) => request("GET", path, options),
  post: (path, options) => request("POST", path, options),
  put: (path, options) => request("PUT", path, options),
  patch: (path, options) => request("PATCH", path, options),
  delete: (path) => request("DELETE", path),
};
