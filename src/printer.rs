//! All terminal output: data to stdout, messages and progress to stderr, colour only on
//! a terminal and never with `NO_COLOR`.
use std::io::{IsTerminal, Write};
use std::sync::OnceLock;

/// The one printer of the process.
pub struct Printer {
    color: bool,
    progress: bool,
    quiet: bool,
}

static PRINTER: OnceLock<Printer> = OnceLock::new();

/// The process-wide printer.
pub fn printer() -> &'static Printer {
    PRINTER.get_or_init(|| {
        let tty = std::io::stderr().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Printer {
            color: tty && !no_color,
            progress: tty,
            quiet: false,
        }
    })
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
    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    /// Data for stdout (written as given; a newline is added when missing).
    pub fn data(&self, s: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(s.as_bytes());
        if !s.is_empty() && !s.ends_with('\n') {
            let _ = out.write_all(b"\n");
        }
        let _ = out.flush();
    }

    /// A progress or status message on stderr.
    pub fn info(&self, s: &str) {
        if !self.quiet {
            eprintln!("{s}");
        }
    }

    /// A success message on stderr.
    pub fn success(&self, s: &str) {
        eprintln!("{}", self.paint("32", s));
    }

    /// A warning on stderr.
    pub fn warn(&self, s: &str) {
        eprintln!("{} {s}", self.paint("33", "warning:"));
    }

    /// An error with its causes and hints, on stderr.
    pub fn error(&self, err: &anyhow::Error) {
        let (top, causes, hints) = crate::error::describe(err);
        eprintln!("{} {top}", self.paint("31;1", "error:"));
        for c in causes {
            eprintln!("  caused by: {c}");
        }
        for h in hints {
            eprintln!("{} {h}", self.paint("36", "hint:"));
        }
    }

    /// A table with a header row, aligned on columns, to stdout.
    pub fn table(&self, headers: &[&str], rows: &[Vec<String>]) {
        self.data(&format_table(headers, rows));
    }

    /// A progress bar for a long operation; hidden unless stderr is a terminal.
    pub fn progress(&self, msg: &str) -> indicatif::ProgressBar {
        if !self.progress {
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

/// Columns aligned with two spaces between them; no trailing spaces.
pub fn format_table(headers: &[&str], rows: &[Vec<String>]) -> String {
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
