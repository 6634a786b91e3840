// The counselors' API from the page: JSON over fetch with the session's bearer token
// (kept in memory only). A refusal becomes an ApiError with the server's code.

export class ApiError extends Error {
  constructor(status, code, message, doc = null) {
    super(message || code);
    Object.assign(this, { status, code, doc }); // doc: the whole answer (problems, diff…)
  }
}

let token = null;
let onSessionEnded = () => {};

export function useToken(value) {
  token = value;
}

export function whenSessionEnds(callback) {
  onSessionEnded = callback;
}

export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(`/api/v1${path}`, { method, headers, cache: "no-store",
      credentials: "omit", body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, "network", "không kết nối được tới máy chủ");
  }
  if (response.status === 204) return null;
  let doc = null;
  try {
    doc = await response.json();
  } catch {
    doc = null;
  }
  if (!response.ok) {
    if (response.status === 401 && token) onSessionEnded();
    throw new ApiError(response.status, doc?.error || "unknown", doc?.message || "", doc);
  }
  return doc;
}
