//! The `matrix` extractor: tables with services as rows and certifications
//! as columns, a check mark where a service is in scope.
//!
//! For each table read:
//! - the header is the leading header rows (the first row if none is
//!   marked as a header), full-width category rows left out; a column's
//!   name reads down them ("FedRAMP" spanning "Moderate" and "High" gives
//!   "FedRAMP Moderate"). The first column names the services, the others
//!   are certifications, cleaned and aliased; columns with an empty
//!   header, a header that is itself a mark, or a header matching
//!   `ignore_columns` (e.g. "^Planned") are not scope; a header naming two
//!   certifications with a spaced slash ("FR High / DoD IL2") is both
//!   ("ISO/IEC 27001", unspaced, is one);
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
//! Which tables: the `table = n` one, else every table under `section` (or
//! every table). A table with no mark at all is not a scope matrix and is
//! passed over, unless it was picked with `table = n` or a CSS selector the
//! page's extractor applied. The result is Broken when no table is read,
//! when a picked table has no mark, or when a table has marks but its
//! header no longer has a certification column. Linear in the number of
//! cells; the regexes are compiled once, in [`ScopeSpec`].

use std::collections::{HashMap, HashSet};

use crate::extract::{Block, Document, TableRow};

use super::names::{alias, clean_name, mark_text, strip_markup};
use super::{
    Heading, HeadingPrefix, HeadingTrail, ScopeEntry, ScopeSet, ScopeSetBuilder, ScopeSettings,
    ScopeSpec, TableChoice, is_full_width,
};

/// Why a table gave no entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NotRead {
    /// No cell matched the mark: not a scope matrix (or marks changed).
    NoMarks,
    /// Marks, but no header column is a certification any more.
    NoCertificationColumn(String),
}

/// The header rows of a matrix, and the index of its first body row. The
/// header is the leading rows marked as headers (the first row if none is),
/// less full-width rows: a category such as "Compute" heading a group of
/// services is not a header (if every leading row is one, the first row
/// after them that is not is the header).
pub(crate) fn header_rows(rows: &[TableRow]) -> (Vec<&TableRow>, usize) {
    let lead = rows.iter().take_while(|r| r.header).count().max(1);
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
    /// (column, service) of each in-scope cell.
    marked: Vec<(usize, String)>,
    /// (service, former name) from "(formerly X)" notes.
    former: Vec<(String, String)>,
    /// (service, note) from notes to the reader.
    notes: Vec<(String, String)>,
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
        return Err(NotRead::NoMarks);
    }
    let header_clean: Vec<Vec<String>> = header
        .iter()
        .map(|r| r.cells.iter().map(|c| strip_markup(c)).collect())
        .collect();
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
        marked: Vec::new(),
        former: Vec::new(),
        notes: Vec::new(),
    };
    let mut marks = 0usize;
    for row in &rows[body..] {
        if header_clean.iter().any(|h| {
            row.cells.len() == h.len()
                && row.cells.iter().zip(h).all(|(c, h)| strip_markup(c) == *h)
        }) {
            continue; // the header, repeated
        }
        let Some(first) = row.cells.first() else {
            continue;
        };
        let service = clean_name(first);
        if service.name.is_empty() {
            continue;
        }
        let name = alias(&service.name, settings).to_string();
        let mut in_row = false;
        for (j, cell) in row.cells.iter().enumerate().skip(1) {
            if !spec.mark.is_match(mark_text(cell)) {
                continue;
            }
            marks += 1;
            if table.columns.get(j).is_some_and(|c| !c.is_empty()) {
                in_row = true;
                table.marked.push((j, name.clone()));
            }
        }
        if in_row {
            if let Some(old) = service.former {
                table.former.push((name.clone(), old));
            }
            if let Some(note) = service.note {
                table.notes.push((name, note));
            }
        }
    }
    if marks == 0 {
        Err(NotRead::NoMarks)
    } else if table.marked.is_empty() {
        Err(NotRead::NoCertificationColumn(names.join(" | ")))
    } else {
        Ok(table)
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
///   certification: the heading above it is tried, and so on up. With one
///   matrix (or all under the same headings) nothing needs telling apart,
///   and the nearest heading is taken; a matrix with no heading that tells
///   it apart has no prefix.
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
        for (column, service) in table.marked {
            for cert in certifications.get(column).into_iter().flatten() {
                out.insert(ScopeEntry::new(cert.clone(), service.clone()));
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
    let nearest = |t: &MatrixTable| t.trail.last().map(|h| h.text.clone());
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
            let ids = |t: &MatrixTable| t.trail.iter().map(|h| h.id).collect::<Vec<_>>();
            let first = tables.first().map(ids);
            if tables.iter().all(|t| Some(ids(t)) == first) {
                return tables.iter().map(nearest).collect();
            }
            let key = |h: &Heading| strip_markup(&h.text).to_lowercase();
            // How many tables stand under each heading (by place), and the
            // places each heading text is found at.
            let mut under: HashMap<usize, usize> = HashMap::new();
            let mut places: HashMap<String, HashSet<usize>> = HashMap::new();
            for table in tables {
                for heading in &table.trail {
                    *under.entry(heading.id).or_default() += 1;
                    places.entry(key(heading)).or_default().insert(heading.id);
                }
            }
            let count = |h: &Heading| under.get(&h.id).copied().unwrap_or(0);
            tables
                .iter()
                .map(|t| {
                    (0..t.trail.len())
                        .rev()
                        .find(|&k| {
                            let heading = &t.trail[k];
                            let above = k
                                .checked_sub(1)
                                .map_or(tables.len(), |p| count(&t.trail[p]));
                            let text = key(heading);
                            !text.is_empty()
                                && places.get(&text).is_some_and(|p| p.len() == 1)
                                && count(heading) < above
                        })
                        .map(|k| t.trail[k].text.clone())
                })
                .collect()
        }
    }
}

/// Extracts a document with a `matrix` spec.
pub(crate) fn extract(
    doc: &Document,
    spec: &ScopeSpec,
    settings: &ScopeSettings,
) -> Result<ScopeSet, String> {
    let mut trail = HeadingTrail::default();
    let mut read = Vec::new();
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
            Ok(table) => read.push(table),
            Err(NotRead::NoCertificationColumn(header)) => {
                return Err(format!(
                    "table {tables} has check marks but no column it recognises as a certification (header: {header})"
                ));
            }
            Err(NotRead::NoMarks) if spec.table.picks(doc) => {
                return Err(format!("table {tables} has no cell matching the mark"));
            }
            Err(NotRead::NoMarks) => {}
        }
    }
    if read.is_empty() {
        return Err(match (&spec.table, seen) {
            (TableChoice::Nth(n), 0) => {
                format!("the page has {tables} tables, so there is no table {n}")
            }
            (_, 0) => "no table found where the scope matrix should be".to_string(),
            _ => format!("none of the {seen} tables has a cell matching the mark"),
        });
    }
    let mut out = ScopeSetBuilder::default();
    put_matrices(read, spec, settings, &mut out);
    Ok(out.finish())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Instant;

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
        let grouped = format!(
            "# Audit scope\n\n## Azure public\n\n### Compute\n\n{TABLE}### Storage\n\n{TABLE}\
             ## Azure Government\n\n### Compute\n\n{TABLE}### Storage\n\n{TABLE}"
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

    #[test]
    fn a_200_by_7_matrix_is_fast() {
        // Not a benchmark: a guard against accidental quadratic work.
        let doc = extract_markdown(&page(false, None));
        let (spec, settings) = (spec(true), settings());
        let start = Instant::now();
        for _ in 0..10 {
            assert!(matches!(
                extract_scope(&doc, &spec, &settings),
                ScopeOutcome::Extracted(_)
            ));
        }
        // Two 200 × 7 tables, ten times; generous for unoptimised builds.
        let elapsed = start.elapsed();
        println!("two 200 × 7 tables: {:?} per extraction", elapsed / 10);
        assert!(elapsed.as_millis() < 2_000);
    }
}
