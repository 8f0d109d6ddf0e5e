//! A rendered file's text, held as pieces that other files may share.
//!
//! Most of a bundle's bytes are bodies that many nodes' files hold under a line naming the
//! node (the firewall rules of every node of a role and site, the middle of `install.sh`, the
//! proxy environment). [`Contents`] holds a file as a few pieces, each either its own or a
//! reference-counted text shared with other files, so a body is in memory once however many
//! files hold it. It reads as the one string the pieces make: equality, `Display`,
//! `Serialize`, [`Contents::len`] and [`Contents::as_str`] all see the joined text, never
//! where the pieces split, so two files are equal exactly when their bytes are.
//!
//! Reading it: [`Contents::pieces`] (the texts in order, no copy), [`Contents::write_to`]
//! (one vectored write), [`Contents::as_str`] (borrowed when the file is one piece, else
//! joined), `to_string()`. Making it: `From<String>`, `From<&str>`, `From<Arc<str>>`, and
//! [`Contents::concat`].

use std::borrow::Cow;
use std::fmt;
use std::io::{self, IoSlice};
use std::sync::Arc;

use serde::{Serialize, Serializer};

/// A file's text: one string, or pieces of which some are shared with other files.
///
/// ```
/// use std::sync::Arc;
/// use meshspec::render::Contents;
/// let body: Arc<str> = Arc::from("shared body\n");
/// let a = Contents::concat([Contents::from("# node a\n"), Contents::from(body.clone())]);
/// assert_eq!(a, *"# node a\nshared body\n");
/// assert_eq!(a.len(), 21);
/// let mut out = Vec::new();
/// a.write_to(&mut out).unwrap();
/// assert_eq!(out, b"# node a\nshared body\n");
/// ```
#[derive(Clone, Default)]
pub struct Contents {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    /// The whole text, owned by this file.
    Own(Box<str>),
    /// The whole text, shared with other files.
    Shared(Arc<str>),
    /// Two or more non-empty pieces.
    Pieces(Box<[Piece]>),
}

impl Default for Repr {
    fn default() -> Self {
        Self::Own(Box::default())
    }
}

#[derive(Clone)]
enum Piece {
    Own(Box<str>),
    Shared(Arc<str>),
}

impl Piece {
    fn as_str(&self) -> &str {
        match self {
            Self::Own(s) => s,
            Self::Shared(s) => s,
        }
    }
}

impl Contents {
    /// The pieces, one after the other, as one text (empty pieces are dropped; a single
    /// piece is kept as it is, shared or not).
    #[must_use]
    pub fn concat(parts: impl IntoIterator<Item = Self>) -> Self {
        let mut pieces: Vec<Piece> = Vec::new();
        for part in parts {
            match part.repr {
                Repr::Own(s) if !s.is_empty() => pieces.push(Piece::Own(s)),
                Repr::Shared(s) if !s.is_empty() => pieces.push(Piece::Shared(s)),
                Repr::Pieces(p) => pieces.extend(p),
                Repr::Own(_) | Repr::Shared(_) => {}
            }
        }
        let repr = match pieces.len() {
            0 => Repr::default(),
            1 => match pieces.pop() {
                Some(Piece::Own(s)) => Repr::Own(s),
                Some(Piece::Shared(s)) => Repr::Shared(s),
                None => Repr::default(),
            },
            _ => Repr::Pieces(pieces.into_boxed_slice()),
        };
        Self { repr }
    }

    /// The length of the text in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Own(s) => s.len(),
            Repr::Shared(s) => s.len(),
            Repr::Pieces(p) => p.iter().map(|p| p.as_str().len()).sum(),
        }
    }

    /// Whether the text is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The pieces of the text, in order (none when it is empty). Where the text splits into
    /// pieces is not part of its value: compare and hash the joined bytes, never the pieces.
    pub fn pieces(&self) -> impl DoubleEndedIterator<Item = &str> + '_ {
        let (one, many): (Option<&str>, &[Piece]) = match &self.repr {
            Repr::Own(s) => (Some(s), &[]),
            Repr::Shared(s) => (Some(s), &[]),
            Repr::Pieces(p) => (None, p),
        };
        one.filter(|s| !s.is_empty())
            .into_iter()
            .chain(many.iter().map(Piece::as_str))
    }

    /// The whole text: borrowed when it is one piece, joined into a new string otherwise.
    #[must_use]
    pub fn as_str(&self) -> Cow<'_, str> {
        match &self.repr {
            Repr::Own(s) => Cow::Borrowed(s),
            Repr::Shared(s) => Cow::Borrowed(s),
            Repr::Pieces(_) => Cow::Owned(self.to_string()),
        }
    }

    /// The whole text as an owned string.
    #[must_use]
    pub fn into_string(self) -> String {
        match self.repr {
            Repr::Own(s) => s.into_string(),
            Repr::Shared(s) => s.to_string(),
            Repr::Pieces(_) => self.to_string(),
        }
    }

    /// Writes the text to `out`: its pieces in one vectored write where `out` supports it
    /// (`writev` on a file), repeated until every byte is written.
    ///
    /// # Errors
    /// The first error of `out` other than [`io::ErrorKind::Interrupted`], or
    /// [`io::ErrorKind::WriteZero`] when it stops accepting bytes.
    pub fn write_to<W: io::Write>(&self, mut out: W) -> io::Result<()> {
        let mut slices: Vec<IoSlice<'_>> =
            self.pieces().map(|p| IoSlice::new(p.as_bytes())).collect();
        let mut rest: &mut [IoSlice<'_>] = &mut slices;
        while !rest.is_empty() {
            match out.write_vectored(rest) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => IoSlice::advance_slices(&mut rest, n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Whether the text's bytes are exactly `bytes` (a file read back from disk).
    #[must_use]
    pub fn eq_bytes(&self, mut bytes: &[u8]) -> bool {
        if bytes.len() != self.len() {
            return false;
        }
        for p in self.pieces() {
            let (head, tail) = bytes.split_at(p.len());
            if head != p.as_bytes() {
                return false;
            }
            bytes = tail;
        }
        true
    }
}

impl fmt::Display for Contents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `{:>10}` and friends pad the whole text, not each piece
        if f.width().is_some() || f.precision().is_some() {
            return f.pad(&self.as_str());
        }
        for p in self.pieces() {
            f.write_str(p)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Contents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.as_str(), f)
    }
}

impl PartialEq for Contents {
    fn eq(&self, other: &Self) -> bool {
        if let (Repr::Shared(a), Repr::Shared(b)) = (&self.repr, &other.repr)
            && Arc::ptr_eq(a, b)
        {
            return true;
        }
        if self.len() != other.len() {
            return false;
        }
        // walk both piece lists at once, comparing the overlapping parts
        let (mut a, mut b) = (self.pieces(), other.pieces());
        let (mut x, mut y): (&[u8], &[u8]) = (&[], &[]);
        loop {
            if x.is_empty() {
                match a.next() {
                    Some(p) => x = p.as_bytes(),
                    None => return y.is_empty() && b.next().is_none(),
                }
                continue;
            }
            if y.is_empty() {
                match b.next() {
                    Some(p) => y = p.as_bytes(),
                    None => return false,
                }
                continue;
            }
            let n = x.len().min(y.len());
            if x[..n] != y[..n] {
                return false;
            }
            x = &x[n..];
            y = &y[n..];
        }
    }
}

impl Eq for Contents {}

impl PartialEq<str> for Contents {
    fn eq(&self, other: &str) -> bool {
        self.eq_bytes(other.as_bytes())
    }
}

impl PartialEq<&str> for Contents {
    fn eq(&self, other: &&str) -> bool {
        self.eq_bytes(other.as_bytes())
    }
}

impl PartialEq<String> for Contents {
    fn eq(&self, other: &String) -> bool {
        self.eq_bytes(other.as_bytes())
    }
}

impl PartialEq<Contents> for str {
    fn eq(&self, other: &Contents) -> bool {
        other.eq_bytes(self.as_bytes())
    }
}

impl PartialEq<Contents> for &str {
    fn eq(&self, other: &Contents) -> bool {
        other.eq_bytes(self.as_bytes())
    }
}

impl PartialEq<Contents> for String {
    fn eq(&self, other: &Contents) -> bool {
        other.eq_bytes(self.as_bytes())
    }
}

impl From<String> for Contents {
    /// Takes the string, giving back its spare capacity (a text built by appending holds up
    /// to twice its length).
    fn from(s: String) -> Self {
        Self {
            repr: Repr::Own(s.into_boxed_str()),
        }
    }
}

impl From<&str> for Contents {
    fn from(s: &str) -> Self {
        Self {
            repr: Repr::Own(Box::from(s)),
        }
    }
}

impl From<Box<str>> for Contents {
    fn from(s: Box<str>) -> Self {
        Self { repr: Repr::Own(s) }
    }
}

impl From<Arc<str>> for Contents {
    /// Shares the text: cloning the `Arc` is all it costs.
    fn from(s: Arc<str>) -> Self {
        Self {
            repr: Repr::Shared(s),
        }
    }
}

impl From<&Arc<str>> for Contents {
    fn from(s: &Arc<str>) -> Self {
        Self {
            repr: Repr::Shared(Arc::clone(s)),
        }
    }
}

impl From<Contents> for String {
    fn from(c: Contents) -> Self {
        c.into_string()
    }
}

impl Serialize for Contents {
    /// The whole text, as one string.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.repr {
            Repr::Own(s) => serializer.serialize_str(s),
            Repr::Shared(s) => serializer.serialize_str(s),
            Repr::Pieces(_) => serializer.serialize_str(&self.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same text split every possible way into up to three pieces, some shared.
    fn splits(text: &str) -> Vec<Contents> {
        let mut out = vec![Contents::from(text), Contents::from(Arc::<str>::from(text))];
        for i in 0..=text.len() {
            for j in i..=text.len() {
                out.push(Contents::concat([
                    Contents::from(&text[..i]),
                    Contents::from(Arc::<str>::from(&text[i..j])),
                    Contents::from(text[j..].to_owned()),
                ]));
            }
        }
        out
    }

    #[test]
    fn every_split_reads_as_the_joined_text() {
        for text in ["", "a", "abc\n", "#!/bin/sh\nset -eu\n"] {
            for c in splits(text) {
                assert_eq!(c.len(), text.len());
                assert_eq!(c.is_empty(), text.is_empty());
                assert_eq!(c.to_string(), text);
                assert_eq!(c.as_str(), text);
                assert_eq!(c.clone().into_string(), text);
                assert_eq!(c, *text);
                assert_eq!(c, text);
                assert_eq!(text, c);
                assert_eq!(c, text.to_owned());
                assert!(c.eq_bytes(text.as_bytes()));
                assert_eq!(c.pieces().collect::<String>(), text);
                assert!(c.pieces().all(|p| !p.is_empty()));
                assert_eq!(format!("{c:?}"), format!("{text:?}"));
                assert_eq!(format!("[{c:>30}]"), format!("[{text:>30}]"));
                assert_eq!(
                    serde_json::to_string(&c).unwrap(),
                    serde_json::to_string(text).unwrap()
                );
                let mut out = Vec::new();
                c.write_to(&mut out).unwrap();
                assert_eq!(out, text.as_bytes());
                for other in splits(text) {
                    assert_eq!(c, other);
                }
            }
        }
    }

    #[test]
    fn texts_that_differ_anywhere_are_unequal_however_they_split() {
        let (a, b) = ("abcd\n", "abce\n");
        for x in splits(a) {
            assert!(!x.eq_bytes(b.as_bytes()));
            assert_ne!(x, *b);
            assert_ne!(x, *"abcd");
            assert_ne!(x, *"abcd\n\n");
            for y in splits(b) {
                assert_ne!(x, y);
            }
        }
    }

    /// A writer taking at most `step` bytes per call and failing once with `Interrupted`.
    struct Trickle {
        out: Vec<u8>,
        step: usize,
        interrupted: bool,
    }

    impl io::Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if !self.interrupted {
                self.interrupted = true;
                return Err(io::ErrorKind::Interrupted.into());
            }
            let n = buf.len().min(self.step);
            self.out.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn write_to_finishes_partial_writes_and_refuses_a_writer_that_stops() {
        let text = "#!/bin/sh\nset -eu\necho hi\n";
        for c in splits(text) {
            for step in [1, 2, 7, 100] {
                let mut w = Trickle {
                    out: Vec::new(),
                    step,
                    interrupted: false,
                };
                c.write_to(&mut w).unwrap();
                assert_eq!(w.out, text.as_bytes());
            }
        }
        let mut full: &mut [u8] = &mut [0u8; 3];
        let err = Contents::from(text).write_to(&mut full).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::WriteZero);
    }

    #[test]
    fn a_shared_piece_is_held_once() {
        let body: Arc<str> = Arc::from("x".repeat(1000));
        let files: Vec<Contents> = (0..10)
            .map(|i| Contents::concat([Contents::from(format!("# {i}\n")), Contents::from(&body)]))
            .collect();
        assert_eq!(Arc::strong_count(&body), 11);
        assert!(files.iter().all(|f| f.len() == 1004));
    }
}
