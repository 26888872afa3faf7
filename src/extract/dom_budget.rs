//! HTML parsing under a node budget. The HTML parser re-opens unclosed
//! formatting elements (`<b>`, `<i>`, `<a>`, ...) in every block that
//! follows them (the "reconstruction of active formatting elements"), so a
//! 44 KB page of 1,900 unclosed `<b>`s and 3,000 paragraphs builds millions
//! of nodes: the pre-scan, which counts tags written, cannot see it coming.
//!
//! [`BudgetSink`] stands between the parser and scraper's tree: it counts
//! the nodes the parser creates and, past the budget, stops building. From
//! then on, nodes are handed to the parser as placeholders (a name and a
//! number, no tree memory) and every change to the tree is ignored, so the
//! parser's view stays consistent and nothing grows. The input is fed in
//! slices and the parse stops at the end of the slice in which the budget
//! ran out: the page is refused, not half-read.

use std::borrow::Cow;
use std::cell::{Cell, Ref};

use ego_tree::NodeId;
use html5ever::interface::{ElemName, ElementFlags, NodeOrText, QuirksMode, TreeSink};
use html5ever::tendril::{StrTendril, TendrilSink};
use html5ever::{Attribute, LocalName, Namespace, QualName};
use scraper::{Html, HtmlTreeSink};

/// How much of the page the parser reads between two looks at the budget.
/// Past the budget the rest of a slice still costs the parser's own work:
/// for the formatting bomb above, 125 paragraphs each re-opening 1,900
/// placeholders in an ever deeper stack (0.2 s with 1 KiB slices, a second
/// with 4 KiB). Feeding an ordinary page in slices costs about 1% of its
/// parse.
const SLICE_BYTES: usize = 1 << 10;

/// Parses `html` as a document, creating at most `max_nodes` nodes; `None`
/// when the page needs more.
pub(super) fn parse_document(html: &str, max_nodes: usize) -> Option<Html> {
    let sink = BudgetSink {
        tree: HtmlTreeSink::new(Html::new_document()),
        left: Cell::new(max_nodes),
        spent: Cell::new(false),
        placeholders: Cell::new(0),
    };
    let mut parser = html5ever::parse_document(sink, Default::default());
    let mut rest = html;
    while !rest.is_empty() {
        let mut cut = rest.len().min(SLICE_BYTES);
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        let (slice, after) = rest.split_at(cut);
        parser.process(StrTendril::from_slice(slice));
        if parser.tokenizer.sink.sink.spent.get() {
            return None;
        }
        rest = after;
    }
    let (html, spent) = parser.finish();
    (!spent).then_some(html)
}

/// A node as the parser holds it: one in scraper's tree, or a placeholder
/// for one created past the budget.
#[derive(Clone, Debug)]
enum Handle {
    Built(NodeId),
    /// Numbered, so two placeholders are never the same node.
    Placeholder {
        number: u64,
        name: QualName,
    },
}

/// scraper's tree sink with a node budget (see the module docs).
struct BudgetSink {
    tree: HtmlTreeSink,
    left: Cell<usize>,
    spent: Cell<bool>,
    placeholders: Cell<u64>,
}

impl BudgetSink {
    /// Takes one node from the budget: false once it is spent.
    fn take_one(&self) -> bool {
        match self.left.get().checked_sub(1) {
            Some(left) if !self.spent.get() => {
                self.left.set(left);
                true
            }
            _ => {
                self.spent.set(true);
                false
            }
        }
    }

    fn placeholder(&self, name: QualName) -> Handle {
        let number = self.placeholders.get() + 1;
        self.placeholders.set(number);
        Handle::Placeholder { number, name }
    }

    /// The built nodes of `handles`, while the budget lasts; `None` once
    /// it is spent or any of them is a placeholder: the change is dropped.
    fn built<const N: usize>(&self, handles: [&Handle; N]) -> Option<[NodeId; N]> {
        if self.spent.get() {
            return None;
        }
        let mut ids = [None; N];
        for (id, handle) in ids.iter_mut().zip(handles) {
            *id = match handle {
                Handle::Built(id) => Some(*id),
                Handle::Placeholder { .. } => return None,
            };
        }
        Some(ids.map(|id| id.expect("every id was set above")))
    }

    /// `child` with a built node, or `None` when it is a placeholder. Text
    /// next to `neighbour` (the parent's last child, or the sibling before
    /// the insertion point) joins it when that is text; otherwise it is a
    /// new node and takes one from the budget.
    fn built_child(
        &self,
        child: NodeOrText<Handle>,
        neighbour: impl FnOnce(
            ego_tree::NodeRef<'_, scraper::Node>,
        ) -> Option<ego_tree::NodeRef<'_, scraper::Node>>,
        at: NodeId,
    ) -> Option<NodeOrText<NodeId>> {
        match child {
            NodeOrText::AppendNode(Handle::Built(id)) => Some(NodeOrText::AppendNode(id)),
            NodeOrText::AppendNode(Handle::Placeholder { .. }) => None,
            NodeOrText::AppendText(text) => {
                let joins = {
                    let html = self.tree.0.borrow();
                    html.tree
                        .get(at)
                        .and_then(neighbour)
                        .is_some_and(|node| node.value().is_text())
                };
                (joins || self.take_one()).then_some(NodeOrText::AppendText(text))
            }
        }
    }
}

/// An element's name, from scraper's tree or from a placeholder.
#[derive(Debug)]
enum Name<'a> {
    Built(Ref<'a, QualName>),
    Placeholder(&'a QualName),
}

impl ElemName for Name<'_> {
    fn ns(&self) -> &Namespace {
        match self {
            Name::Built(name) => &name.ns,
            Name::Placeholder(name) => &name.ns,
        }
    }

    fn local_name(&self) -> &LocalName {
        match self {
            Name::Built(name) => &name.local,
            Name::Placeholder(name) => &name.local,
        }
    }
}

impl TreeSink for BudgetSink {
    type Handle = Handle;
    /// The tree, and whether the budget ran out.
    type Output = (Html, bool);
    type ElemName<'a> = Name<'a>;

    fn finish(self) -> (Html, bool) {
        (self.tree.finish(), self.spent.get())
    }

    fn parse_error(&self, msg: Cow<'static, str>) {
        self.tree.parse_error(msg);
    }

    fn get_document(&self) -> Handle {
        Handle::Built(self.tree.get_document())
    }

    fn elem_name<'a>(&'a self, target: &'a Handle) -> Name<'a> {
        match target {
            Handle::Built(id) => Name::Built(self.tree.elem_name(id)),
            Handle::Placeholder { name, .. } => Name::Placeholder(name),
        }
    }

    fn create_element(&self, name: QualName, attrs: Vec<Attribute>, flags: ElementFlags) -> Handle {
        // A template's contents are a second node.
        let nodes = if flags.template { 2 } else { 1 };
        if (0..nodes).all(|_| self.take_one()) {
            Handle::Built(self.tree.create_element(name, attrs, flags))
        } else {
            self.placeholder(name)
        }
    }

    fn create_comment(&self, text: StrTendril) -> Handle {
        if self.take_one() {
            Handle::Built(self.tree.create_comment(text))
        } else {
            self.placeholder(QualName::new(None, html5ever::ns!(), LocalName::from("")))
        }
    }

    fn create_pi(&self, target: StrTendril, data: StrTendril) -> Handle {
        if self.take_one() {
            Handle::Built(self.tree.create_pi(target, data))
        } else {
            self.placeholder(QualName::new(None, html5ever::ns!(), LocalName::from("")))
        }
    }

    fn append(&self, parent: &Handle, child: NodeOrText<Handle>) {
        let Some([parent]) = self.built([parent]) else {
            return;
        };
        if let Some(child) = self.built_child(child, |p| p.last_child(), parent) {
            self.tree.append(&parent, child);
        }
    }

    fn append_based_on_parent_node(
        &self,
        element: &Handle,
        prev_element: &Handle,
        child: NodeOrText<Handle>,
    ) {
        let Some([element, prev]) = self.built([element, prev_element]) else {
            return;
        };
        // Text goes before `element` when it has a parent, else into `prev`.
        let has_parent = self
            .tree
            .0
            .borrow()
            .tree
            .get(element)
            .is_some_and(|e| e.parent().is_some());
        let child = if has_parent {
            self.built_child(child, |e| e.prev_sibling(), element)
        } else {
            self.built_child(child, |p| p.last_child(), prev)
        };
        if let Some(child) = child {
            self.tree
                .append_based_on_parent_node(&element, &prev, child);
        }
    }

    fn append_doctype_to_document(
        &self,
        name: StrTendril,
        public_id: StrTendril,
        system_id: StrTendril,
    ) {
        if self.take_one() {
            self.tree
                .append_doctype_to_document(name, public_id, system_id);
        }
    }

    fn get_template_contents(&self, target: &Handle) -> Handle {
        match target {
            Handle::Built(id) => Handle::Built(self.tree.get_template_contents(id)),
            placeholder @ Handle::Placeholder { .. } => placeholder.clone(),
        }
    }

    fn same_node(&self, x: &Handle, y: &Handle) -> bool {
        match (x, y) {
            (Handle::Built(x), Handle::Built(y)) => x == y,
            (Handle::Placeholder { number: x, .. }, Handle::Placeholder { number: y, .. }) => {
                x == y
            }
            _ => false,
        }
    }

    fn set_quirks_mode(&self, mode: QuirksMode) {
        self.tree.set_quirks_mode(mode);
    }

    fn append_before_sibling(&self, sibling: &Handle, new_node: NodeOrText<Handle>) {
        let Some([sibling]) = self.built([sibling]) else {
            return;
        };
        if let Some(new_node) = self.built_child(new_node, |s| s.prev_sibling(), sibling) {
            self.tree.append_before_sibling(&sibling, new_node);
        }
    }

    fn add_attrs_if_missing(&self, target: &Handle, attrs: Vec<Attribute>) {
        if let Some([target]) = self.built([target]) {
            self.tree.add_attrs_if_missing(&target, attrs);
        }
    }

    fn remove_from_parent(&self, target: &Handle) {
        if let Some([target]) = self.built([target]) {
            self.tree.remove_from_parent(&target);
        }
    }

    fn reparent_children(&self, node: &Handle, new_parent: &Handle) {
        if let Some([node, new_parent]) = self.built([node, new_parent]) {
            self.tree.reparent_children(&node, &new_parent);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parse under a budget gives the tree the plain parse gives.
    #[test]
    fn within_budget_the_tree_is_the_plain_parse() {
        let page = format!(
            "<!doctype html><title>t</title><table><tr><td>a<b>b<p>c</table><template><i>x</i></template>{}<p>é</p>",
            "<div class=x>d<!-- c --></div>".repeat(2_000)
        );
        let budgeted = parse_document(&page, usize::MAX).unwrap();
        assert_eq!(budgeted, Html::parse_document(&page));
    }

    #[test]
    fn the_parse_stops_when_the_budget_runs_out() {
        assert!(parse_document(&"<p>x</p>".repeat(100), 150).is_none());
        assert!(parse_document(&"<p>x</p>".repeat(100), 300).is_some());
        // Few tags, millions of nodes: 1,900 formatting elements re-opened
        // in each of 3,000 paragraphs.
        let bomb = format!(
            "<div>{}</div>{}",
            (0..1_900)
                .map(|i| format!("<b id={i}>"))
                .collect::<String>(),
            "<p>x</p>".repeat(3_000)
        );
        assert!(parse_document(&bomb, 300_000).is_none());
    }
}
