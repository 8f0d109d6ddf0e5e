//! WireGuard public keys as the spec holds them: the base64 text `wg pubkey` prints, 32 bytes.
//!
//! Keys are never repeated in a message: a key written in the wrong place may be a private key.

/// The number of bytes of a Curve25519 key.
pub const KEY_LEN: usize = 32;

/// The value of one base64 character (standard alphabet), `None` for anything else.
fn sextet(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Decodes a WireGuard key: exactly 44 characters of standard base64, the last one `=`,
/// canonical (the unused low bits of the 43rd character are zero, as `wg` writes them).
///
/// ```
/// use meshspec::wireguard::key::decode;
/// assert_eq!(decode("xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=").map(|k| k.len()), Some(32));
/// assert!(decode("xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg").is_none());
/// assert!(decode("xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dh=").is_none());
/// ```
#[must_use]
pub fn decode(s: &str) -> Option<[u8; KEY_LEN]> {
    let b = s.as_bytes();
    if b.len() != 44 || b[43] != b'=' {
        return None;
    }
    let mut bits: u32 = 0;
    let mut n = 0u32;
    let mut out = [0u8; KEY_LEN];
    let mut i = 0;
    for &c in &b[..43] {
        bits = (bits << 6) | u32::from(sextet(c)?);
        n += 6;
        if n >= 8 {
            n -= 8;
            if i < KEY_LEN {
                out[i] = u8::try_from((bits >> n) & 0xff).ok()?;
                i += 1;
            }
            bits &= (1 << n) - 1;
        }
    }
    // 43 characters carry 258 bits: 256 for the key and 2 that must be zero
    (i == KEY_LEN && bits == 0).then_some(out)
}

/// Checks a public key as written in the spec (`nodes[].wireguard.public_key`).
///
/// # Errors
/// What is wrong (never repeating the value) and how to fix it.
pub fn check(s: &str) -> Result<(), (String, String)> {
    let help = "paste the output of `wg pubkey < /etc/wireguard/<interface>.key` on that node: 44 characters of base64 ending in `=` (never the private key)";
    if let Some(bad) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "+/=".contains(*c)))
    {
        let what = if bad.is_ascii_graphic() {
            format!("`{bad}`")
        } else {
            format!("the character U+{:04X}", u32::from(bad))
        };
        return Err((
            format!("is not a WireGuard public key: it holds {what}, which is not base64"),
            help.to_owned(),
        ));
    }
    if decode(s).is_none() {
        return Err((
            format!(
                "is not a WireGuard public key: {} characters that do not decode to 32 bytes",
                s.chars().count()
            ),
            help.to_owned(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_what_wg_prints_and_nothing_else() {
        // wg(8)'s example public key
        let k = decode("xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=").unwrap();
        assert_eq!(k[0], 0xc5);
        assert_eq!(k[31], 0x38);
        assert_eq!(decode(&format!("{}=", "A".repeat(43))), Some([0; 32]));
        let all_ones = format!("{}8=", "/".repeat(42));
        assert_eq!(decode(&all_ones), Some([0xff; 32]));
        for bad in [
            "",
            "=",
            "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg==",
            "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8D==",
            "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg-",
            "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8D-=",
            "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8D\n=",
        ] {
            assert!(decode(bad).is_none(), "{bad:?}");
            assert!(check(bad).is_err(), "{bad:?}");
        }
        assert!(check("xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=").is_ok());
    }

    #[test]
    fn refusals_never_repeat_the_value() {
        let secret = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk";
        let (what, help) = check(secret).unwrap_err();
        assert!(
            !what.contains(secret) && !help.contains(secret),
            "{what} {help}"
        );
        let (what, _) = check("abc def").unwrap_err();
        assert!(what.contains("U+0020"), "{what}");
    }
}
