/**
 * Connection strings as they may be printed: in a start-up line, an error message, a log. Under
 * systemd or Kubernetes those go to the journal or the pod's logs, which more people read than
 * hold the site's secrets (a helper's review: `caco run` printed
 * nats://alice:S3cretPw@… and kurrentdb://admin:S3cretPw@… as given).
 */

/** A URL with its password hidden (`user:***@`); text that is not a URL has a `user:pass@` hidden as well. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) {
      u.password = '***';
      return u.toString();
    }
  } catch {
    // Not a URL: the pattern below still finds its credentials.
  }
  // As given when there is nothing to hide (URL would add a '/' to a bare host); a string URL
  // does not read as having a password (kurrentdb:/admin:pw@h, admin:pw@h:2113) may still hold
  // one, so any user:password@ is hidden too (a helper's review).
  return url.replace(/([^\s:/@]+):[^\s/@]*@/, '$1:***@');
}

/**
 * A NATS server list (comma-separated) with each URL's credentials hidden. A NATS URL with a
 * user and no password carries a token there (nats://<token>@host), so that is hidden too.
 */
export function redactNatsServers(servers: string): string {
  return servers
    .split(',')
    .map((s) => {
      const one = redactUrl(s.trim());
      return one.replace(/^([a-z]+:\/\/)([^:@/]+)@/i, '$1***@');
    })
    .join(',');
}
