// Bearer-token check, in constant time (digests of equal length are compared, never the raw strings).
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export function bearerMatches(header: string | undefined, token: string): boolean {
  if (header === undefined) return false;
  // RFC 7235: the scheme is case-insensitive.
  const m = /^bearer +(\S+) *$/i.exec(header);
  if (!m?.[1]) return false;
  return timingSafeEqual(digest(m[1]), digest(token));
}

export const redactAuthorization = (header: string): string => header.replace(/^(\S+\s+).*$/, '$1[REDACTED]');
