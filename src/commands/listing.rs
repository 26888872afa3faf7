//! How listings are printed: JSON as it is, and tables whose columns fit the
//! terminal (a long cell wraps onto more lines; `--json` has every value
//! whole), with the severity column coloured on a terminal.
//!
//! The width is `$COLUMNS` when set, else the terminal's when standard
//! output is one; piped into another program a table keeps its full width.
//! Colour: never with `$NO_COLOR` set (non-empty), always with
//! `$CLICOLOR_FORCE` set (not `0`), else only on a terminal.

use std::io::{self, IsTerminal, Write};

use anstyle::{AnsiColor, Style};
use anyhow::Context as _;

use crate::scope::Severity;

/// Prints a value as pretty JSON on standard output.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    // Pretty JSON has a line per field: unbuffered, each would be a write.
    let mut out = io::BufWriter::new(io::stdout().lock());
    serde_json::to_writer_pretty(&mut out, value).context("writing JSON")?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}

/// An optional value for a table cell.
pub fn cell<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// Prints rows as a table with aligned columns on standard output.
pub fn print_table<R: AsRef<[S]>, S: AsRef<str>>(
    headers: &[&str],
    rows: &[R],
) -> anyhow::Result<()> {
    print_table_painted(headers, rows, None)
}

/// Prints rows as a table whose column `severity` holds severities
/// (`low`, `medium`, `high`), coloured when colour is on.
pub fn print_table_with_severity(
    headers: &[&str],
    rows: &[Vec<String>],
    severity: usize,
) -> anyhow::Result<()> {
    print_table_painted(headers, rows, Some(severity))
}

fn print_table_painted<R: AsRef<[S]>, S: AsRef<str>>(
    headers: &[&str],
    rows: &[R],
    severity_column: Option<usize>,
) -> anyhow::Result<()> {
    let paint = colour_enabled(
        io::stdout().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
        std::env::var_os("CLICOLOR_FORCE").as_deref(),
    );
    let style = |column: usize, text: &str| match severity_column {
        Some(c) if c == column && paint => severity_style(text),
        _ => Style::new(),
    };
    let widths = column_widths(headers, rows, table_width());
    // Stdout is line-buffered: a table of 10,000 sources would be 10,000
    // writes; a scope listing is 250,000 lines.
    let mut out = io::BufWriter::with_capacity(64 << 10, io::stdout().lock());
    let mut text = String::new();
    write_row(&mut out, &mut text, headers, &widths, &|_, _| Style::new())?;
    for row in rows {
        write_row(&mut out, &mut text, row.as_ref(), &widths, &style)?;
    }
    out.flush()?;
    Ok(())
}

/// Writes the lines of one row, `text` their reused buffer. A row whose
/// cells all fit their columns as they are is written without wrapping.
fn write_row<S: AsRef<str>>(
    out: &mut impl Write,
    text: &mut String,
    row: &[S],
    widths: &[usize],
    style: &dyn Fn(usize, &str) -> Style,
) -> io::Result<()> {
    let cells = || row.iter().map(AsRef::as_ref);
    if cells()
        .zip(widths)
        .all(|(cell, width)| fits_unwrapped(cell, *width))
    {
        push_line(text, cells(), row, widths, style);
        return writeln!(out, "{}", text.trim_end());
    }
    let row: Vec<&str> = cells().collect();
    for line in layout_row(&row, widths) {
        push_line(text, line.iter().map(String::as_str), &row, widths, style);
        writeln!(out, "{}", text.trim_end())?;
    }
    Ok(())
}

/// Whether [`wrap`] leaves `cell` whole in a column `width` wide: one line
/// that fits, and no leading space for it to drop.
fn fits_unwrapped(cell: &str, width: usize) -> bool {
    !cell.contains(['\n', '\r']) && !cell.starts_with(' ') && cell.chars().count() <= width.max(1)
}

/// One line of a row into `text`: its `parts` (a line of each cell),
/// styled by the whole cell, padded to the column widths.
fn push_line<'p, S: AsRef<str>>(
    text: &mut String,
    parts: impl ExactSizeIterator<Item = &'p str>,
    row: &[S],
    widths: &[usize],
    style: &dyn Fn(usize, &str) -> Style,
) {
    use std::fmt::Write as _;
    text.clear();
    let count = parts.len();
    for (column, (part, width)) in parts.zip(widths).enumerate() {
        let style = style(column, row[column].as_ref());
        if style == Style::new() {
            text.push_str(part);
        } else {
            // Writing to a String cannot fail.
            let _ = write!(text, "{}{part}{}", style.render(), style.render_reset());
        }
        if column + 1 != count {
            let pad = width.saturating_sub(part.chars().count()) + 2;
            text.extend(std::iter::repeat_n(' ', pad));
        }
    }
}

/// Whether to colour: `NO_COLOR` (non-empty) wins, then `CLICOLOR_FORCE`
/// (not `0`), then whether standard output is a terminal.
fn colour_enabled(
    terminal: bool,
    no_color: Option<&std::ffi::OsStr>,
    force: Option<&std::ffi::OsStr>,
) -> bool {
    if no_color.is_some_and(|v| !v.is_empty()) {
        return false;
    }
    if force.is_some_and(|v| !v.is_empty() && v != "0") {
        return true;
    }
    terminal
}

/// The colour of a severity: `high` bold red, `medium` yellow, `low` plain.
fn severity_style(text: &str) -> Style {
    match Severity::parse(text) {
        Ok(Severity::High) => AnsiColor::Red.on_default().bold(),
        Ok(Severity::Medium) => AnsiColor::Yellow.on_default(),
        _ => Style::new(),
    }
}

/// The width tables must fit: `$COLUMNS`, else the terminal's; `None`
/// (no limit) when standard output is not a terminal and `$COLUMNS` is unset.
fn table_width() -> Option<usize> {
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|c| *c > 0);
    columns.or_else(|| {
        io::stdout()
            .is_terminal()
            .then(|| terminal_size::terminal_size().map(|(w, _)| usize::from(w.0)))
            .flatten()
    })
}

/// A column whose cells are at most this long (ids, times, states, source
/// ids) is kept whole while the long ones can still have [`LONG_FLOOR`].
const SHORT_COLUMN: usize = 30;

/// The least a long column (a summary, a service name, a URL) is given
/// before short columns are wrapped too: two or three words a line.
const LONG_FLOOR: usize = 16;

/// The narrowest any column is made: its header, and at least this many
/// characters (a column of shorter values stays as wide as they are).
const MIN_COLUMN: usize = 8;

/// Each column's width: the widest cell, or when the table is wider than
/// `limit`, less. Short columns keep their width and the long ones share
/// what is left, each as much as it needs up to an even share; when that
/// leaves a long column less than [`LONG_FLOOR`], every column shares the
/// room so, never below its header (or [`MIN_COLUMN`]), and a table of
/// many columns may then still be wider than a very narrow terminal.
fn column_widths<R: AsRef<[S]>, S: AsRef<str>>(
    headers: &[&str],
    rows: &[R],
    limit: Option<usize>,
) -> Vec<usize> {
    let mut natural: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in natural.iter_mut().zip(row.as_ref()) {
            *width = (*width).max(longest_line(cell.as_ref()));
        }
    }
    let gaps = 2 * natural.len().saturating_sub(1);
    let Some(limit) = limit else {
        return natural;
    };
    if natural.iter().sum::<usize>() + gaps <= limit {
        return natural;
    }
    let room = limit.saturating_sub(gaps);
    let minimum = |i: usize| natural[i].min(headers[i].chars().count().max(MIN_COLUMN));
    let (short, long): (Vec<usize>, Vec<usize>) =
        (0..natural.len()).partition(|&i| natural[i] <= SHORT_COLUMN);
    let short_room: usize = short.iter().map(|&i| natural[i]).sum();
    let mut widths = natural.clone();
    if short_room + LONG_FLOOR * long.len() <= room {
        share(&natural, &long, room - short_room, &minimum, &mut widths);
    } else {
        let all: Vec<usize> = (0..natural.len()).collect();
        share(&natural, &all, room, &minimum, &mut widths);
    }
    widths
}

/// Shares `room` among `columns`: the narrowest first, each its natural
/// width up to an even share of what is left, never below its minimum.
fn share(
    natural: &[usize],
    columns: &[usize],
    mut room: usize,
    minimum: &dyn Fn(usize) -> usize,
    widths: &mut [usize],
) {
    let mut order = columns.to_vec();
    order.sort_by_key(|&i| natural[i]);
    for (done, &i) in order.iter().enumerate() {
        let even = room / (order.len() - done);
        widths[i] = natural[i].min(even).max(minimum(i));
        room = room.saturating_sub(widths[i]);
    }
}

fn longest_line(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

/// The lines a row takes: each cell wrapped to its column, the shorter
/// ones padded with empty lines.
fn layout_row(row: &[&str], widths: &[usize]) -> Vec<Vec<String>> {
    let wrapped: Vec<Vec<String>> = row
        .iter()
        .zip(widths)
        .map(|(cell, width)| wrap(cell, *width))
        .collect();
    let height = wrapped.iter().map(Vec::len).max().unwrap_or(1);
    (0..height)
        .map(|line| {
            wrapped
                .iter()
                .map(|lines| lines.get(line).cloned().unwrap_or_default())
                .collect()
        })
        .collect()
}

/// `text` in lines of at most `width` characters, broken at spaces where
/// it can be, else inside a word: after its last `-`, `/`, `:`, `.`, `_`
/// or `,` that fits in the second half of the line (a time, a URL, an id
/// breaks where it reads), or at the width.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    for paragraph in text.lines() {
        let mut line = String::new();
        for word in paragraph.split(' ') {
            let mut word = word;
            loop {
                let used = line.chars().count();
                let needed = word.chars().count() + usize::from(used > 0);
                if used + needed <= width {
                    if used > 0 {
                        line.push(' ');
                    }
                    line.push_str(word);
                    break;
                }
                if used > 0 {
                    lines.push(std::mem::take(&mut line));
                    continue;
                }
                // A word longer than the column: split it.
                let cut = word
                    .char_indices()
                    .nth(width)
                    .map_or(word.len(), |(at, _)| at);
                let cut = word[..cut]
                    .char_indices()
                    .rev()
                    .find(|(at, c)| {
                        *at >= width / 2 && matches!(c, '-' | '/' | ':' | '.' | '_' | ',')
                    })
                    .map_or(cut, |(at, c)| at + c.len_utf8());
                lines.push(word[..cut].to_string());
                word = &word[cut..];
                if word.is_empty() {
                    break;
                }
            }
        }
        lines.push(line);
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn a_table_that_fits_keeps_its_widths() {
        let rows = vec![vec!["a".to_string(), "longer text".to_string()]];
        assert_eq!(column_widths(&["ID", "TEXT"], &rows, Some(80)), [2, 11]);
        assert_eq!(column_widths(&["ID", "TEXT"], &rows, None), [2, 11]);
    }

    #[test]
    fn short_columns_stay_whole_while_the_long_ones_can_wrap() {
        let time = "2022-04-19T00:00:00.000Z".to_string();
        let rows = vec![vec!["64".to_string(), time, "x".repeat(200)]];
        let widths = column_widths(&["ID", "DETECTED", "SUMMARY"], &rows, Some(60));
        assert_eq!(widths, [2, 24, 30]);
        // Too narrow for that: every column shares, none below its header.
        let widths = column_widths(&["ID", "DETECTED", "SUMMARY"], &rows, Some(40));
        assert_eq!(widths, [2, 17, 17]);
    }

    #[test]
    fn wide_columns_share_the_room_and_narrow_ones_keep_theirs() {
        let long = "x".repeat(200);
        let rows = vec![vec!["12".to_string(), long.clone(), long]];
        let widths = column_widths(&["ID", "A", "B"], &rows, Some(80));
        assert_eq!(widths[0], 2);
        assert_eq!(widths.iter().sum::<usize>() + 4, 80);
        assert_eq!(widths[1], widths[2]);
    }

    #[test]
    fn cells_wrap_at_spaces_and_long_words_are_split() {
        assert_eq!(
            wrap("Azure Bot Service in scope", 10),
            ["Azure Bot", "Service in", "scope"]
        );
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(
            wrap("2022-04-19T00:00:00.000Z", 14),
            ["2022-04-19T00:", "00:00.000Z"]
        );
        assert_eq!(
            wrap("https://learn.microsoft.com/en-us/compliance", 20),
            ["https://learn.", "microsoft.com/en-us/", "compliance"]
        );
        assert_eq!(wrap("", 4), [""]);
        assert_eq!(wrap("é".repeat(5).as_str(), 2), ["éé", "éé", "é"]);
    }

    #[test]
    fn a_cell_written_unwrapped_is_what_wrapping_it_gives() {
        let cells = [
            "",
            "a",
            "Azure Bot Service",
            "two  spaces",
            "trailing ",
            " leading",
            "  ",
            "line\nbreak",
            "carriage\rreturn",
            "éé",
            "exactly10!",
            "eleven-long",
        ];
        for cell in cells {
            for width in 0..14 {
                if fits_unwrapped(cell, width) {
                    assert_eq!(wrap(cell, width), [cell], "{cell:?} in {width}");
                }
            }
        }
        // Those wrap would change are laid out as before.
        assert!(!fits_unwrapped(" leading", 20));
        assert!(!fits_unwrapped("line\nbreak", 20));
        assert!(!fits_unwrapped("eleven-long", 10));
        assert!(fits_unwrapped("eleven-long", 11));
    }

    #[test]
    fn no_color_wins_then_force_then_the_terminal() {
        let set = |v: &'static str| Some(OsStr::new(v));
        assert!(colour_enabled(true, None, None));
        assert!(!colour_enabled(false, None, None));
        assert!(!colour_enabled(true, set("1"), None));
        assert!(
            colour_enabled(true, set(""), None),
            "an empty NO_COLOR is unset"
        );
        assert!(colour_enabled(false, None, set("1")));
        assert!(!colour_enabled(false, None, set("0")));
        assert!(!colour_enabled(false, set("1"), set("1")));
    }

    #[test]
    fn severities_have_their_colours() {
        assert_eq!(severity_style("high"), AnsiColor::Red.on_default().bold());
        assert_eq!(severity_style("medium"), AnsiColor::Yellow.on_default());
        assert_eq!(severity_style("low"), Style::new());
        assert_eq!(severity_style("-"), Style::new());
    }
}
