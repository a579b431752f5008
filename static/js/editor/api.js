// JSON over fetch for the editor: same-origin session cookie plus Django's CSRF token, which the
// csrftoken cookie carries (CSRF_COOKIE_HTTPONLY is off for exactly this).

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

/** Send a request; resolve to {status, data} whatever the status. Rejects only when the network fails. */
export async function api(method, path, body, { keepalive = false } = {}) {
  const headers = { Accept: "application/json", "X-CSRFToken": csrfToken() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    keepalive,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  if (response.status !== 204) {
    try {
      data = await response.json();
    } catch {
      data = null;
    }
  }
  return { status: response.status, data };
}

/** The first message in a DRF error body: {"detail": "..."} or {"field": ["..."]}. */
export function errorMessage(data, fallback = "Something went wrong") {
  if (!data) return fallback;
  if (typeof data.detail === "string") return data.detail;
  for (const value of Object.values(data)) {
    if (Array.isArray(value) && value.length) return String(value[0]);
    if (typeof value === "string") return value;
  }
  return fallback;
}
