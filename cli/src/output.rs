//! Terminal output: when to colour, and the few styles the CLI uses.
//!
//! Results go to standard output, progress and errors to standard error; each stream decides
//! on its own whether it is a terminal. Colour is plain ANSI, applied line by line to text the
//! core already formatted, so piped output is byte-for-byte the core's text.

use std::io::{IsTerminal, Write as _};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::args::ColorChoice;

/// Where colour decisions come from: the flag and the environment.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// Colour standard output.
    pub stdout: Painter,
    /// Colour standard error.
    pub stderr: Painter,
    /// `--quiet`: only errors and results reach the terminal.
    pub quiet: bool,
}

impl Output {
    /// Decides colour for both streams from `--color`, `NO_COLOR` and whether each is a terminal.
    #[must_use]
    pub fn new(choice: ColorChoice) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let decide = |is_tty: bool| match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => is_tty && !no_color,
        };
        let stdout = decide(std::io::stdout().is_terminal());
        let stderr = decide(std::io::stderr().is_terminal());
        STDOUT_COLOUR.store(stdout, Ordering::Relaxed);
        STDERR_COLOUR.store(stderr, Ordering::Relaxed);
        Self {
            stdout: Painter { enabled: stdout },
            stderr: Painter { enabled: stderr },
            quiet: false,
        }
    }
}

/// Whether standard output (error) is coloured: only then do [`emit`] ([`emit_err`]) let
/// this module's own colour codes through; otherwise every escape character is shown escaped.
static STDOUT_COLOUR: AtomicBool = AtomicBool::new(false);
static STDERR_COLOUR: AtomicBool = AtomicBool::new(false);

/// A path or file name for a message: every non-printing character (a newline, an escape
/// character) shown as `\n`, `\u{1b}`, so a file name can neither start a line of its own nor
/// colour the terminal, whatever `--color` says.
#[must_use]
pub fn shown(path: &std::path::Path) -> String {
    meshspec::printable::escape(&path.display().to_string()).into_owned()
}

impl Output {
    /// The text of diagnostics for the terminal: with `--quiet` only the errors (and no
    /// summary when there are none).
    #[must_use]
    pub fn diagnostics_text(
        &self,
        ds: &meshspec::Diagnostics,
        source: Option<&meshspec::Source<'_>>,
    ) -> String {
        if !self.quiet {
            return ds.render(source);
        }
        let errors = meshspec::Diagnostics::from_vec(ds.errors().cloned().collect());
        if errors.is_empty() {
            String::new()
        } else {
            errors.render(source)
        }
    }
}

/// Writes `text` to standard output. A closed pipe (`| head`) is not worth a panic or a message.
pub fn emit(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(printable(text, STDOUT_COLOUR.load(Ordering::Relaxed)).as_bytes());
    let _ = out.flush();
}

/// Writes `text` to standard error, ignoring failures.
pub fn emit_err(text: &str) {
    let _ = std::io::stderr()
        .lock()
        .write_all(printable(text, STDERR_COLOUR.load(Ordering::Relaxed)).as_bytes());
}

/// `text` with every non-printing character escaped (`\u{1b}`), except line feeds, tabs and,
/// when `colour` is on, the colour codes this module writes itself. Everything the CLI prints
/// passes through here, so a spec value, a file name or a path can never drive the terminal;
/// the line feeds and colour codes a file name could hold are escaped where the name is put
/// in a message ([`shown`], and the core's diagnostics).
#[must_use]
pub fn printable(text: &str, colour: bool) -> std::borrow::Cow<'_, str> {
    use meshspec::printable::{escape, is_non_printing};
    let unsafe_char = |c: char| c != '\n' && c != '\t' && is_non_printing(c);
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '\x1b'
            && colour
            && let Some(style) = STYLES.iter().find(|s| rest.starts_with(**s))
        {
            out.push_str(style);
            rest = &rest[style.len()..];
            continue;
        }
        let len = c.len_utf8();
        if unsafe_char(c) {
            out.push_str(&escape(&rest[..len]));
        } else {
            out.push(c);
        }
        rest = &rest[len..];
    }
    std::borrow::Cow::Owned(out)
}

/// Applies ANSI styles when enabled, and returns text unchanged otherwise.
#[derive(Debug, Clone, Copy)]
pub struct Painter {
    /// Whether to emit escape codes.
    pub enabled: bool,
}

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const RED: &str = "\x1b[1;31m";
const YELLOW: &str = "\x1b[1;33m";
const BLUE: &str = "\x1b[1;34m";
const CYAN: &str = "\x1b[1;36m";
const GREEN: &str = "\x1b[32m";
const DIM_RED: &str = "\x1b[31m";
/// Every escape sequence the CLI writes on purpose.
const STYLES: [&str; 8] = [RESET, BOLD, RED, YELLOW, BLUE, CYAN, GREEN, DIM_RED];

impl Painter {
    fn paint(self, style: &str, text: &str) -> String {
        if self.enabled {
            format!("{style}{text}{RESET}")
        } else {
            text.to_owned()
        }
    }

    /// Bold text.
    #[must_use]
    pub fn bold(self, text: &str) -> String {
        self.paint(BOLD, text)
    }

    /// The `error` label.
    #[must_use]
    pub fn error(self, text: &str) -> String {
        self.paint(RED, text)
    }

    /// The `warning` label.
    #[must_use]
    pub fn warning(self, text: &str) -> String {
        self.paint(YELLOW, text)
    }

    /// A `help`/`note` label.
    #[must_use]
    pub fn note(self, text: &str) -> String {
        self.paint(CYAN, text)
    }

    /// Prefixes `error: ` (coloured) to a message, for errors printed on standard error.
    #[must_use]
    pub fn error_line(self, message: &str) -> String {
        format!("{}: {message}", self.error("error"))
    }

    /// Colours text formatted by `Diagnostics::render`: headers by severity, gutters and help.
    #[must_use]
    pub fn diagnostics(self, text: &str) -> String {
        if !self.enabled {
            return text.to_owned();
        }
        let mut out = String::with_capacity(text.len() + 64);
        for line in text.split_inclusive('\n') {
            let (body, nl) = match line.strip_suffix('\n') {
                Some(b) => (b, "\n"),
                None => (line, ""),
            };
            out.push_str(&self.diagnostic_line(body));
            out.push_str(nl);
        }
        out
    }

    fn diagnostic_line(self, line: &str) -> String {
        for (label, style) in [("error[", RED), ("warning[", YELLOW), ("info[", BLUE)] {
            if line.starts_with(label)
                && let Some(end) = line.find("]:")
            {
                let (head, rest) = line.split_at(end + 2);
                return format!("{}{}", self.paint(style, head), self.bold(rest));
            }
        }
        if let Some(rest) = line.strip_prefix("  = help:") {
            return format!("  = {}{rest}", self.note("help:"));
        }
        if let Some(rest) = line.strip_prefix("  -->") {
            return format!("  {}{rest}", self.paint(BLUE, "-->"));
        }
        if let Some(bar) = line.find(" |")
            && line[..bar].chars().all(|c| c.is_ascii_digit() || c == ' ')
        {
            let (gutter, rest) = line.split_at(bar + 2);
            let rest_styled = if rest.trim() == "^" {
                self.paint(RED, rest)
            } else {
                rest.to_owned()
            };
            return format!("{}{rest_styled}", self.paint(BLUE, gutter));
        }
        line.to_owned()
    }

    /// Colours a unified diff: additions green, removals red, headers bold.
    #[must_use]
    pub fn diff(self, text: &str) -> String {
        if !self.enabled {
            return text.to_owned();
        }
        let mut out = String::with_capacity(text.len() + 64);
        for line in text.split_inclusive('\n') {
            let styled = if line.starts_with("+++") || line.starts_with("---") {
                self.bold(line.trim_end_matches('\n'))
            } else if line.starts_with('+') {
                self.paint(GREEN, line.trim_end_matches('\n'))
            } else if line.starts_with('-') {
                self.paint(DIM_RED, line.trim_end_matches('\n'))
            } else if line.starts_with("@@") {
                self.paint(CYAN, line.trim_end_matches('\n'))
            } else if line.starts_with("diff ") || line.contains(" mode ") {
                self.bold(line.trim_end_matches('\n'))
            } else {
                line.trim_end_matches('\n').to_owned()
            };
            out.push_str(&styled);
            if line.ends_with('\n') {
                out.push('\n');
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_painter_is_identity() {
        let p = Painter { enabled: false };
        let text = "error[MS101]: overlap\n  --> a.yaml:3:1\n";
        assert_eq!(p.diagnostics(text), text);
        assert_eq!(p.diff("+a\n-b\n"), "+a\n-b\n");
    }

    #[test]
    fn printed_text_escapes_control_characters_but_keeps_own_colours() {
        let p = Painter { enabled: true };
        let text = format!(
            "{} name \x1b]0;pwned\x07 \x1b[2J\r\u{202e}\n\tx",
            p.error("error")
        );
        let shown = printable(&text, true);
        assert!(
            shown.starts_with("\x1b[1;31merror\x1b[0m name \\u{1b}]0;pwned\\u{7}"),
            "{shown}"
        );
        assert!(shown.ends_with("\\u{1b}[2J\\r\\u{202e}\n\tx"), "{shown}");
        // without colour, not even this module's codes pass
        let plain = printable("a\x1b[32mfake\x1b[0m", false);
        assert_eq!(plain, "a\\u{1b}[32mfake\\u{1b}[0m");
    }

    #[test]
    fn enabled_painter_colours_headers() {
        let p = Painter { enabled: true };
        let out = p.diagnostics("error[MS101]: overlap\n");
        assert!(out.starts_with("\x1b[1;31merror[MS101]:"));
        assert!(out.ends_with('\n'));
    }
}
