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
//!   `ignore_columns` (e.g. "^Planned") are not scope;
//! - with `prefix_from_heading`, a column's certification is
//!   "<nearest heading> / <column>" (the heading aliased on its own first,
//!   then the whole name), e.g. "Azure Government / FedRAMP High";
//! - body rows equal to a header row (repeated every ~15 rows) are skipped;
//!   the service cell is cleaned (markup, footnote markers, "(formerly X)"
//!   notes, which are kept as former names) and aliased;
//! - a cell is in scope when, footnote markers removed, it matches `mark`.
//!
//! Which tables: the `table = n` one, else every table under `section` (or
//! every table). A table with no mark at all is not a scope matrix and is
//! passed over, unless it was picked with `table = n` or a CSS selector the
//! page's extractor applied. The result is Broken when no table is read,
//! when a picked table has no mark, or when a table has marks but its
//! header no longer has a certification column. Linear in the number of
//! cells; the regexes are compiled once, in [`ScopeSpec`].

use crate::extract::{Block, Document, TableRow};

use super::names::{alias, clean_name, mark_text, strip_markup};
use super::{
    HeadingTrail, ScopeSet, ScopeSetBuilder, ScopeSettings, ScopeSpec, TableChoice, is_full_width,
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

/// Reads one table as a matrix into `out`; returns the number of marks.
pub(crate) fn read_matrix(
    rows: &[TableRow],
    heading: Option<&str>,
    spec: &ScopeSpec,
    settings: &ScopeSettings,
    out: &mut ScopeSetBuilder,
) -> Result<usize, NotRead> {
    let (header, body) = header_rows(rows);
    if header.is_empty() {
        return Err(NotRead::NoMarks);
    }
    let header_clean: Vec<Vec<String>> = header
        .iter()
        .map(|r| r.cells.iter().map(|c| strip_markup(c)).collect())
        .collect();
    let names = column_names(&header);
    let prefix = heading
        .filter(|_| spec.prefix_from_heading)
        .map(|h| alias(&strip_markup(h), settings).to_string());
    let columns: Vec<Option<String>> = names
        .iter()
        .enumerate()
        .map(|(j, name)| {
            if j == 0
                || name.is_empty()
                || spec.mark.is_match(name)
                || spec
                    .ignore_columns
                    .as_ref()
                    .is_some_and(|re| re.is_match(name))
            {
                return None;
            }
            let cert = alias(name, settings);
            Some(match &prefix {
                Some(p) if !p.is_empty() => alias(&format!("{p} / {cert}"), settings).to_string(),
                _ => cert.to_string(),
            })
        })
        .collect();

    let mut marks = 0usize;
    let mut cert_marks = 0usize;
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
            if let Some(Some(cert)) = columns.get(j) {
                cert_marks += 1;
                in_row = true;
                out.insert(super::ScopeEntry::new(cert.clone(), name.clone()));
            }
        }
        if in_row && let Some(old) = service.former {
            out.former(&name, old);
        }
    }
    if marks == 0 {
        Err(NotRead::NoMarks)
    } else if cert_marks == 0 {
        Err(NotRead::NoCertificationColumn(names.join(" | ")))
    } else {
        Ok(cert_marks)
    }
}

/// Extracts a document with a `matrix` spec.
pub(crate) fn extract(
    doc: &Document,
    spec: &ScopeSpec,
    settings: &ScopeSettings,
) -> Result<ScopeSet, String> {
    let mut trail = HeadingTrail::default();
    let mut out = ScopeSetBuilder::default();
    let mut tables = 0usize;
    let mut seen = 0usize;
    let mut read = 0usize;
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
        match read_matrix(rows, trail.nearest(), spec, settings, &mut out) {
            Ok(_) => read += 1,
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
    if read == 0 {
        return Err(match (&spec.table, seen) {
            (TableChoice::Nth(n), 0) => {
                format!("the page has {tables} tables, so there is no table {n}")
            }
            (_, 0) => "no table found where the scope matrix should be".to_string(),
            _ => format!("none of the {seen} tables has a cell matching the mark"),
        });
    }
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
            prefix_from_heading: Some(prefix),
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
            prefix_from_heading: Some(true),
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
        let set = extracted(extract_scope(
            &extract_markdown(md),
            &spec,
            &ScopeSettings::default(),
        ));
        assert_eq!(set.entries(), &[ScopeEntry::new("SOC 2", "Azure Files")]);
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
