/** Small HTTP helpers the server-rendered pages share: CSRF token, JSON calls, readable errors. */

/** The CSRF token from a `document.cookie` string ("" when there is none). */
export function csrfFromCookie(cookie: string): string {
  const match = cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

/** The message a failed response carries: its JSON `detail`, the JSON itself, or the status line. */
export async function errorText(response: Response): Promise<string> {
  try {
    const body = await response.json();
    return typeof body.detail === "string" ? body.detail : JSON.stringify(body);
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

export interface CallOptions {
  csrfToken: string;
  /** A JSON body, or FormData sent as multipart. */
  body?: unknown;
  fetchImpl?: typeof fetch;
}

/** One API call: JSON in and out; a refused call throws an Error with the server's `detail`. */
export async function callJson<T = Record<string, unknown>>(method: string, url: string, opts: CallOptions): Promise<T> {
  const headers: Record<string, string> = { "X-CSRFToken": opts.csrfToken, Accept: "application/json" };
  const isForm = typeof FormData !== "undefined" && opts.body instanceof FormData;
  if (opts.body !== undefined && !isForm) headers["Content-Type"] = "application/json";
  const response = await (opts.fetchImpl ?? fetch)(url, {
    method, headers, credentials: "same-origin",
    body: opts.body === undefined ? undefined : isForm ? (opts.body as FormData) : JSON.stringify(opts.body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(typeof data.detail === "string" ? data.detail : response.statusText || `HTTP ${response.status}`);
  return data as T;
}

/** The JSON config block a template renders with `json_script`. */
export function readConfig<T>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`page is missing its #${id} config`);
  return JSON.parse(node.textContent || "{}") as T;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A DOM element with attributes (`onclick` as a handler) and text or node children. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K, attrs: Record<string, string | number | (() => void)> = {}, ...children: (Node | string | number)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "onclick") node.onclick = v as () => void;
    else node.setAttribute(k, String(v));
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}
