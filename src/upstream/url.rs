//! Repository URLs from a crate's manifest (untrusted): normalised to one
//! canonical form, and refused unless they are plain `https://`, `http://` or
//! `git://` URLs naming a public host. Pure.
//!
//! The canonical form drops what does not name a different repository: a
//! `git+` prefix, `www.`, a `.git` suffix, trailing slashes, credentials, a
//! fragment or query, and a web-UI path such as `/tree/<branch>/<dir>` or
//! `/-/tree/...`; `http://` becomes `https://`. Refused: any other scheme
//! (`ssh://`, `ext::`, `file://`, scp-like `git@host:path`), hosts that are
//! IP literals in private, loopback or link-local ranges or `localhost`, and
//! anything with whitespace, control characters or `..` path segments. The
//! user's own git configuration (`url.<base>.insteadOf`) is applied later, by
//! the fetch, to the canonical URL: that is the user's choice and may point
//! at a local mirror.

use std::net::IpAddr;

/// A canonical repository URL and the key its refs live under.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RepoUrl {
    /// `https://host/path` (or `git://host/path`).
    pub canonical: String,
    /// `host/path`, safe as a run of ref name components: refs live under
    /// `refs/upstream/<key>/`.
    pub key: String,
}

/// Why a URL is not fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// Not a scheme cargofox fetches from.
    #[error("scheme not allowed (only https, http and git URLs are fetched): {0}")]
    Scheme(String),
    /// The host is local or private.
    #[error("host is local or private: {0}")]
    PrivateHost(String),
    /// Not a URL one can fetch from.
    #[error("not a repository URL: {0}")]
    Malformed(String),
}

/// Web-UI path markers after which a URL names a view inside a repository.
const VIEW_MARKERS: &[&str] = &[
    "/-/",
    "/tree/",
    "/blob/",
    "/src/",
    "/commit/",
    "/releases",
    "/issues",
    "/wiki",
];

/// Hosts whose repositories are exactly `owner/name`.
const TWO_COMPONENT_HOSTS: &[&str] = &["github.com", "gitlab.com", "codeberg.org", "bitbucket.org", "gitea.com"];

/// Normalise and check a repository URL taken from a manifest.
pub fn normalise(raw: &str) -> Result<RepoUrl, Refused> {
    let s = raw.trim();
    let malformed = || Refused::Malformed(s.to_owned());
    if s.is_empty() || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(malformed());
    }
    let s = s.strip_prefix("git+").unwrap_or(s);
    let Some((scheme, rest)) = s.split_once("://") else {
        return Err(Refused::Scheme(s.to_owned()));
    };
    let scheme = scheme.to_ascii_lowercase();
    let out_scheme = match scheme.as_str() {
        "https" | "http" => "https",
        "git" => "git",
        _ => return Err(Refused::Scheme(s.to_owned())),
    };
    let rest = rest.split(['#', '?']).next().unwrap_or_default();
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host_port = host_port.to_ascii_lowercase();
    let (host, port) = split_port(&host_port).ok_or_else(malformed)?;
    let host = host.strip_prefix("www.").unwrap_or(host);
    if host.is_empty()
        || host.starts_with('-')
        || host.starts_with('.')
        || !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'))
    {
        return Err(malformed());
    }
    if is_private(host) {
        return Err(Refused::PrivateHost(host.to_owned()));
    }
    // Repository paths are plain: unreserved URL characters, `%`, `/`, `+`,
    // `@`, `~`. Anything else (brackets, quotes, `<`, `*`) names no
    // repository a host serves and would only carry Markup into reports.
    if !path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '%' | '/' | '+' | '@'))
    {
        return Err(malformed());
    }
    let mut path = format!("/{path}");
    if let Some(cut) = VIEW_MARKERS.iter().filter_map(|m| path.find(m)).min() {
        path.truncate(cut);
    }
    let mut comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    if TWO_COMPONENT_HOSTS.contains(&host) {
        comps.truncate(2);
    }
    if comps.is_empty() || comps.iter().any(|c| *c == "." || *c == ".." || c.starts_with('-')) {
        return Err(malformed());
    }
    if let Some(last) = comps.last_mut() {
        *last = last.strip_suffix(".git").unwrap_or(last);
        if last.is_empty() {
            return Err(malformed());
        }
    }
    let host_lower = match port {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    };
    let path = comps.join("/");
    let case_folded = if TWO_COMPONENT_HOSTS.contains(&host) {
        // These hosts treat owner and name case-insensitively.
        path.to_ascii_lowercase()
    } else {
        path
    };
    let canonical = format!("{out_scheme}://{host_lower}/{case_folded}");
    let key = ref_key(&host_lower, &case_folded);
    Ok(RepoUrl { canonical, key })
}

fn split_port(host_port: &str) -> Option<(&str, Option<u16>)> {
    if host_port.starts_with('[') {
        // An IPv6 literal: `[::1]` or `[::1]:8080`.
        let end = host_port.find(']')?;
        let (h, rest) = host_port.split_at(end + 1);
        return match rest.strip_prefix(':') {
            Some(p) => Some((h, Some(p.parse().ok()?))),
            None if rest.is_empty() => Some((h, None)),
            None => None,
        };
    }
    match host_port.split_once(':') {
        Some((h, "")) => Some((h, None)),
        Some((h, p)) => Some((h, Some(p.parse().ok()?))),
        None => Some((host_port, None)),
    }
}

fn is_private(host: &str) -> bool {
    if host == "localhost" || host.ends_with(".localhost") || !host.contains(['.', ':']) {
        return true;
    }
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    match literal.parse::<IpAddr>() {
        Ok(IpAddr::V4(ip)) => {
            ip.is_private()
                || ip.is_loopback()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_broadcast()
                || ip.octets()[0] == 0
                || (ip.octets()[0] == 100 && (ip.octets()[1] & 0xc0) == 64)
        }
        Ok(IpAddr::V6(ip)) => {
            let seg = ip.segments()[0];
            ip.is_loopback()
                || ip.is_unspecified()
                || (seg & 0xfe00) == 0xfc00
                || (seg & 0xffc0) == 0xfe80
                || ip.to_ipv4_mapped().is_some_and(|v4| is_private(&v4.to_string()))
        }
        // A name: resolution happens in the transport; literals are what a
        // manifest can aim at the host's own network without DNS.
        Err(_) => false,
    }
}

/// Ref name components for a repository: every byte outside
/// `[A-Za-z0-9._-]` becomes `_`, components may not start with `.` or end
/// in `.lock`, and when anything had to change a short hash of the original
/// keeps keys distinct.
fn ref_key(host: &str, path: &str) -> String {
    let raw = format!("{host}/{path}");
    let mut changed = false;
    let comps: Vec<String> = raw
        .split('/')
        .map(|c| {
            let mut s: String = c
                .chars()
                .map(|ch| {
                    if ch.is_ascii_alphanumeric() || matches!(ch, '.' | '-' | '_') {
                        ch
                    } else {
                        changed = true;
                        '_'
                    }
                })
                .collect();
            while s.contains("..") {
                s = s.replace("..", "_.");
                changed = true;
            }
            if s.starts_with('.') {
                s.insert(0, '_');
                changed = true;
            }
            if s.ends_with(".lock") || s.ends_with('.') {
                s.push('_');
                changed = true;
            }
            s
        })
        .collect();
    let mut key = comps.join("/");
    if changed {
        key.push_str(&format!("/_{:08x}", fnv32(raw.as_bytes())));
    }
    key
}

fn fnv32(bytes: &[u8]) -> u32 {
    bytes
        .iter()
        .fold(0x811c_9dc5_u32, |h, &b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> String {
        normalise(s).map(|u| u.canonical).unwrap_or_else(|e| format!("ERR {e}"))
    }

    #[test]
    fn common_forms_become_one() {
        for s in [
            "https://github.com/serde-rs/serde",
            "https://github.com/serde-rs/serde/",
            "https://github.com/serde-rs/serde.git",
            "http://github.com/serde-rs/serde",
            "https://www.github.com/serde-rs/serde",
            "git+https://github.com/serde-rs/serde.git",
            "https://github.com/serde-rs/serde/tree/master/serde_derive",
            "https://github.com/serde-rs/serde/blob/master/README.md",
            "https://github.com/Serde-rs/Serde",
            "https://user:token@github.com/serde-rs/serde",
            "https://github.com/serde-rs/serde#readme",
            "  https://github.com/serde-rs/serde  ",
        ] {
            assert_eq!(canon(s), "https://github.com/serde-rs/serde", "{s}");
        }
        assert_eq!(
            normalise("https://github.com/serde-rs/serde").map(|u| u.key),
            Ok("github.com/serde-rs/serde".to_owned())
        );
        assert_eq!(
            canon("https://gitlab.example.org/group/sub/proj/-/tree/main"),
            "https://gitlab.example.org/group/sub/proj"
        );
        assert_eq!(canon("git://git.example.org/proj.git"), "git://git.example.org/proj");
    }

    #[test]
    fn dangerous_forms_are_refused() {
        for s in [
            "ssh://git@github.com/a/b",
            "ssh://-oProxyCommand=touch%20x/a",
            "ext::sh -c touch% /tmp/pwned",
            "file:///etc",
            "git@github.com:a/b.git",
            "/local/path",
            "https://127.0.0.1/a/b",
            "https://10.1.2.3/a",
            "https://192.168.0.1:8443/a",
            "https://169.254.169.254/latest",
            "https://[::1]/a",
            "https://[fd00::1]/a",
            "https://localhost/a",
            "https://intranet/a",
            "https://github.com/a/../b",
            "https://github.com/",
            "https://github.com/a b",
            "https://-oops.example/a",
            "https://github.com/a/[x](javascript:alert(1))",
            "https://github.com/a/b<img>",
            "",
        ] {
            assert!(normalise(s).is_err(), "{s} should be refused: {:?}", normalise(s));
        }
    }

    #[test]
    fn keys_are_valid_ref_components() {
        for s in [
            "https://example.org/a/.hidden",
            "https://example.org/a/x.lock",
            "https://example.org/%41/b~c",
            "https://example.org:8080/a",
        ] {
            let key = normalise(s).expect("accepted").key;
            let full = format!("refs/upstream/{key}/heads/main");
            assert!(gix_validate::reference::name(full.as_bytes().into()).is_ok(), "{full}");
        }
        assert_ne!(
            normalise("https://example.org/a_b").map(|u| u.key),
            normalise("https://example.org/a~b").map(|u| u.key)
        );
    }
}
