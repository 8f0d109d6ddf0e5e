//! How a plain (unquoted, untagged) scalar is typed: the rules `serde-saphyr` applies when the
//! target type is open (`deserialize_any`), restated so the event reader types scalars the same
//! way without going through serde.
//!
//! The order is theirs: null spellings, YAML 1.1 booleans, integers (decimal without a leading
//! zero, `0x`/`0o`/`0b` with `_` separators), then finite YAML 1.2 floats; anything else is text.
//! A value those rules refuse (an infinite or NaN float, which `deserialize_any` rejects) is
//! [`Plain::Refused`]: the reader then hands the whole text to the reference path, which
//! reports it with the library's own message.

/// What a plain scalar is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Plain {
    /// `~`, `null`, `Null`, `NULL` or nothing.
    Null,
    /// A YAML 1.1 boolean (`true`, `yes`, `on`, `y`, ... any case).
    Bool(bool),
    /// A whole number that fits `i64`.
    Int(i64),
    /// A finite number with a fraction, or a whole number beyond `i64`.
    Float(f64),
    /// Text.
    Str,
    /// A spelling the library refuses in an open-typed position.
    Refused,
}

/// `serde-saphyr`'s trim: YAML blanks and line breaks, nothing else.
fn trim(s: &str) -> &str {
    let blank = |b: &u8| matches!(b, b' ' | b'\t' | b'\r' | b'\n');
    let b = s.as_bytes();
    // nearly every scalar has nothing to trim
    if !b.first().is_some_and(blank) && !b.last().is_some_and(blank) {
        return s;
    }
    s.trim_matches([' ', '\t', '\r', '\n'])
}

/// Types a plain scalar.
pub(super) fn classify(raw: &str) -> Plain {
    if matches!(raw, "" | "~" | "null" | "Null" | "NULL") {
        return Plain::Null;
    }
    let t = trim(raw);
    // the longest boolean spelling is `false`
    if t.len() <= 5
        && let Some(b) = yaml11_bool(t)
    {
        return Plain::Bool(b);
    }
    // fast exit for the common case: text that cannot be a number at all
    let Some(&first) = t.as_bytes().first() else {
        return Plain::Str;
    };
    if !(first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'.')) {
        return Plain::Str;
    }
    if let Some(rest) = t.strip_prefix('-') {
        if !leading_zero_decimal(t)
            && let Some(v) = signed(rest)
        {
            return Plain::Int(v);
        }
    } else if let Some(v) = unsigned(t.strip_prefix('+').unwrap_or(t)) {
        #[expect(
            clippy::cast_precision_loss,
            reason = "the library passes integers beyond i64 on as floats"
        )]
        return i64::try_from(v).map_or(Plain::Float(v as f64), Plain::Int);
    }
    float(t)
}

fn yaml11_bool(t: &str) -> Option<bool> {
    let is = |w: &str| t.eq_ignore_ascii_case(w);
    if is("true") || is("yes") || is("y") || is("on") {
        Some(true)
    } else if is("false") || is("no") || is("n") || is("off") {
        Some(false)
    } else {
        None
    }
}

fn leading_zero_decimal(t: &str) -> bool {
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    digits.len() > 1 && digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The radix and digits of an unsigned spelling (no legacy octal).
fn radix(rest: &str) -> (u32, &str) {
    for (prefix, radix) in [
        ("0x", 16),
        ("0X", 16),
        ("0o", 8),
        ("0O", 8),
        ("0b", 2),
        ("0B", 2),
    ] {
        if let Some(r) = rest.strip_prefix(prefix) {
            return (radix, r);
        }
    }
    (10, rest)
}

/// Digits with single `_` separators between them, in `radix`.
fn digits(s: &str, radix: u32) -> Option<u128> {
    let b = s.as_bytes();
    let mut val: u128 = 0;
    let mut saw = false;
    for (i, &c) in b.iter().enumerate() {
        if c == b'_' {
            let prev_ok = i > 0 && b[i - 1] != b'_';
            let next_ok = b.get(i + 1).is_some_and(|n| *n != b'_');
            if !(prev_ok && next_ok) {
                return None;
            }
            continue;
        }
        let d = char::from(c).to_digit(16)?;
        if d >= radix {
            return None;
        }
        val = val
            .checked_mul(u128::from(radix))?
            .checked_add(u128::from(d))?;
        saw = true;
    }
    saw.then_some(val)
}

/// An unsigned integer (sign already removed) that fits `u64`.
fn unsigned(rest: &str) -> Option<u64> {
    if rest.starts_with('-') {
        return None;
    }
    let (radix, ds) = radix(rest);
    if radix == 10 && ds.starts_with('0') && ds != "0" {
        return None;
    }
    u64::try_from(digits(ds, radix)?).ok()
}

/// A negative integer (the `-` already removed) that fits `i64`.
fn signed(rest: &str) -> Option<i64> {
    let (radix, ds) = radix(rest);
    if radix == 10 && ds.starts_with('0') && ds != "0" {
        return None;
    }
    let mag = i128::try_from(digits(ds, radix)?).ok()?;
    i64::try_from(-mag).ok()
}

fn float(t: &str) -> Plain {
    let unsigned = t.strip_prefix(['+', '-']).unwrap_or(t);
    if matches!(
        unsigned,
        ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF"
    ) {
        return Plain::Refused;
    }
    match t.parse::<f64>() {
        Ok(v) if v.is_finite() => Plain::Float(v),
        // `1e999` overflows to infinity, which the library refuses; `inf` and `nan` are text
        Ok(_) if unsigned.as_bytes().first().is_some_and(u8::is_ascii_digit) => Plain::Refused,
        _ => Plain::Str,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_are_typed_like_the_library() {
        let cases = [
            ("", Plain::Null),
            ("~", Plain::Null),
            ("NULL", Plain::Null),
            ("nULL", Plain::Str),
            ("Yes", Plain::Bool(true)),
            ("off", Plain::Bool(false)),
            ("n", Plain::Bool(false)),
            ("12", Plain::Int(12)),
            ("-12", Plain::Int(-12)),
            ("+12", Plain::Int(12)),
            ("0x1F", Plain::Int(31)),
            ("0o17", Plain::Int(15)),
            ("0b101", Plain::Int(5)),
            ("1_000", Plain::Int(1000)),
            ("1__0", Plain::Str),
            ("010", Plain::Float(10.0)),
            ("-010", Plain::Float(-10.0)),
            ("1.5", Plain::Float(1.5)),
            ("1e3", Plain::Float(1000.0)),
            (
                "18446744073709551615",
                Plain::Float(18_446_744_073_709_551_615.0),
            ),
            ("-9223372036854775808", Plain::Int(i64::MIN)),
            (".inf", Plain::Refused),
            ("-.Inf", Plain::Refused),
            ("1e999", Plain::Refused),
            ("inf", Plain::Str),
            ("nan", Plain::Str),
            ("100.64.0.1", Plain::Str),
            ("10.42.0.0/16", Plain::Str),
            ("v1.33.5+k3s1", Plain::Str),
            ("0x", Plain::Str),
        ];
        for (text, want) in cases {
            assert_eq!(classify(text), want, "{text:?}");
        }
    }
}
