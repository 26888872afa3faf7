//! An HTML table's rows, read from its DOM: cells laid out on a grid as the
//! page shows them (spans repeat their text, within a byte budget), nested
//! tables folded into their cell, icon-only cells read from their image.

use std::collections::HashSet;

use ego_tree::NodeId;
use ego_tree::iter::Edge;
use scraper::Node;

use super::document::TableRow;
use super::elements::{BLOCK_ELEMENTS, is_skipped};
use super::superscript::Superscript;

/// Widest `colspan` and tallest `rowspan` honoured (HTML caps them at 1000
/// and 65534; scope tables span a few columns or rows).
pub(super) const MAX_COLSPAN: usize = 100;
pub(super) const MAX_ROWSPAN: usize = 1_000;
/// What a page's spans may copy, in bytes (text plus a `String` per copy);
/// past it a span stops repeating its cell, so a hostile page cannot
/// exhaust memory.
pub(super) const MAX_SPAN_BYTES: usize = 4 << 20;

/// A cell being read: its text, the text of its first image, and how many
/// columns and rows it spans.
struct Cell {
    text: String,
    image: Option<String>,
    columns: usize,
    rows: usize,
}

impl Cell {
    /// Notes an image: its `alt`, else `title`, else `aria-label`.
    fn image(&mut self, el: &scraper::node::Element) {
        if self.image.is_none() {
            self.image = ["alt", "title", "aria-label"]
                .into_iter()
                .filter_map(|name| el.attr(name))
                .find(|text| !text.trim().is_empty())
                .map(str::to_string);
        }
    }

    /// The cell's text; a cell with only an image (an icon check mark) has
    /// the image's text.
    fn finish(mut self) -> Self {
        if self.text.trim().is_empty()
            && let Some(image) = self.image.take()
        {
            self.text = image;
        }
        self
    }

    fn new(el: &scraper::node::Element) -> Self {
        let span = |value: &str, zero: usize, max: usize| {
            value
                .trim()
                .parse::<usize>()
                .map_or(1, |n| if n == 0 { zero } else { n.min(max) })
        };
        let mut cell = Cell {
            text: String::new(),
            image: None,
            columns: 1,
            rows: 1,
        };
        // One walk of the attributes: `Element::attr` interns the name it
        // is given, for every cell of every table.
        for (name, value) in el.attrs() {
            match name {
                "colspan" => cell.columns = span(value, 1, MAX_COLSPAN),
                "rowspan" => cell.rows = span(value, MAX_ROWSPAN, MAX_ROWSPAN),
                _ => {}
            }
        }
        cell
    }
}

/// Lays a table's cells on a grid, as the page shows them: a cell spanning
/// several columns or rows repeats its text in each, so every value stays
/// under its header. A `rowspan` ends with its row group (`thead`, `tbody`,
/// `tfoot`); `rowspan=0` runs to that end.
struct SpanGrid<'b> {
    rows: Vec<TableRow>,
    /// Per column: the rows a cell from above still covers, and its text.
    below: Vec<(usize, String)>,
    /// Bytes spans may still copy (see [`MAX_SPAN_BYTES`]), page-wide.
    budget: &'b mut usize,
}

impl SpanGrid<'_> {
    /// `text` again for a spanned position, if the budget allows.
    fn copy(&mut self, text: &str) -> Option<String> {
        let cost = text.len() + std::mem::size_of::<String>();
        *self.budget = self.budget.checked_sub(cost)?;
        Some(text.to_string())
    }

    fn push_row(&mut self, cells: Vec<Cell>, header: bool) {
        let mut out: Vec<String> = Vec::with_capacity(cells.len());
        let mut cells = cells.into_iter();
        // The last column a span from above still covers. The row only
        // writes columns before the one it is at, so this holds for the
        // rest of it: found once, not once per empty position.
        let last_spanned = self.below.iter().rposition(|(left, _)| *left > 0);
        loop {
            let col = out.len();
            if let Some((left, text)) = self.below.get_mut(col).filter(|(left, _)| *left > 0) {
                *left -= 1;
                let text = std::mem::take(text);
                match self.copy(&text) {
                    Some(copy) => {
                        self.below[col].1 = text;
                        out.push(copy);
                    }
                    None => self.end_spans(),
                }
                continue;
            }
            let Some(cell) = cells.next() else {
                // An empty position left of a span from above, paid for
                // like a copy: a hostile table cannot pad rows for free.
                if last_spanned.is_some_and(|last| last > col) && !self.below.is_empty() {
                    match self.copy("") {
                        Some(empty) => out.push(empty),
                        None => self.end_spans(),
                    }
                    continue;
                }
                break;
            };
            for k in 0..cell.columns {
                let text = if k == 0 {
                    cell.text.clone()
                } else if let Some(copy) = self.copy(&cell.text) {
                    copy
                } else {
                    self.end_spans();
                    break;
                };
                let col = out.len();
                if self.below.len() <= col {
                    self.below.resize_with(col + 1, Default::default);
                }
                self.below[col] = if cell.rows > 1 {
                    (cell.rows - 1, text.clone())
                } else {
                    (0, String::new())
                };
                out.push(text);
            }
        }
        self.rows.push(TableRow { header, cells: out });
    }

    /// A row group ended, or the budget is spent: spans from above stop
    /// here.
    fn end_spans(&mut self) {
        self.below.clear();
    }
}

/// The rows of one table (not of tables nested in its cells, whose text
/// joins the enclosing cell), spans laid out by [`SpanGrid`].
pub(super) fn collect_table(
    table: ego_tree::NodeRef<'_, Node>,
    ignored: &HashSet<NodeId>,
    span_budget: &mut usize,
) -> Vec<TableRow> {
    let mut grid = SpanGrid {
        rows: Vec::new(),
        below: Vec::new(),
        budget: span_budget,
    };
    let mut row: Option<Vec<Cell>> = None;
    let mut cell: Option<Cell> = None;
    let mut all_header = true;
    let mut in_thead = false;
    let mut nested = 0usize;
    let mut sup = Superscript::default();
    let mut skip_until: Option<NodeId> = None;
    for edge in table.traverse() {
        match edge {
            Edge::Open(node) => {
                if skip_until.is_some() || node.id() == table.id() {
                    continue;
                }
                match node.value() {
                    Node::Text(text) => {
                        if let Some(cell) = cell.as_mut() {
                            cell.text.push_str(text);
                        }
                    }
                    Node::Element(el) => {
                        if is_skipped(el, node.id(), ignored) {
                            skip_until = Some(node.id());
                            continue;
                        }
                        match el.name() {
                            "table" => {
                                nested += 1;
                                if let Some(cell) = cell.as_mut() {
                                    cell.text.push(' ');
                                }
                            }
                            "thead" if nested == 0 => in_thead = true,
                            "tr" if nested == 0 => {
                                row = Some(Vec::new());
                                all_header = true;
                            }
                            tag @ ("td" | "th") if nested == 0 => {
                                all_header &= tag == "th";
                                cell = Some(Cell::new(el));
                            }
                            "img" => {
                                if let Some(cell) = cell.as_mut() {
                                    cell.image(el);
                                }
                            }
                            "sup" => {
                                if let Some(cell) = cell.as_mut() {
                                    sup.open(&cell.text);
                                }
                            }
                            tag if tag == "br" || BLOCK_ELEMENTS.contains(&tag) || tag == "li" => {
                                if let Some(cell) = cell.as_mut() {
                                    cell.text.push(' ');
                                }
                            }
                            _ => {}
                        }
                    }
                    _ => {}
                }
            }
            Edge::Close(node) => {
                if let Some(id) = skip_until {
                    if id == node.id() {
                        skip_until = None;
                    }
                    continue;
                }
                let Node::Element(el) = node.value() else {
                    continue;
                };
                match el.name() {
                    "table" if node.id() != table.id() => nested -= 1,
                    "sup" => {
                        if let Some(cell) = cell.as_mut() {
                            sup.close(&mut cell.text);
                        }
                    }
                    group @ ("thead" | "tbody" | "tfoot") if nested == 0 => {
                        in_thead &= group != "thead";
                        grid.end_spans();
                    }
                    "td" | "th" if nested == 0 => {
                        if let (Some(done), Some(row)) = (cell.take(), row.as_mut()) {
                            row.push(done.finish());
                        }
                    }
                    "tr" if nested == 0 => {
                        if let Some(cells) = row.take() {
                            let header = in_thead || (all_header && !cells.is_empty());
                            grid.push_row(cells, header);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    grid.rows
}
