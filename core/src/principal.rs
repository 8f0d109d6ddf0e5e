//! Tailnet policy principals: the values of `mesh.tag_owners` and `mesh.admins`.
//!
//! A principal is one of the forms a Tailscale or Headscale policy file names people and
//! devices by. The grammar here is the intersection that is safe to place in a JSON policy and
//! in a `tailscale up --advertise-tags` line, checked when the spec is read (MS003):
//!
//! - a user: `alice@example.com`, or Headscale's `alice@` (exactly one `@`, the local part
//!   `[A-Za-z0-9._%+-]`, the domain `[A-Za-z0-9.-]`);
//! - a group: `group:` then `[A-Za-z0-9][A-Za-z0-9._-]*`;
//! - a tag: `tag:` then a letter, then `[A-Za-z0-9-]*` (Tailscale's and Headscale's tag rule:
//!   headscale `hscontrol/policy/v2/types.go`, `Tag.Validate`, "tag name must start with a letter");
//! - an autogroup Tailscale defines (`autogroup:admin`, `autogroup:member`, ...).
//!
//! Which forms a provider accepts where is decided by [`headscale_tag_owner_error`] and
//! [`admin_source_error`]; this module never renders anything.

/// Autogroups Tailscale's policy language defines (tailscale.com/kb/1396/targets#autogroups).
pub const AUTOGROUPS: &[&str] = &[
    "admin",
    "auditor",
    "billing-admin",
    "danger-all",
    "internet",
    "it-admin",
    "member",
    "network-admin",
    "nonroot",
    "owner",
    "self",
    "shared",
    "tagged",
];

/// The kind of a principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `alice@example.com` or `alice@`.
    User,
    /// `group:ops`.
    Group,
    /// `tag:k3s-server`.
    Tag,
    /// `autogroup:member`.
    AutoGroup,
}

fn is_user(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"._%+-".contains(&c))
        && domain
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'-')
        && !domain.starts_with(['.', '-'])
}

/// The principal's kind, or `None` when `s` is none of the accepted forms.
///
/// ```
/// use meshspec::principal::{kind, Kind};
/// assert_eq!(kind("alice@"), Some(Kind::User));
/// assert_eq!(kind("group:ops"), Some(Kind::Group));
/// assert_eq!(kind("autogroup:member"), Some(Kind::AutoGroup));
/// assert_eq!(kind("autogroup:everyone"), None);
/// assert_eq!(kind("alice\"; rm"), None);
/// ```
#[must_use]
pub fn kind(s: &str) -> Option<Kind> {
    if s.len() > 253 {
        return None;
    }
    if let Some(rest) = s.strip_prefix("group:") {
        let ok = rest
            .bytes()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
            && rest
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"._-".contains(&c));
        return ok.then_some(Kind::Group);
    }
    if let Some(rest) = s.strip_prefix("tag:") {
        let ok = rest.bytes().next().is_some_and(|c| c.is_ascii_alphabetic())
            && rest.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-');
        return ok.then_some(Kind::Tag);
    }
    if let Some(rest) = s.strip_prefix("autogroup:") {
        return AUTOGROUPS.contains(&rest).then_some(Kind::AutoGroup);
    }
    is_user(s).then_some(Kind::User)
}

/// Why Headscale would refuse `s` as a tag owner, or `None` when it accepts it.
///
/// Headscale's policy v2 parser (`parseOwner` in `hscontrol/policy/v2/types.go`) accepts only a
/// user (containing `@`), a group (`group:`) or a tag (`tag:`); every `autogroup:` fails with
/// `invalid owner format`, `autogroup:admin` included (Headscale has no admin roles:
/// juanfont/headscale#2618).
#[must_use]
pub fn headscale_tag_owner_error(s: &str) -> Option<&'static str> {
    match kind(s) {
        Some(Kind::User | Kind::Group | Kind::Tag) => None,
        Some(Kind::AutoGroup) => Some(
            "Headscale accepts only users (`name@`), groups (`group:`) or tags as tag owners; it has no autogroup owners (juanfont/headscale#2618)",
        ),
        None => Some("not a user, group or tag"),
    }
}

/// Why `s` cannot be the source of an ACL rule on this provider, or `None` when it can.
///
/// Tailscale and Headscale refuse `autogroup:internet` and `autogroup:self` as sources;
/// Headscale accepts only `autogroup:member`, `autogroup:tagged` and `autogroup:danger-all`
/// there (`autogroupForSrc`, `hscontrol/policy/v2/types.go`).
#[must_use]
pub fn admin_source_error(s: &str, headscale: bool) -> Option<&'static str> {
    let rest = s.strip_prefix("autogroup:")?;
    if matches!(rest, "internet" | "self") {
        return Some("`autogroup:internet` and `autogroup:self` are destinations, never sources");
    }
    if headscale && !matches!(rest, "member" | "tagged" | "danger-all") {
        return Some(
            "Headscale accepts only `autogroup:member`, `autogroup:tagged` and `autogroup:danger-all` as sources",
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar_refuses_what_would_break_json_or_sh() {
        for bad in [
            "",
            "@example.com",
            "a@b@c",
            "group:",
            "group:-x",
            "tag:1abc",
            "tag:a_b",
            "autogroup:admins",
            "a b@x",
            "a'@x",
            "a@x;y",
            "alice",
        ] {
            assert_eq!(kind(bad), None, "{bad}");
        }
        assert_eq!(kind("alice@example.com"), Some(Kind::User));
        assert_eq!(kind("tag:k3s-server"), Some(Kind::Tag));
    }

    #[test]
    fn headscale_refuses_autogroup_owners() {
        assert!(headscale_tag_owner_error("autogroup:admin").is_some());
        assert!(headscale_tag_owner_error("autogroup:member").is_some());
        assert!(headscale_tag_owner_error("alice@").is_none());
        assert!(headscale_tag_owner_error("group:ops").is_none());
        assert!(admin_source_error("autogroup:member", true).is_none());
        assert!(admin_source_error("autogroup:admin", true).is_some());
        assert!(admin_source_error("autogroup:admin", false).is_none());
        assert!(admin_source_error("autogroup:self", false).is_some());
    }
}
