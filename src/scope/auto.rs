//! The `auto` extractor, used when a source has no `[source.scope]` (or
//! `kind = "auto"`). Its rules:
//!
//! 1. A table is a check-mark matrix when it has at least two columns and
//!    one body row, and among the body cells outside the first column at
//!    least one matches `mark` and at least 80% are marks or empty. Such a
//!    table is read by the [`matrix`](super::matrix) rules (with `mark`,
//!    `ignore_columns` and `prefix_from_heading`), wherever it is.
//! 2. Other tables, and list items, under a heading matching `section`
//!    (default `(?i)\bin[- ]scope\b`) are read by the [`list`](super::list)
//!    rules, with the page title as the certification.
//! 3. A legend (a small table or a list item pairing a symbol with its
//!    meaning, see [`matrix::is_legend_table`]) is neither.
//! 4. Anything else is ignored. A page with neither gives an empty set, not
//!    Broken: most watched pages state no scope. A table without a mark
//!    whose header has certification columns a matrix of the page has is a
//!    matrix whose marks can no longer be read: Broken. `table` (a number, or a
//!    CSS selector on an HTML page) restricts rule 1 to the tables it
//!    picks, and a picked table that is not read is Broken.

use crate::extract::{Block, Document, TableRow};

use super::names::mark_text;
use super::{
    HeadingTrail, ScopeSet, ScopeSetBuilder, ScopeSettings, ScopeSpec, is_full_width, list, matrix,
};

/// Whether a table looks like a check-mark matrix (rule 1).
pub(crate) fn is_mark_matrix(rows: &[TableRow], spec: &ScopeSpec) -> bool {
    let (header, body) = matrix::header_rows(rows);
    let body = &rows[body..];
    if body.is_empty() || header.iter().all(|h| h.cells.len() < 2) {
        return false;
    }
    let (mut total, mut marks, mut empty) = (0usize, 0usize, 0usize);
    // A category row ("Compute" across the table) is neither marks nor a
    // service: laid out on the grid it fills every column with its name.
    for row in body.iter().filter(|row| !is_full_width(row)) {
        for cell in row.cells.iter().skip(1) {
            total += 1;
            let c = mark_text(cell);
            if c.is_empty() {
                empty += 1;
            } else if spec.mark.is_match(c) {
                marks += 1;
            }
        }
    }
    marks > 0 && (marks + empty) * 10 >= total * 8
}

/// Extracts a document with the `auto` rules.
pub(crate) fn extract(
    doc: &Document,
    spec: &ScopeSpec,
    settings: &ScopeSettings,
) -> Result<ScopeSet, String> {
    let mut trail = HeadingTrail::default();
    let mut out = ScopeSetBuilder::default();
    let mut page = matrix::PageTables::default();
    let mut tables = 0usize;
    for block in &doc.blocks {
        if trail.visit(block) {
            continue;
        }
        let legend = matrix::is_legend_block(block, spec);
        let in_section = trail.within(spec.section.as_deref());
        match block {
            Block::Table(rows) => {
                tables += 1;
                if !spec.table.chooses(doc, tables, true) {
                    continue;
                }
                if !legend && is_mark_matrix(rows, spec) {
                    match matrix::read_matrix(rows, &trail, spec, settings) {
                        Ok(table) => page.read.push(table),
                        Err(matrix::NotRead::NoCertificationColumn(header)) => {
                            return Err(format!(
                                "table {tables} has check marks but no column it recognises as a certification (header: {header})"
                            ));
                        }
                        Err(matrix::NotRead::NoMarks { .. } | matrix::NotRead::Legend) => {}
                    }
                } else if spec.table.picks(doc) {
                    // Picked tables are read as matrices only (rule 1),
                    // in a section or not.
                    return Err(format!(
                        "table {tables}, picked by `table`, is no check-mark matrix any more"
                    ));
                } else if legend {
                    // Symbols and their meaning: neither matrix nor list.
                } else if in_section
                    && let Some(cert) = list::certification_of(spec, &trail, settings)
                {
                    list::read_table(rows, &cert, settings, &mut out);
                } else if let Err(matrix::NotRead::NoMarks { columns, services }) =
                    matrix::read_matrix(rows, &trail, spec, settings)
                {
                    page.unmarked(tables, columns, services);
                }
            }
            Block::ListItem { text, .. } if in_section && !legend => {
                if let Some(cert) = list::certification_of(spec, &trail, settings) {
                    list::read_item(text, &cert, settings, &mut out);
                }
            }
            _ => {}
        }
    }
    page.check_unmarked()?;
    matrix::put_matrices(page.read, spec, settings, &mut out);
    out.finish_checked()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::markdown::extract_markdown;
    use crate::scope::{ScopeEntry, ScopeOutcome, extract_scope};

    fn run(md: &str) -> ScopeSet {
        match extract_scope(
            &extract_markdown(md),
            &ScopeSpec::auto(),
            &ScopeSettings::default(),
        ) {
            ScopeOutcome::Extracted(set) => set,
            ScopeOutcome::Broken { reason } => panic!("{reason}"),
        }
    }

    #[test]
    fn finds_matrices_anywhere_and_lists_under_in_scope_headings() {
        let set = run(
            "# HIPAA\n\n## Overview\n\n- not a service\n\n| A | B |\n|---|---|\n| text | more text |\n\n\
            ## Services\n\n| Service | HIPAA | SOC 2 |\n|---|---|---|\n| Azure Files | ✅ | |\n| Azure Maps | Yes | ✓ |\n\n\
            ## In-scope services\n\n- Intune\n",
        );
        assert_eq!(
            set.entries(),
            &[
                ScopeEntry::new("HIPAA", "Azure Files"),
                ScopeEntry::new("HIPAA", "Azure Maps"),
                ScopeEntry::new("HIPAA", "Intune"),
                ScopeEntry::new("SOC 2", "Azure Maps"),
            ]
        );
    }

    #[test]
    fn a_picked_table_that_is_no_matrix_is_broken() {
        let spec = ScopeSpec::from_raw(crate::scope::RawScopeSpec {
            table: Some("2".into()),
            ..crate::scope::RawScopeSpec::default()
        })
        .unwrap();
        let md = "| A | B |\n|---|---|\n| x | y |\n\n| Service | SOC 2 |\n|---|---|\n| Azure Files | |\n";
        assert!(matches!(
            extract_scope(&extract_markdown(md), &spec, &ScopeSettings::default()),
            ScopeOutcome::Broken { .. }
        ));
    }

    #[test]
    fn a_picked_table_under_an_in_scope_heading_is_still_read_as_a_matrix_only() {
        let spec = ScopeSpec::from_raw(crate::scope::RawScopeSpec {
            table: Some("1".into()),
            ..crate::scope::RawScopeSpec::default()
        })
        .unwrap();
        let md = "# SOC 2\n\n## In-scope services\n\n| Service | SOC 2 |\n|---|---|\n| Azure Files | |\n";
        assert!(matches!(
            extract_scope(&extract_markdown(md), &spec, &ScopeSettings::default()),
            ScopeOutcome::Broken { .. }
        ));
    }

    #[test]
    fn category_rows_do_not_count_against_a_matrix() {
        // Two services a category, as a grid lays out a full-width row.
        let set = run("| Service | SOC 1 | SOC 2 | HIPAA |\n|---|---|---|---|\n\
             | Compute | Compute | Compute | Compute |\n| VMs | ✅ | ✅ | |\n| Functions | ✅ | | ✅ |\n\
             | Storage | Storage | Storage | Storage |\n| Files | ✅ | ✅ | ✅ |\n");
        assert_eq!(set.entries().len(), 7, "{set:?}");
        assert!(set.entries().contains(&ScopeEntry::new("SOC 1", "VMs")));
    }

    #[test]
    fn a_page_without_scope_is_empty_not_broken() {
        assert!(run("# Blog\n\nText.\n\n- a point\n").is_empty());
    }
}
