// Where to connect: config.json next to the page (written by the deployment and by local mode),
// overridden by ?ws= and ?token= in the page's URL.

export function endpointUrl(wsUrl, token) {
  if (!wsUrl) return null;
  const url = new URL(wsUrl);
  if (token) url.searchParams.set("token", token);
  return url.toString();
}

export async function loadConfig(pageUrl, fetchImpl = fetch) {
  const params = new URL(pageUrl).searchParams;
  let config = {};
  try {
    const response = await fetchImpl(new URL("config.json", pageUrl), { cache: "no-store" });
    if (response.ok) config = await response.json();
  } catch {
    // No config.json (a page opened from disk): the URL parameters must say where to connect.
  }
  const wsUrl = params.get("ws") || config.wsUrl || null;
  const token = params.get("token") || config.token || null;
  return { wsUrl, token, url: endpointUrl(wsUrl, token) };
}
