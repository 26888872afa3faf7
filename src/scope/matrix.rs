//! The `matrix` extractor: tables with services as rows and certifications
//! as columns, a check mark where a service is in scope.
//!
//! For each table read:
//! - the header is the leading header rows (the first row if none is
//!   marked as a header; at most [`MAX_HEADER_ROWS`]), full-width category
//!   rows left out; a column's name reads down them ("FedRAMP" spanning
//!   "Moderate" and "High" gives "FedRAMP Moderate"). The first column
//!   names the services, the others are certifications, cleaned and
//!   aliased; columns with an empty header, a header that is itself a mark,
//!   or a header matching `ignore_columns` (e.g. "^Planned") are not scope;
//!   a header naming two certifications with a spaced slash ("FR High /
//!   DoD IL2") is both ("ISO/IEC 27001", unspaced, is one);
//! - with `prefix_from_heading`, a column's certification is
//!   "<heading> / <column>" (the heading aliased on its own first, then the
//!   whole name), e.g. "Azure Government / FedRAMP High"; which heading is
//!   said at [`put_matrices`];
//! - body rows equal to a header row (repeated every ~15 rows) are skipped;
//!   the service cell is cleaned (markup, footnote markers, "(formerly X)"
//!   notes, which are kept as former names, and notes to the reader such as
//!   "(see …)", kept as notes) and aliased;
//! - a cell is in scope when, footnote markers removed, it matches `mark`.
//!
//! A legend ([`is_legend_table`]: a small table that pairs symbols with
//! their meaning, "✓ | In scope") is no matrix.
//!
//! Which tables: the `table = n` one, else every table under `section` (or
//! every table). A table with no mark at all is not a scope matrix and is
//! passed over, unless it was picked with `table = n` or a CSS selector the
//! page's extractor applied, or it has certification columns the page's
//! read matrices have (a matrix whose marks can no longer be read). The
//! result is Broken when no table is read, when a picked table or a matrix
//! by its header has no mark, or when a table has marks but its header no
//! longer has a certification column. Linear in the number of cells; the
//! regexes are compiled once, in [`ScopeSpec`].

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::LazyLock;

use regex::Regex;

use crate::extract::{Block, Document, TableRow};

use super::names::{alias, clean_name, mark_text, strip_markup};
use super::{
    Heading, HeadingPrefix, HeadingTrail, ScopeSet, ScopeSetBuilder, ScopeSettings, ScopeSpec,
    TableChoice, is_full_width,
};

/// Header rows read at most. Real matrices have one, or two when a group
/// heads several columns ("FedRAMP" over "Moderate" and "High"); a column's
/// name is read down the header rows, so thousands of them would make names
/// of thousands of words and compare every body row with each. Leading
/// header rows past these are read as body rows.
pub const MAX_HEADER_ROWS: usize = 4;

/// Body rows a legend may have: a legend explains a few symbols.
const MAX_LEGEND_ROWS: usize = 10;

/// A legend's own words, as a whole cell: "Symbol", "Icon", "Legend",
/// "Key", "Meaning".
static LEGEND_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    // A constant pattern, checked by the tests below: compiling it cannot fail.
    #[allow(clippy::expect_used)]
    Regex::new(r"(?i)^(?:symbols?|icons?|marks?|legend|key|meanings?|descriptions?|definitions?)$")
        .expect("constant regex")
});

/// What a legend says a mark means: "In scope", "Included", "Not in scope".
static STATUS_PHRASE: LazyLock<Regex> = LazyLock::new(|| {
    // A constant pattern, checked by the tests below: compiling it cannot fail.
    #[allow(clippy::expect_used)]
    Regex::new(
        r"(?i)\b(?:in[- ]scope|out of scope|(?:not )?included|covered|planned|achieved|authori[sz]ed|indicates?|means)\b",
    )
    .expect("constant regex")
});

/// A heading that names no table: "Terminology used", "Terminology/Symbols
/// used", "Legend", "Key", "Notes", "Symbols", "Glossary", "Abbreviations".
static GENERIC_HEADING: LazyLock<Regex> = LazyLock::new(|| {
    // A constant pattern, checked by the tests below: compiling it cannot fail.
    #[allow(clippy::expect_used)]
    Regex::new(
        r"(?i)^(?:(?:terminology|symbols?|legend|glossary|abbreviations|acronyms|definitions)\b.*|(?:key|notes?)(?:\s+(?:to|on)\b.*)?)$",
    )
    .expect("constant regex")
});

/// Why a table gave no entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NotRead {
    /// No cell matched the mark: not a scope matrix (or marks changed).
    /// `columns`: the certifications its header names, `services`: whether
    /// it has rows naming services.
    NoMarks {
        columns: Vec<String>,
        services: bool,
    },
    /// A legend: symbols and their meaning.
    Legend,
    /// Marks, but no header column is a certification any more.
    NoCertificationColumn(String),
}

/// The header rows of a matrix, and the index of its first body row. The
/// header is the leading rows marked as headers (the first row if none is;
/// at most [`MAX_HEADER_ROWS`]), less full-width rows: a category such as
/// "Compute" heading a group of services is not a header (if every leading
/// row is one, the first row after them that is not is the header).
pub(crate) fn header_rows(rows: &[TableRow]) -> (Vec<&TableRow>, usize) {
    let lead = rows
        .iter()
        .take_while(|r| r.header)
        .count()
        .clamp(1, MAX_HEADER_ROWS);
    let header: Vec<&TableRow> = rows
        .iter()
        .take(lead)
        .filter(|r| !is_full_width(r))
        .collect();
    if !header.is_empty() {
        return (header, lead.min(rows.len()));
    }
    match rows.iter().position(|r| !is_full_width(r)) {
        Some(at) => (vec![&rows[at]], at + 1),
        None => (Vec::new(), rows.len()),
    }
}

/// Each column's name, read down the header rows: a group spanning several
/// columns ("FedRAMP" over "Moderate" and "High") joins the name below it
/// ("FedRAMP Moderate"), unless that name already starts with it; a cell
/// spanning several rows counts once.
fn column_names(header: &[&TableRow]) -> Vec<String> {
    let width = header.iter().map(|r| r.cells.len()).max().unwrap_or(0);
    (0..width)
        .map(|j| {
            let mut name = String::new();
            let mut last = String::new();
            for part in header.iter().filter_map(|r| r.cells.get(j)) {
                let part = strip_markup(part);
                if part.is_empty() || part == last {
                    continue;
                }
                if name.is_empty() || part.starts_with(&name) {
                    name.clone_from(&part);
                } else {
                    name = format!("{name} {part}");
                }
                last = part;
            }
            name
        })
        .collect()
}

/// Whether a small table pairs symbols with their meaning rather than
/// services with certifications: a legend ("| ✓ | In scope |", "| Symbol |
/// Meaning |", "| In scope | ✅ |"). It has at most [`MAX_LEGEND_ROWS`]
/// body rows, and a header or first-column cell is a legend's word
/// ([`LEGEND_WORDS`]), or a row starts with a mark and explains it in
/// words, or with another sign and what a mark means ([`STATUS_PHRASE`]),
/// or a row with a mark is named by what a mark means where a service
/// would be.
pub(crate) fn is_legend_table(rows: &[TableRow], spec: &ScopeSpec) -> bool {
    let (header, body) = header_rows(rows);
    let body = &rows[body..];
    if body.len() > MAX_LEGEND_ROWS {
        return false;
    }
    let is_mark = |cell: &str| spec.mark.is_match(mark_text(cell));
    let is_sign = |cell: &str| {
        let c = mark_text(cell);
        !c.is_empty() && !c.chars().any(char::is_alphanumeric)
    };
    let legend_word = |cell: &String| LEGEND_WORDS.is_match(&strip_markup(cell));
    let status = |cell: &String| STATUS_PHRASE.is_match(&strip_markup(cell));
    header.iter().any(|r| r.cells.iter().any(legend_word))
        || body.iter().any(|r| {
            let Some((first, rest)) = r.cells.split_first() else {
                return false;
            };
            legend_word(first)
                || (is_mark(first) && rest.iter().any(|c| c.chars().any(char::is_alphabetic)))
                || (is_sign(first) && rest.iter().any(status))
                || (rest.iter().any(|c| is_mark(c)) && status(first))
        })
}

/// Whether a list item or paragraph defines a mark: "✅ = the service is
/// in scope", ":heavy_check_mark: = indicates …", "✓ – in scope".
pub(crate) fn defines_a_mark(text: &str, spec: &ScopeSpec) -> bool {
    ["=", " – ", " — ", " - ", ": "].iter().any(|sep| {
        text.split_once(sep)
            .is_some_and(|(sign, _)| spec.mark.is_match(mark_text(sign)))
    })
}

/// Whether a block is a legend, neither matrix nor list of services: a
/// legend table, or a line defining a mark.
pub(crate) fn is_legend_block(block: &Block, spec: &ScopeSpec) -> bool {
    match block {
        Block::Table(rows) => is_legend_table(rows, spec),
        Block::ListItem { text, .. } | Block::Paragraph(text) => defines_a_mark(text, spec),
        _ => false,
    }
}

/// One table read as a matrix, before its certifications get the prefix of
/// a heading (which depends on the page's other matrices).
#[derive(Debug)]
pub(crate) struct MatrixTable {
    /// The headings in effect above the table, outermost first.
    trail: Vec<Heading>,
    /// Each column's certifications (cleaned and aliased): none for the
    /// service column and columns that are not scope, two for a header
    /// naming two ("FR High / DoD IL2").
    columns: Vec<Vec<String>>,
    /// Each service in scope somewhere (cleaned and aliased, once per row)
    /// with the columns of its in-scope cells.
    services: Vec<(String, Vec<usize>)>,
    /// (service, former name) from "(formerly X)" notes.
    former: Vec<(String, String)>,
    /// (service, note) from notes to the reader.
    notes: Vec<(String, String)>,
}

impl MatrixTable {
    /// The certification names of its columns, before any prefix.
    pub(crate) fn certifications(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().flatten().map(String::as_str)
    }
}

/// Reads one table as a matrix, under the headings of `trail`.
pub(crate) fn read_matrix(
    rows: &[TableRow],
    trail: &HeadingTrail,
    spec: &ScopeSpec,
    settings: &ScopeSettings,
) -> Result<MatrixTable, NotRead> {
    let (header, body) = header_rows(rows);
    if header.is_empty() {
        return Err(NotRead::NoMarks {
            columns: Vec::new(),
            services: false,
        });
    }
    if is_legend_table(rows, spec) {
        return Err(NotRead::Legend);
    }
    // The header rows as a body row repeating them reads.
    let repeated: HashSet<Vec<String>> = header
        .iter()
        .map(|r| r.cells.iter().map(|c| strip_markup(c)).collect())
        .collect();
    let widths: HashSet<usize> = header.iter().map(|r| r.cells.len()).collect();
    let names = column_names(&header);
    let not_scope = |name: &str| {
        name.is_empty()
            || spec.mark.is_match(name)
            || spec
                .ignore_columns
                .as_ref()
                .is_some_and(|re| re.is_match(name))
    };
    let columns: Vec<Vec<String>> = names
        .iter()
        .enumerate()
        .map(|(j, name)| {
            if j == 0 || not_scope(name) {
                return Vec::new();
            }
            name.split(" / ")
                .map(strip_markup)
                .filter(|part| !not_scope(part))
                .map(|part| alias(&part, settings).to_string())
                .collect()
        })
        .collect();

    let mut table = MatrixTable {
        trail: trail.headings().to_vec(),
        columns,
        services: Vec::new(),
        former: Vec::new(),
        notes: Vec::new(),
    };
    let (mut marks, mut named_rows) = (0usize, false);
    for row in &rows[body..] {
        if widths.contains(&row.cells.len())
            && repeated.contains(
                &row.cells
                    .iter()
                    .map(|c| strip_markup(c))
                    .collect::<Vec<_>>(),
            )
        {
            continue; // the header, repeated
        }
        let Some(first) = row.cells.first() else {
            continue;
        };
        let service = clean_name(first);
        if service.name.is_empty() {
            continue;
        }
        named_rows = true;
        let mut in_scope = Vec::new();
        for (j, cell) in row.cells.iter().enumerate().skip(1) {
            if !spec.mark.is_match(mark_text(cell)) {
                continue;
            }
            marks += 1;
            if table.columns.get(j).is_some_and(|c| !c.is_empty()) {
                in_scope.push(j);
            }
        }
        if in_scope.is_empty() {
            continue;
        }
        let name = alias(&service.name, settings).to_string();
        if let Some(old) = service.former {
            table.former.push((name.clone(), old));
        }
        if let Some(note) = service.note {
            table.notes.push((name.clone(), note));
        }
        table.services.push((name, in_scope));
    }
    if marks == 0 {
        Err(NotRead::NoMarks {
            columns: table.certifications().map(str::to_string).collect(),
            services: named_rows && !is_full_width_only(&rows[body..]),
        })
    } else if table.services.is_empty() {
        Err(NotRead::NoCertificationColumn(names.join(" | ")))
    } else {
        Ok(table)
    }
}

/// Whether every row is a full-width category row (no service rows).
fn is_full_width_only(rows: &[TableRow]) -> bool {
    rows.iter().all(is_full_width)
}

/// The tables read on a page so far, and those a matrix header names but no
/// mark reads: extraction fails for the latter once the page is read, when
/// another matrix has their certification columns.
#[derive(Debug, Default)]
pub(crate) struct PageTables {
    pub(crate) read: Vec<MatrixTable>,
    /// (table ordinal, certification columns) of tables without a mark.
    unmarked: Vec<(usize, Vec<String>)>,
}

impl PageTables {
    /// Records a table that had no mark: `ordinal` on the page.
    pub(crate) fn unmarked(&mut self, ordinal: usize, columns: Vec<String>, services: bool) {
        if services && !columns.is_empty() {
            self.unmarked.push((ordinal, columns));
        }
    }

    /// Broken when a table without a mark has a certification column the
    /// read matrices have: it is one of the page's matrices, and its marks
    /// can no longer be read (icons without text, a new symbol). Reporting
    /// its services as removed would hide that.
    pub(crate) fn check_unmarked(&self) -> Result<(), String> {
        let known: HashSet<&str> = self
            .read
            .iter()
            .flat_map(MatrixTable::certifications)
            .collect();
        for (ordinal, columns) in &self.unmarked {
            let shared: BTreeSet<&str> = columns
                .iter()
                .map(String::as_str)
                .filter(|c| known.contains(c))
                .collect();
            if !shared.is_empty() {
                let shown: Vec<&str> = shared.into_iter().take(3).collect();
                return Err(format!(
                    "table {ordinal} has the certification columns of the page's other matrices \
                     ({}) but no cell matching the mark: its marks can no longer be read",
                    shown.join(", ")
                ));
            }
        }
        Ok(())
    }
}

/// Puts the pairs of a page's matrices into `out`, each certification
/// prefixed with its table's heading as `prefix_from_heading` says:
///
/// - a level `n`: the heading of level `n` in effect above the table, else
///   the nearest one above that level;
/// - `true`: the nearest heading that tells the page's matrices apart: one
///   that leaves out a matrix its parent heading (or the page) has, and
///   whose text stands nowhere else above a matrix. A heading above every
///   matrix of its section (the page title, a "Terminology used" legend
///   between a section heading and its tables) or repeated at several places
///   (a "Notes" or "Compute" subsection in each section) never names a
///   certification: the heading above it is tried, and so on up. Nor does
///   a legend's heading ([`GENERIC_HEADING`]: "Terminology used", "Key";
///   a heading over a line defining a mark is not taken for one, as a
///   section heading may stand right over its legend). With one matrix (or all
///   under the same headings) nothing needs telling apart, and the nearest
///   heading that is not a legend's is taken; a matrix with no heading that
///   tells it apart has no prefix. Two matrices that would get the same
///   prefix under different headings, and both state a (certification,
///   service) pair, are told apart by the headings below it ("Azure public
///   / FedRAMP" and "Azure public / DoD" for two "High" columns), so one
///   never hides what the other says; parts of one matrix split by
///   category ("Compute", "Storage") list different services and stay one.
pub(crate) fn put_matrices(
    tables: Vec<MatrixTable>,
    spec: &ScopeSpec,
    settings: &ScopeSettings,
    out: &mut ScopeSetBuilder,
) {
    let prefixes = heading_prefixes(&tables, spec.prefix_from_heading);
    for (table, prefix) in tables.into_iter().zip(prefixes) {
        let prefix = prefix
            .map(|h| alias(&strip_markup(&h), settings).to_string())
            .filter(|p| !p.is_empty());
        let certifications: Vec<Vec<String>> = table
            .columns
            .iter()
            .map(|column| {
                column
                    .iter()
                    .map(|cert| match &prefix {
                        Some(p) => alias(&format!("{p} / {cert}"), settings).to_string(),
                        None => cert.clone(),
                    })
                    .collect()
            })
            .collect();
        for (service, columns) in &table.services {
            for cert in columns
                .iter()
                .flat_map(|&j| certifications.get(j).into_iter().flatten())
            {
                out.add(cert, service);
            }
            if out.is_full() {
                return;
            }
        }
        for (service, old) in table.former {
            out.former(&service, old);
        }
        for (service, note) in table.notes {
            out.note(&service, note);
        }
    }
}

/// The heading text (if any) that prefixes each table's certifications.
fn heading_prefixes(tables: &[MatrixTable], rule: HeadingPrefix) -> Vec<Option<String>> {
    let generic = |h: &Heading| GENERIC_HEADING.is_match(&strip_markup(&h.text));
    match rule {
        HeadingPrefix::Off => vec![None; tables.len()],
        HeadingPrefix::Level(level) => tables
            .iter()
            .map(|t| {
                t.trail
                    .iter()
                    .rev()
                    .find(|h| h.level <= level)
                    .map(|h| h.text.clone())
            })
            .collect(),
        HeadingPrefix::Distinguishing => {
            let trails: Vec<&[Heading]> = tables.iter().map(|t| t.trail.as_slice()).collect();
            if same_headings(&trails) {
                return trails
                    .iter()
                    .map(|t| {
                        t.iter()
                            .rev()
                            .find(|h| !generic(h))
                            .or(t.last())
                            .map(|h| h.text.clone())
                    })
                    .collect();
            }
            let chosen = distinguishing(&trails, &generic);
            let mut prefixes: Vec<Option<String>> = chosen
                .iter()
                .zip(&trails)
                .map(|(k, t)| k.map(|k| t[k].text.clone()))
                .collect();
            for colliding in collisions(tables, &prefixes) {
                let below: Vec<&[Heading]> = colliding
                    .iter()
                    .map(|&i| &trails[i][chosen[i].map_or(0, |k| k + 1)..])
                    .collect();
                if same_headings(&below) {
                    continue; // no heading tells them apart: one matrix
                }
                let found = distinguishing(&below, &generic);
                for (n, &i) in colliding.iter().enumerate() {
                    if let Some(k) = found[n] {
                        let heading = &below[n][k].text;
                        prefixes[i] = Some(match &prefixes[i] {
                            Some(p) => format!("{p} / {heading}"),
                            None => heading.clone(),
                        });
                    }
                }
            }
            prefixes
        }
    }
}

/// Whether every trail is the same headings (by place).
fn same_headings(trails: &[&[Heading]]) -> bool {
    let ids = |t: &[Heading]| t.iter().map(|h| h.id).collect::<Vec<_>>();
    let first = trails.first().map(|t| ids(t));
    trails.iter().all(|t| Some(ids(t)) == first)
}

/// For each trail, the index of its nearest heading that tells its table
/// apart from the others' (see [`put_matrices`]), if any.
fn distinguishing(
    trails: &[&[Heading]],
    generic: &impl Fn(&Heading) -> bool,
) -> Vec<Option<usize>> {
    let key = |h: &Heading| strip_markup(&h.text).to_lowercase();
    // How many tables stand under each heading (by place), and the places
    // each heading text is found at.
    let mut under: HashMap<usize, usize> = HashMap::new();
    let mut places: HashMap<String, HashSet<usize>> = HashMap::new();
    for trail in trails {
        for heading in *trail {
            *under.entry(heading.id).or_default() += 1;
            places.entry(key(heading)).or_default().insert(heading.id);
        }
    }
    let count = |h: &Heading| under.get(&h.id).copied().unwrap_or(0);
    trails
        .iter()
        .map(|t| {
            (0..t.len()).rev().find(|&k| {
                let heading = &t[k];
                let above = k.checked_sub(1).map_or(trails.len(), |p| count(&t[p]));
                let text = key(heading);
                !text.is_empty()
                    && !generic(heading)
                    && places.get(&text).is_some_and(|p| p.len() == 1)
                    && count(heading) < above
            })
        })
        .collect()
}

/// Groups of tables (indexes) that would be merged, losing what one says:
/// the same prefix (or none), different headings, and a (certification,
/// service) pair in both. Parts of one matrix split by category ("Compute",
/// "Storage") list different services and stay one matrix.
fn collisions(tables: &[MatrixTable], prefixes: &[Option<String>]) -> Vec<Vec<usize>> {
    let mut by_prefix: HashMap<Option<String>, Vec<usize>> = HashMap::new();
    for (i, prefix) in prefixes.iter().enumerate() {
        by_prefix
            .entry(prefix.as_ref().map(|p| strip_markup(p).to_lowercase()))
            .or_default()
            .push(i);
    }
    let mut groups = Vec::new();
    for members in by_prefix.into_values().filter(|m| m.len() > 1) {
        // Per (certification, service) pair, the tables that state it.
        let mut by_pair: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
        for &i in &members {
            let table = &tables[i];
            for (service, columns) in &table.services {
                for &j in columns {
                    for certification in table.columns.get(j).into_iter().flatten() {
                        let stating = by_pair
                            .entry((certification.as_str(), service.as_str()))
                            .or_default();
                        if stating.last() != Some(&i) {
                            stating.push(i);
                        }
                    }
                }
            }
        }
        let mut colliding: BTreeSet<usize> = BTreeSet::new();
        for stating in by_pair.values().filter(|t| t.len() > 1) {
            let trails: Vec<&[Heading]> = stating
                .iter()
                .map(|&i| tables[i].trail.as_slice())
                .collect();
            if !same_headings(&trails) {
                colliding.extend(stating);
            }
        }
        if colliding.len() > 1 {
            groups.push(colliding.into_iter().collect());
        }
    }
    groups.sort();
    groups
}

/// Extracts a document with a `matrix` spec.
pub(crate) fn extract(
    doc: &Document,
    spec: &ScopeSpec,
    settings: &ScopeSettings,
) -> Result<ScopeSet, String> {
    let mut trail = HeadingTrail::default();
    let mut page = PageTables::default();
    let mut tables = 0usize;
    let mut seen = 0usize;
    for block in &doc.blocks {
        if trail.visit(block) {
            continue;
        }
        let Block::Table(rows) = block else { continue };
        tables += 1;
        if !spec
            .table
            .chooses(doc, tables, trail.within(spec.section.as_deref()))
        {
            continue;
        }
        seen += 1;
        match read_matrix(rows, &trail, spec, settings) {
            Ok(table) => page.read.push(table),
            Err(NotRead::NoCertificationColumn(header)) => {
                return Err(format!(
                    "table {tables} has check marks but no column it recognises as a certification (header: {header})"
                ));
            }
            Err(NotRead::NoMarks { .. } | NotRead::Legend) if spec.table.picks(doc) => {
                return Err(format!("table {tables} has no cell matching the mark"));
            }
            Err(NotRead::NoMarks { columns, services }) => {
                page.unmarked(tables, columns, services);
            }
            Err(NotRead::Legend) => {}
        }
    }
    if page.read.is_empty() {
        return Err(match (&spec.table, seen) {
            (TableChoice::Nth(n), 0) => {
                format!("the page has {tables} tables, so there is no table {n}")
            }
            (_, 0) => "no table found where the scope matrix should be".to_string(),
            _ => format!("none of the {seen} tables has a cell matching the mark"),
        });
    }
    page.check_unmarked()?;
    let mut out = ScopeSetBuilder::default();
    put_matrices(page.read, spec, settings, &mut out);
    out.finish_checked()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::extract::markdown::extract_markdown;
    use crate::scope::{
        RawScopeSpec, ScopeEntry, ScopeOutcome, diff_scope, extract_scope, severity,
    };

    /// Every mark spelling seen on real pages; "&#x2705;" is decoded to ✅
    /// by the Markdown (and HTML) parser.
    const MARKS: [&str; 8] = [
        "✅",
        "✔",
        "✓",
        "✔\u{fe0f}",
        ":heavy_check_mark:",
        "&#x2705;",
        "Yes",
        "yes",
    ];

    fn spec(prefix: bool) -> ScopeSpec {
        ScopeSpec::from_raw(RawScopeSpec {
            kind: Some("matrix".into()),
            ignore_columns: Some("^Planned".into()),
            prefix_from_heading: Some(crate::scope::RawHeadingPrefix::Flag(prefix)),
            ..RawScopeSpec::default()
        })
        .unwrap()
    }

    fn settings() -> ScopeSettings {
        ScopeSettings::from_raw(crate::scope::RawScopeSettings {
            watch: Some(vec!["Azure Cosmos DB".into()]),
            aliases: Some(BTreeMap::from([
                ("DoD CC SRG IL 2".to_string(), "DoD IL2".to_string()),
                ("DoD CC SRG IL 4".to_string(), "DoD IL4".to_string()),
            ])),
        })
        .unwrap()
    }

    /// One cloud's table in Markdown, with every quirk of the real pages:
    /// link service cells with "(formerly X)" notes and footnote markers,
    /// all the mark spellings, a header repeated every 15 rows, a "Planned"
    /// column, and old column names.
    fn cloud_table(heading: &str, rows: usize, old_columns: bool, skip: Option<usize>) -> String {
        let il2 = if old_columns {
            "DoD CC SRG IL 2"
        } else {
            "DoD IL2"
        };
        let il4 = if old_columns {
            "DoD CC SRG IL 4"
        } else {
            "DoD IL4"
        };
        let header = format!(
            "| **Service** | FedRAMP Moderate | FedRAMP High | {il2} | {il4} | DoD IL5 | Planned 2019 |"
        );
        let mut md = format!("## {heading}\n\n{header}\n|---|---|---|---|---|---|---|\n");
        for i in 0..rows {
            if skip == Some(i) {
                continue;
            }
            if i > 0 && i % 15 == 0 {
                md.push_str(&header);
                md.push('\n');
            }
            let name = match i {
                0 => {
                    "[Azure Cognitive Search](https://x/search) (formerly Azure Search)".to_string()
                }
                1 => "[Azure Cosmos DB](https://x/cosmos)*".to_string(),
                2 => "Azure Maps¹".to_string(),
                3 => "**Azure Monitor** **".to_string(),
                _ => format!("[Service {i:03}](https://x/{i}) †"),
            };
            md.push_str(&format!("| {name} |"));
            for j in 0..6 {
                let cell = if j == 5 {
                    "✅" // "Planned" column: never scope
                } else if (i + j) % 4 == 3 {
                    ""
                } else {
                    MARKS[(i + j) % MARKS.len()]
                };
                md.push_str(&format!(" {cell} |"));
            }
            md.push('\n');
        }
        md
    }

    fn page(old_columns: bool, skip: Option<usize>) -> String {
        format!(
            "# Azure services by FedRAMP and DoD audit scope\n\n{}\n{}",
            cloud_table("Azure public", 200, old_columns, skip),
            cloud_table("Azure Government", 200, old_columns, None)
        )
    }

    fn expected_marks(rows: usize) -> usize {
        (0..rows)
            .map(|i| (0..5).filter(|j| (i + j) % 4 != 3).count())
            .sum()
    }

    fn extracted(outcome: ScopeOutcome) -> ScopeSet {
        match outcome {
            ScopeOutcome::Extracted(set) => set,
            ScopeOutcome::Broken { reason } => panic!("broken: {reason}"),
        }
    }

    #[test]
    fn reads_two_real_size_tables_with_every_quirk() {
        let doc = extract_markdown(&page(false, None));
        let set = extracted(extract_scope(&doc, &spec(true), &settings()));
        assert_eq!(set.len(), 2 * expected_marks(200));
        let e = |c: &str, s: &str| ScopeEntry::new(c, s);
        assert!(set.contains(&e("Azure Government / FedRAMP High", "Azure Cosmos DB")));
        assert!(set.contains(&e("Azure public / DoD IL2", "Azure Cognitive Search")));
        assert!(set.contains(&e("Azure public / FedRAMP Moderate", "Azure Maps")));
        assert!(set.contains(&e("Azure public / FedRAMP High", "Azure Monitor")));
        assert!(set.contains(&e("Azure public / FedRAMP Moderate", "Service 198")));
        assert_eq!(
            set.former_names("Azure Cognitive Search")
                .collect::<Vec<_>>(),
            vec!["Azure Search"]
        );
        // No repeated header was read as a service, no "Planned" column.
        assert!(set.entries().iter().all(|e| e.service != "Service"
            && !e.certification.contains("Planned")
            && !e.service.contains('*')
            && !e.service.contains('†')));

        // Without the prefix, the two clouds merge.
        let set = extracted(extract_scope(&doc, &spec(false), &settings()));
        assert_eq!(set.len(), expected_marks(200));
    }

    #[test]
    fn renamed_columns_are_aliased_and_a_removed_row_is_one_removal() {
        let before = extracted(extract_scope(
            &extract_markdown(&page(true, None)),
            &spec(true),
            &settings(),
        ));
        let after = extracted(extract_scope(
            &extract_markdown(&page(false, Some(1))),
            &spec(true),
            &settings(),
        ));
        let diff = diff_scope(&before, &after, &settings());
        assert!(diff.added.is_empty() && diff.renamed.is_empty(), "{diff:?}");
        assert!(!diff.removed.is_empty());
        assert!(diff.removed.iter().all(
            |e| e.service == "Azure Cosmos DB" && e.certification.starts_with("Azure public /")
        ));
        assert_eq!(severity(&diff, &settings()), crate::scope::Severity::High);
    }

    #[test]
    fn unrecognised_columns_and_lost_marks_are_broken() {
        // Every certification column now matches ignore_columns.
        let md = "## Azure public\n\n| Service | Planned 2024 | Planned 2025 |\n|---|---|---|\n| Azure Files | ✅ | ✅ |\n";
        let out = extract_scope(&extract_markdown(md), &spec(true), &settings());
        assert!(
            matches!(&out, ScopeOutcome::Broken { reason } if reason.contains("recognises")),
            "{out:?}"
        );
        // Marks became images (no text): nothing matches.
        let md = "| Service | FedRAMP High |\n|---|---|\n| Azure Files | |\n";
        assert!(matches!(
            extract_scope(&extract_markdown(md), &spec(true), &settings()),
            ScopeOutcome::Broken { .. }
        ));
        // No table at all.
        assert!(matches!(
            extract_scope(
                &extract_markdown("# Nothing here\n"),
                &spec(true),
                &settings()
            ),
            ScopeOutcome::Broken { .. }
        ));
    }

    fn html_scope(html: &str, spec: &ScopeSpec) -> ScopeSet {
        let doc =
            crate::extract::html::extract_html(html, &[], &[], None, None, &Default::default())
                .unwrap()
                .document;
        extracted(extract_scope(&doc, spec, &ScopeSettings::default()))
    }

    #[test]
    fn a_header_naming_two_certifications_is_both() {
        let md = "| Service | FR High / DoD IL2 | ISO/IEC 27001 | Planned / DoD IL4 |\n|---|---|---|---|\n\
                  | Azure Files | ✅ | ✅ | ✅ |\n";
        let set = read_markdown(md, &spec(false));
        let certs: Vec<&str> = set
            .entries()
            .iter()
            .map(|e| e.certification.as_str())
            .collect();
        // `ignore_columns` ("^Planned") matched the whole header.
        assert_eq!(certs, ["DoD IL2", "FR High", "ISO/IEC 27001"]);
    }

    #[test]
    fn spanned_headers_and_cells_keep_marks_under_their_columns() {
        let e = |c: &str, s: &str| ScopeEntry::new(c, s);
        // A two-row header: a group over two columns, cells over two rows.
        let html = "<table><thead><tr><th rowspan=2>Service</th><th colspan=2>FedRAMP</th>\
            <th rowspan=2>PCI DSS</th></tr><tr><th>Moderate</th><th>High</th></tr></thead>\
            <tr><td>Azure Files</td><td>✅</td><td></td><td>✅</td></tr></table>";
        assert_eq!(
            html_scope(html, &spec(false)).entries(),
            [
                e("FedRAMP Moderate", "Azure Files"),
                e("PCI DSS", "Azure Files")
            ]
        );
        // A mark over two columns counts in both; later marks stay put. A
        // category row over the whole table is neither header nor service.
        let html = "<table><tr><th>Service</th><th>SOC 1</th><th>SOC 2</th><th>HIPAA</th></tr>\
            <tr><th colspan=4>Compute</th></tr>\
            <tr><td>Azure Files</td><td colspan=2>✅</td><td>✅</td></tr>\
            <tr><td>Azure Maps</td><td></td><td></td><td>✅</td></tr></table>";
        assert_eq!(
            html_scope(html, &spec(false)).entries(),
            [
                e("HIPAA", "Azure Files"),
                e("HIPAA", "Azure Maps"),
                e("SOC 1", "Azure Files"),
                e("SOC 2", "Azure Files"),
            ]
        );
        // The same with the header in a thead: the category row opening the
        // body is not taken as the header.
        let html = html
            .replacen("<tr>", "<thead><tr>", 1)
            .replacen("</tr>", "</tr></thead>", 1);
        assert_eq!(html_scope(&html, &spec(false)).len(), 4);
    }

    #[test]
    fn a_table_picked_by_selector_without_marks_is_broken() {
        let table = |heading: &str, mark: &str| {
            format!(
                "<h2>{heading}</h2><table class=audit-scope><tr><th>Service</th><th>SOC 2</th></tr>\
                 <tr><td>Azure Files</td><td>{mark}</td></tr></table>"
            )
        };
        let spec = ScopeSpec::from_raw(RawScopeSpec {
            kind: Some("matrix".into()),
            table: Some("table.audit-scope".into()),
            prefix_from_heading: Some(crate::scope::RawHeadingPrefix::Flag(true)),
            ..RawScopeSpec::default()
        })
        .unwrap();
        let selector = scraper::Selector::parse("table.audit-scope").unwrap();
        let read = |html: &str| {
            let doc = crate::extract::html::extract_html(
                html,
                &[],
                &[],
                Some(&selector),
                None,
                &Default::default(),
            )
            .unwrap()
            .document;
            extract_scope(&doc, &spec, &ScopeSettings::default())
        };
        let before = format!(
            "{}{}",
            table("Azure public", "✅"),
            table("Azure Government", "✅")
        );
        assert_eq!(extracted(read(&before)).len(), 2);
        let after = format!(
            "{}{}",
            table("Azure public", "✅"),
            table("Azure Government", "<img src=yes.png>")
        );
        assert!(
            matches!(&read(&after), ScopeOutcome::Broken { reason } if reason.contains("table 2")),
            "{:?}",
            read(&after)
        );
    }

    #[test]
    fn icon_marks_are_read_from_their_alt_text() {
        let html = "<table><tr><th>Service</th><th>SOC 2</th><th>HIPAA</th></tr>\
            <tr><td>Azure Files</td><td><img src=check.svg alt=Yes></td><td><img src=no.svg alt=No></td></tr></table>";
        assert_eq!(
            html_scope(html, &spec(false)).entries(),
            [ScopeEntry::new("SOC 2", "Azure Files")]
        );
    }

    #[test]
    fn superscript_footnotes_join_neither_name_nor_mark() {
        let html = "<table><tr><th>Service</th><th>SOC 2<sup>a</sup></th></tr>\
            <tr><td>Azure Maps<sup>1</sup></td><td>✅<sup>2</sup></td></tr></table>";
        assert_eq!(
            html_scope(html, &spec(false)).entries(),
            [ScopeEntry::new("SOC 2", "Azure Maps")]
        );
    }

    #[test]
    fn nth_table_and_custom_mark() {
        let md = "| Legend | Meaning |\n|---|---|\n| ✅ | in scope |\n\n| Service | SOC 2 |\n|---|---|\n| Azure Files | X |\n| Azure Maps | |\n";
        let spec = ScopeSpec::from_raw(RawScopeSpec {
            kind: Some("matrix".into()),
            table: Some("2".into()),
            mark: Some("^[xX]$".into()),
            ..RawScopeSpec::default()
        })
        .unwrap();
        assert_eq!(
            read_markdown(md, &spec).entries(),
            &[ScopeEntry::new("SOC 2", "Azure Files")]
        );
    }

    /// A Markdown page read with `spec` and no aliases.
    fn read_markdown(md: &str, spec: &ScopeSpec) -> ScopeSet {
        extracted(extract_scope(
            &extract_markdown(md),
            spec,
            &ScopeSettings::default(),
        ))
    }

    /// Certifications of a Markdown page read with `prefix_from_heading`.
    fn certifications(md: &str, prefix: crate::scope::RawHeadingPrefix) -> Vec<String> {
        let spec = ScopeSpec::from_raw(RawScopeSpec {
            kind: Some("matrix".into()),
            prefix_from_heading: Some(prefix),
            ..RawScopeSpec::default()
        })
        .unwrap();
        let mut certs: Vec<String> = read_markdown(md, &spec)
            .entries()
            .iter()
            .map(|e| e.certification.clone())
            .collect();
        certs.dedup();
        certs
    }

    const TABLE: &str = "| Service | FedRAMP High |\n|---|---|\n| Azure Files | ✅ |\n\n";

    #[test]
    fn a_heading_repeated_above_every_matrix_names_no_certification() {
        use crate::scope::RawHeadingPrefix::{Flag, Level};
        let plain =
            format!("# Audit scope\n\n## Azure public\n\n{TABLE}## Azure Government\n\n{TABLE}");
        let expected = [
            "Azure Government / FedRAMP High",
            "Azure public / FedRAMP High",
        ];
        assert_eq!(certifications(&plain, Flag(true)), expected);
        // A legend between each section heading and its table.
        let legend = format!(
            "# Audit scope\n\n## Azure public\n\n### Terminology used\n\n- ✅ = in scope\n\n{TABLE}\
             ## Azure Government\n\n### Terminology used\n\n{TABLE}"
        );
        assert_eq!(certifications(&legend, Flag(true)), expected);
        assert_eq!(certifications(&legend, Level(2)), expected);
        // The legend above one table only still leaves its section.
        let one_legend = format!(
            "# Audit scope\n\n## Azure public\n\n#### Key\n\n{TABLE}## Azure Government\n\n{TABLE}"
        );
        assert_eq!(certifications(&one_legend, Flag(true)), expected);
        // Subsections repeated in each section: the section names them.
        // (Each category lists its own services: parts of one matrix.)
        let storage = TABLE.replace("Azure Files", "Azure Blob Storage");
        let grouped = format!(
            "# Audit scope\n\n## Azure public\n\n### Compute\n\n{TABLE}### Storage\n\n{storage}\
             ## Azure Government\n\n### Compute\n\n{TABLE}### Storage\n\n{storage}"
        );
        assert_eq!(certifications(&grouped, Flag(true)), expected);
        // Pinned to a level: that level, or the nearest heading above it.
        assert_eq!(
            certifications(&grouped, Level(1)),
            ["Audit scope / FedRAMP High"]
        );
        assert_eq!(
            certifications(&grouped, Level(3)),
            ["Compute / FedRAMP High", "Storage / FedRAMP High"]
        );
        // One matrix: its nearest heading, as before.
        let single = format!("# Audit scope\n\n## Azure public\n\n{TABLE}");
        assert_eq!(
            certifications(&single, Flag(true)),
            ["Azure public / FedRAMP High"]
        );
        assert_eq!(certifications(&single, Flag(false)), ["FedRAMP High"]);
    }

    #[test]
    fn a_legend_heading_over_the_only_matrix_names_nothing() {
        use crate::scope::RawHeadingPrefix::Flag;
        let expected = ["Azure Government services by audit scope / FedRAMP High"];
        // A legend's heading, with its legend or without; a legend right
        // under the section heading leaves it the name.
        for legend in [
            "### Terminology used\n\n",
            "#### Terminology/Symbols used\n\n- ✅ = in scope\n\n",
            "### Key\n\n| Symbol | Meaning |\n|---|---|\n| ✅ | in scope |\n\n",
            "- ✅ = in scope\n\n",
        ] {
            let md = format!(
                "# Audit scope\n\n## Azure Government services by audit scope\n\n{legend}{TABLE}"
            );
            assert_eq!(certifications(&md, Flag(true)), expected, "{legend}");
        }
        // A heading that is only a legend's name stays a name of its own.
        let md = format!("# Audit scope\n\n## Key Vault\n\n{TABLE}");
        assert_eq!(
            certifications(&md, Flag(true)),
            ["Key Vault / FedRAMP High"]
        );
    }

    #[test]
    fn matrices_with_the_same_columns_under_different_headings_stay_apart() {
        use crate::scope::RawHeadingPrefix::Flag;
        let table = |maps: &str| {
            format!(
                "| Service | High |\n|---|---|\n| Azure Files | ✅ |\n| Azure Maps | {maps} |\n\n"
            )
        };
        // A "High" column under FedRAMP and under DoD in each cloud.
        let md = format!(
            "# Audit scope\n\n## Azure public\n\n### FedRAMP\n\n{}### DoD\n\n{}\
             ## Azure Government\n\n### FedRAMP\n\n{}### DoD\n\n{}",
            table("✅"),
            table(""),
            table("✅"),
            table("✅")
        );
        let spec = ScopeSpec::from_raw(RawScopeSpec {
            kind: Some("matrix".into()),
            prefix_from_heading: Some(Flag(true)),
            ..RawScopeSpec::default()
        })
        .unwrap();
        let pairs: Vec<String> = read_markdown(&md, &spec)
            .entries()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            pairs,
            [
                "Azure Government / DoD / High / Azure Files",
                "Azure Government / DoD / High / Azure Maps",
                "Azure Government / FedRAMP / High / Azure Files",
                "Azure Government / FedRAMP / High / Azure Maps",
                "Azure public / DoD / High / Azure Files",
                "Azure public / FedRAMP / High / Azure Files",
                "Azure public / FedRAMP / High / Azure Maps",
            ]
        );
    }

    #[test]
    fn a_legend_table_is_no_matrix() {
        for legend in [
            "| Meaning | Symbol |\n|---|---|\n| In scope | ✅ |\n| Planned | 🕒 |\n\n",
            "| | In scope | Not in scope |\n|---|---|---|\n| Symbol | ✓ | ✗ |\n\n",
            "| ✓ | In scope |\n|---|---|\n| ✅ | Included in the audit scope |\n\n",
        ] {
            let md = format!("## Azure public\n\n### Legend\n\n{legend}{TABLE}");
            let set = read_markdown(&md, &spec(true));
            assert_eq!(
                set.entries(),
                [ScopeEntry::new(
                    "Azure public / FedRAMP High",
                    "Azure Files"
                )],
                "{legend}"
            );
            // Nor under `auto`, in an "in scope" section or not.
            let md = format!("# SOC 2\n\n## In-scope services\n\n{legend}- Azure Files\n");
            let auto = extracted(extract_scope(
                &extract_markdown(&md),
                &ScopeSpec::auto(),
                &ScopeSettings::default(),
            ));
            assert_eq!(
                auto.entries(),
                [ScopeEntry::new("SOC 2", "Azure Files")],
                "{legend}"
            );
        }
    }

    #[test]
    fn a_matrix_whose_marks_cannot_be_read_is_broken_not_emptied() {
        let table = |heading: &str, mark: &str| {
            format!(
                "## {heading}\n\n| Service | FedRAMP High | DoD IL2 |\n|---|---|---|\n\
                 | Azure Files | {mark} | {mark} |\n| Azure Maps | {mark} | |\n\n"
            )
        };
        let good = format!(
            "{}{}",
            table("Azure public", "✅"),
            table("Azure Government", "✅")
        );
        assert_eq!(read_markdown(&good, &spec(true)).len(), 6);
        // The Government table's marks became icons without text.
        let lost = format!(
            "{}{}",
            table("Azure public", "✅"),
            table("Azure Government", "")
        );
        for spec in [spec(true), ScopeSpec::auto()] {
            let out = extract_scope(&extract_markdown(&lost), &spec, &ScopeSettings::default());
            assert!(
                matches!(&out, ScopeOutcome::Broken { reason } if reason.contains("table 2") && reason.contains("can no longer be read")),
                "{out:?}"
            );
        }
        // A table with other columns and no mark is no matrix of the page.
        let other = format!(
            "{}| Region | Opened |\n|---|---|\n| US Gov Texas | 2018 |\n",
            table("Azure public", "✅")
        );
        assert_eq!(read_markdown(&other, &spec(true)).len(), 3);
    }

    #[test]
    fn a_header_is_read_from_its_first_rows_only() {
        let mut rows: Vec<TableRow> = (1..=6)
            .map(|i| TableRow {
                header: true,
                cells: vec!["Service".into(), format!("Part{i}")],
            })
            .collect();
        rows.push(TableRow {
            header: false,
            cells: vec!["Azure Files".into(), "✅".into()],
        });
        let doc = Document {
            blocks: vec![Block::Table(rows)],
            ..Document::default()
        };
        let set = extracted(extract_scope(&doc, &spec(false), &ScopeSettings::default()));
        assert_eq!(
            set.entries(),
            [ScopeEntry::new("Part1 Part2 Part3 Part4", "Azure Files")]
        );
    }

    #[test]
    fn long_names_copied_into_many_cells_are_over_budget() {
        // 10 services of 2 MB names, each in scope of one column: 20 MB of
        // pairs, past the budget, refused before it is all copied.
        let long = "Azure Files ".repeat(175_000);
        let mut rows = vec![TableRow {
            header: true,
            cells: vec!["Service".into(), "SOC 2".into()],
        }];
        rows.extend((0..10).map(|i| TableRow {
            header: false,
            cells: vec![format!("{i} {long}"), "✅".into()],
        }));
        let doc = Document {
            blocks: vec![Block::Table(rows)],
            ..Document::default()
        };
        let out = extract_scope(&doc, &spec(false), &ScopeSettings::default());
        assert!(
            matches!(&out, ScopeOutcome::Broken { reason } if reason.contains("16 MiB")),
            "extracted: {}",
            matches!(out, ScopeOutcome::Extracted(_))
        );
    }

    #[test]
    fn a_heading_level_out_of_range_is_refused() {
        for level in [0, 7, -1] {
            let err = ScopeSpec::from_raw(RawScopeSpec {
                kind: Some("matrix".into()),
                prefix_from_heading: Some(crate::scope::RawHeadingPrefix::Level(level)),
                ..RawScopeSpec::default()
            })
            .unwrap_err();
            assert_eq!(err.key, "prefix_from_heading");
        }
        let raw: RawScopeSpec =
            toml::from_str("kind = \"matrix\"\nprefix_from_heading = 2\n").unwrap();
        assert_eq!(
            raw.prefix_from_heading,
            Some(crate::scope::RawHeadingPrefix::Level(2))
        );
        let err = toml::from_str::<RawScopeSpec>("prefix_from_heading = \"yes\"\n").unwrap_err();
        assert!(err.to_string().contains("heading level"), "{err}");
    }
}
