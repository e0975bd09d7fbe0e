//! All terminal output: data to stdout, messages and progress to stderr, colour only on
//! a terminal and never with `NO_COLOR`; or, for a unit test, both into buffers
//! ([`Printer::capture`]).
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex};

/// Where the output goes. `cli::main` makes one per command and operations get it
/// through `ops::Context`; cores print nothing (they return what the user should
/// know), and there is no process-wide printer.
pub struct Printer {
    color: bool,
    progress: bool,
    quiet: bool,
    sink: Sink,
}

enum Sink {
    /// The process's stdout and stderr.
    Terminal,
    /// Buffers a test reads back ([`Captured`]).
    Buffers(Arc<Mutex<Buffers>>),
}

#[derive(Default)]
struct Buffers {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// What a capturing printer was given: stdout and stderr as written.
#[derive(Clone)]
pub struct Captured(Arc<Mutex<Buffers>>);

impl Captured {
    /// Everything written to stdout so far.
    pub fn stdout(&self) -> String {
        let b = self.0.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&b.stdout).into_owned()
    }

    /// Everything written to stderr so far.
    pub fn stderr(&self) -> String {
        let b = self.0.lock().unwrap_or_else(|e| e.into_inner());
        String::from_utf8_lossy(&b.stderr).into_owned()
    }
}

/// Output formats for listings (`-o`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    #[default]
    Table,
    Json,
    Yaml,
}

impl Printer {
    /// A printer for the terminal: colour and progress bars only when stderr is one.
    pub fn terminal() -> Printer {
        let tty = std::io::stderr().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Printer {
            color: tty && !no_color,
            progress: tty,
            quiet: false,
            sink: Sink::Terminal,
        }
    }

    /// A printer that writes into buffers (no colour, no progress bars), and the
    /// handle that reads them: an operation run in a unit test with this printer
    /// leaves its stdout and stderr there.
    pub fn capture() -> (Printer, Captured) {
        let buffers = Arc::new(Mutex::new(Buffers::default()));
        (
            Printer {
                color: false,
                progress: false,
                quiet: false,
                sink: Sink::Buffers(buffers.clone()),
            },
            Captured(buffers),
        )
    }

    fn write_out(&self, bytes: &[u8]) {
        match &self.sink {
            Sink::Terminal => {
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(bytes);
                let _ = out.flush();
            }
            Sink::Buffers(b) => b
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .stdout
                .extend_from_slice(bytes),
        }
    }

    /// One line on stderr.
    fn line(&self, s: &str) {
        self.text(&format!("{s}\n"));
    }

    /// Text for stderr, written as given (lines that end in their own newline, such
    /// as `lint`'s findings before `publish` stops).
    pub fn text(&self, s: &str) {
        match &self.sink {
            Sink::Terminal => eprint!("{s}"),
            Sink::Buffers(b) => b
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .stderr
                .extend_from_slice(s.as_bytes()),
        }
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    /// Data for stdout (written as given; a newline is added when missing).
    pub fn data(&self, s: &str) {
        if !s.is_empty() && !s.ends_with('\n') {
            self.write_out(format!("{s}\n").as_bytes());
        } else {
            self.write_out(s.as_bytes());
        }
    }

    /// A progress or status message on stderr.
    pub fn info(&self, s: &str) {
        if !self.quiet {
            self.line(s);
        }
    }

    /// A success message on stderr.
    pub fn success(&self, s: &str) {
        self.line(&self.paint("32", s));
    }

    /// A warning on stderr.
    pub fn warn(&self, s: &str) {
        self.line(&format!("{} {s}", self.paint("33", "warning:")));
    }

    /// An error with its causes and hints, on stderr.
    pub fn error(&self, err: &anyhow::Error) {
        let (top, causes, hints) = crate::error::describe(err);
        self.line(&format!("{} {top}", self.paint("31;1", "error:")));
        for c in causes {
            self.line(&format!("  caused by: {c}"));
        }
        for h in hints {
            self.line(&format!("{} {h}", self.paint("36", "hint:")));
        }
    }

    /// `value` as JSON or YAML on stdout when `format` asks for one (true), or
    /// nothing for a table, which the caller prints (false).
    pub fn structured<T: serde::Serialize>(
        &self,
        format: Format,
        value: &T,
    ) -> anyhow::Result<bool> {
        match format {
            Format::Json => self.data(&serde_json::to_string_pretty(value)?),
            Format::Yaml => self.data(&crate::yaml::to_string(value)?),
            Format::Table => return Ok(false),
        }
        Ok(true)
    }

    /// A table with a header row, aligned on columns, to stdout.
    pub fn table(&self, headers: &[&str], rows: &[Vec<String>]) {
        self.data(&format_table(headers, rows));
    }

    /// A progress bar for a long operation; hidden unless stderr is a terminal.
    pub fn progress(&self, msg: &str) -> indicatif::ProgressBar {
        Self::progress_bar(self.progress, msg)
    }

    /// Whether progress bars show (stderr is a terminal).
    pub fn shows_progress(&self) -> bool {
        self.progress
    }

    /// A progress bar for `msg`, hidden unless `shown`: for cores that take a way to
    /// make bars instead of the printer ([`crate::git::ProgressBars`]).
    pub fn progress_bar(shown: bool, msg: &str) -> indicatif::ProgressBar {
        if !shown {
            return indicatif::ProgressBar::hidden();
        }
        let pb = indicatif::ProgressBar::new(0);
        let style = indicatif::ProgressStyle::with_template(
            "{spinner} {msg} [{bar:30}] {pos}/{len} objects",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> ");
        pb.set_style(style);
        pb.set_message(msg.to_string());
        pb
    }
}

/// Text from upstream (descriptions, maintainers, changelogs, keywords) made safe to
/// show on a terminal: control characters (escape sequences, carriage returns, bell)
/// and the Unicode controls that reorder or hide text (bidirectional overrides and
/// isolates, zero-width characters) are shown as `\u{..}` escapes. With
/// `keep_lines`, line breaks and tabs stay.
pub fn printable(s: &str, keep_lines: bool) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        (c.is_control() && !(keep_lines && (c == '\n' || c == '\t')))
            || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
    };
    if !s.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Columns aligned with two spaces between them; no trailing spaces.
pub fn format_table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| printable(c, false).into_owned()).collect())
        .collect();
    let rows = &rows;
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            l.push_str(c);
            if i + 1 < cells.len() {
                let pad = widths[i].saturating_sub(c.chars().count()) + 2;
                l.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(headers.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_text_cannot_drive_the_terminal_or_break_a_row() {
        assert_eq!(printable("plain text", false), "plain text");
        assert_eq!(
            printable("a\x1b[2Jb\rc\nd\u{202e}e", false),
            "a\\u{1b}[2Jb\\u{d}c\\u{a}d\\u{202e}e"
        );
        assert_eq!(printable("line\n\tnext\x07", true), "line\n\tnext\\u{7}");
        let t = format_table(&["A", "B"], &[vec!["x\ny".into(), "z".into()]]);
        assert_eq!(t, "A        B\nx\\u{a}y  z\n");
    }

    #[test]
    fn a_capturing_printer_keeps_stdout_and_stderr_apart_without_colour() {
        let (p, out) = Printer::capture();
        p.data("a: 1");
        p.info("working");
        p.warn("careful");
        p.success("done");
        p.text("raw\n");
        p.error(&crate::error::user("bad input", "try again"));
        assert!(p.structured(Format::Json, &vec![1]).expect("json"));
        assert!(!p.structured(Format::Table, &vec![1]).expect("table"));
        assert_eq!(out.stdout(), "a: 1\n[\n  1\n]\n");
        assert_eq!(
            out.stderr(),
            "working\nwarning: careful\ndone\nraw\nerror: bad input\nhint: try again\n"
        );
    }

    #[test]
    fn table_aligns_columns() {
        let t = format_table(
            &["NAME", "VERSION"],
            &[
                vec!["observability".into(), "1.4.0".into()],
                vec!["web".into(), "".into()],
            ],
        );
        assert_eq!(t, "NAME           VERSION\nobservability  1.4.0\nweb\n");
    }
}
