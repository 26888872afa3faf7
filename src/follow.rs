//! Which pages a source follows after one of its fetches (`follow`): the
//! pages it still links to keep their place, new links take a free place,
//! and a page it has stopped linking to is retired after
//! [`RETIRE_AFTER`] of its fetches, its history kept. At most `follow.max`
//! followed pages of one source are active (followed, or not yet retired)
//! at a time, however often the page's links change. Pure: the store reads
//! and writes what this decides.

use std::collections::{HashMap, HashSet};

use url::Url;

/// Fetches of its parent in a row that do not follow a page before it is
/// retired. A link that drops out of one fetch (a rotating "recommended"
/// box, an A/B-tested navigation) is usually back in the next; three
/// fetches (18 hours on the default schedule) tell a page that was removed
/// from one that flickered, and meanwhile the page holds its place, so a
/// parent whose links change on every fetch still has at most `follow.max`
/// active pages.
pub const RETIRE_AFTER: u32 = 3;

/// A page the parent links to, with its followed id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub id: String,
    pub url: Url,
}

/// The links a parent's fetch found (each id once, in page order), and
/// its `follow.max`.
#[derive(Debug, Clone)]
pub struct Followed {
    pub links: Vec<Link>,
    pub max: usize,
}

/// A page the parent followed before, as the store knows it.
#[derive(Debug, Clone)]
pub struct Child {
    pub id: String,
    /// Fetches of the parent in a row that did not follow it.
    pub unfollowed: u32,
    pub retired: bool,
}

/// What one fetch of the parent decides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decision {
    /// The links to fetch now, in page order: their count starts again.
    pub fetch: Vec<Link>,
    /// Active pages not fetched now: one more fetch without them.
    pub unfollowed: Vec<String>,
    /// Of those, the ones retired now.
    pub retire: Vec<String>,
}

/// Decides which of `followed.links` to fetch, given the pages followed
/// before (`children`).
pub fn decide(children: &[Child], followed: &Followed) -> Decision {
    let known: HashMap<&str, &Child> = children.iter().map(|c| (c.id.as_str(), c)).collect();
    let active = |id: &str| known.get(id).is_some_and(|c| !c.retired);
    // Active pages still linked keep their place (as many as there are places).
    let kept: Vec<&Link> = followed
        .links
        .iter()
        .filter(|link| active(&link.id))
        .take(followed.max)
        .collect();
    let kept_ids: HashSet<&str> = kept.iter().map(|link| link.id.as_str()).collect();
    let mut decision = Decision::default();
    for child in children
        .iter()
        .filter(|c| !c.retired && !kept_ids.contains(c.id.as_str()))
    {
        decision.unfollowed.push(child.id.clone());
        if child.unfollowed + 1 >= RETIRE_AFTER {
            decision.retire.push(child.id.clone());
        }
    }
    // Pages not yet retired hold their place until they are.
    let holding = decision.unfollowed.len() - decision.retire.len();
    let room = followed.max.saturating_sub(kept.len() + holding);
    let admitted: HashSet<&str> = followed
        .links
        .iter()
        .filter(|link| !active(&link.id))
        .take(room)
        .map(|link| link.id.as_str())
        .collect();
    decision.fetch = followed
        .links
        .iter()
        .filter(|link| kept_ids.contains(link.id.as_str()) || admitted.contains(link.id.as_str()))
        .cloned()
        .collect();
    decision
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(names: &[&str]) -> Vec<Link> {
        names
            .iter()
            .map(|name| Link {
                id: format!("p~{name}"),
                url: Url::parse(&format!("https://h.example/{name}")).unwrap(),
            })
            .collect()
    }

    /// Applies a decision to the children, as the store does.
    fn apply(children: &mut Vec<Child>, decision: &Decision) {
        for link in &decision.fetch {
            match children.iter_mut().find(|c| c.id == link.id) {
                Some(child) => {
                    child.unfollowed = 0;
                    child.retired = false;
                }
                None => children.push(Child {
                    id: link.id.clone(),
                    unfollowed: 0,
                    retired: false,
                }),
            }
        }
        for child in children.iter_mut() {
            if decision.unfollowed.contains(&child.id) {
                child.unfollowed += 1;
            }
            if decision.retire.contains(&child.id) {
                child.retired = true;
            }
        }
    }

    fn ids(links: &[Link]) -> Vec<&str> {
        links.iter().map(|l| l.id.as_str()).collect()
    }

    #[test]
    fn links_that_change_on_every_fetch_never_hold_more_than_max_pages() {
        let mut children = Vec::new();
        for fetch in 0..30 {
            let names: Vec<String> = (0..5).map(|i| format!("f{fetch}-{i}")).collect();
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            let decision = decide(
                &children,
                &Followed {
                    links: links(&names),
                    max: 3,
                },
            );
            apply(&mut children, &decision);
            let active = children.iter().filter(|c| !c.retired).count();
            assert!(active <= 3, "fetch {fetch}: {active} active");
        }
        // Every fetch adds pages only once old ones retire: 3 pages per
        // RETIRE_AFTER fetches, not 5 per fetch.
        assert!(
            children.len() <= 3 * (30 / RETIRE_AFTER as usize + 1),
            "{}",
            children.len()
        );
    }

    #[test]
    fn a_page_no_longer_linked_retires_after_three_fetches_and_comes_back_if_linked() {
        let mut children = Vec::new();
        let first = decide(
            &children,
            &Followed {
                links: links(&["a", "b"]),
                max: 5,
            },
        );
        assert_eq!(ids(&first.fetch), ["p~a", "p~b"]);
        apply(&mut children, &first);
        for fetch in 1..=RETIRE_AFTER {
            let decision = decide(
                &children,
                &Followed {
                    links: links(&["a"]),
                    max: 5,
                },
            );
            assert_eq!(ids(&decision.fetch), ["p~a"]);
            assert_eq!(decision.unfollowed, ["p~b"]);
            let retired_now = fetch == RETIRE_AFTER;
            assert_eq!(decision.retire.is_empty(), !retired_now, "fetch {fetch}");
            apply(&mut children, &decision);
        }
        assert!(children.iter().any(|c| c.id == "p~b" && c.retired));
        // Retired, it is not fetched; linked again, it is followed again.
        let again = decide(
            &children,
            &Followed {
                links: links(&["a", "b"]),
                max: 5,
            },
        );
        assert_eq!(ids(&again.fetch), ["p~a", "p~b"]);
        assert!(again.unfollowed.is_empty());
    }

    #[test]
    fn a_flicker_keeps_the_page_and_its_place() {
        let mut children = Vec::new();
        let first = decide(
            &children,
            &Followed {
                links: links(&["a", "b"]),
                max: 2,
            },
        );
        apply(&mut children, &first);
        // b is missing once: it keeps its place, so c waits.
        let missing = decide(
            &children,
            &Followed {
                links: links(&["a", "c"]),
                max: 2,
            },
        );
        assert_eq!(ids(&missing.fetch), ["p~a"]);
        apply(&mut children, &missing);
        let back = decide(
            &children,
            &Followed {
                links: links(&["a", "b", "c"]),
                max: 2,
            },
        );
        assert_eq!(ids(&back.fetch), ["p~a", "p~b"]);
    }
}
