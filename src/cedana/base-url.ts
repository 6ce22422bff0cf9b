// CEDANA_URL as users have it. Cedana's documentation, daemon and chart say
// `https://<org>.cedana.ai/v1`; its Go SDK keeps scheme and host and calls /v2/... under it, and its
// CI helper strips a trailing /v1. We do the same, keeping any path prefix before the version.

/** The base every operation path (/v2/..., /v1/...) is appended to: no trailing slash, no /v1 or /v2. */
export function normaliseBaseUrl(raw: string): string {
  const url = new URL(raw.trim());
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`must be an http(s) URL, got ${url.protocol}`);
  // A query or fragment would end up inside every request path.
  if (url.search !== '' || url.hash !== '') throw new TypeError('must not have a query string or fragment');
  const path = url.pathname
    .replace(/\/+$/, '')
    .replace(/\/v[12]$/i, '')
    .replace(/\/+$/, '');
  return `${url.origin}${path}`;
}
