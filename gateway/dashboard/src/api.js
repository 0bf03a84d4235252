// The gateway's API as the dashboard uses it: same-origin requests, the session cookie (if any)
// sent by the browser itself.
export async function request(method, url, body, contentType) {
  const init = { method, headers: {}, credentials: 'same-origin' };
  if (body !== undefined) {
    init.body = body;
    init.headers['Content-Type'] = contentType || 'application/json';
  }
  const res = await fetch(url, init);
  let data = null;
  try {
    data = await res.json();
  } catch (e) {
    data = { Message: res.statusText };
  }
  return { status: res.status, ok: res.ok, data };
}

export const q = (params) => new URLSearchParams(params).toString();

export function formatMib(mib) {
  if (mib >= 1024) return (mib / 1024).toFixed(1) + ' GiB';
  return (mib < 100 ? mib.toFixed(1) : Math.round(mib)) + ' MiB';
}

export function formatAge(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return s + 's';
  if (s < 3600) return Math.floor(s / 60) + 'm' + (s % 60) + 's';
  return Math.floor(s / 3600) + 'h' + Math.floor((s % 3600) / 60) + 'm';
}
