/**
 * Connection strings as they may be printed: in a start-up line, an error message, a log. Under
 * systemd or Kubernetes those go to the journal or the pod's logs, which more people read than
 * hold the site's secrets (a helper's review: `caco run` printed
 * nats://alice:S3cretPw@… and kurrentdb://admin:S3cretPw@… as given).
 */

/**
 * A URL with its password hidden (`user:***@`, and a `password=` or `sslpassword=` in its query,
 * which libpq and `pg` take as the password: a helper's review saw `?password=S3cretPw`
 * printed whole); text that is not a URL has a `user:pass@` hidden as well.
 */
export function redactUrl(url: string): string {
  return hideQuerySecrets(redactAuthority(url));
}

/** Query parameters that carry a secret, by the names the stores' clients read. */
const SECRET_PARAMS = /([?&](?:password|sslpassword|passwd|token|access_token|secret)=)[^&#\s]*/gi;

function hideQuerySecrets(url: string): string {
  return url.replace(SECRET_PARAMS, '$1***');
}

function redactAuthority(url: string): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed?.password) {
    parsed.password = '***';
    return parsed.toString();
  }
  const authority = /^\s*[a-z][a-z0-9+.-]*:\/\//i.test(url);
  // A URL with a host and no password: nothing to hide, and it is given as it came (URL would
  // add a '/' to a bare host; a ':' and '@' in its query are not credentials).
  if (parsed && authority) return url;
  // Not read as a URL, yet credentials may be there (a helper's reviews): after '//', up to the
  // '@' (a password may hold '/': nats://u:pa/ss@h is no URL to URL, whose port would be "pa");
  // without '//' (kurrentdb:/admin:pw@h, admin:pw@h:2113), a user:password@ anywhere.
  if (authority) return url.replace(/^(\s*[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+):[^\s@]*@/i, '$1:***@');
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
