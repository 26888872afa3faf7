//! Script-shell recognition on real pages: every corpus version, rendered
//! as the live site serves it, is content and never a shell.

use crate::common::{corpus_dir, corpus_versions};
use scopewatch::demo::site;
use scopewatch::extract::{ExtractLimits, ExtractRules, extract, shell};
use scraper::{Html, Selector};

#[test]
fn no_corpus_page_is_a_script_shell() {
    let rules = ExtractRules {
        content: vec![Selector::parse("main").unwrap()],
        ignore: vec![
            Selector::parse(".feedback").unwrap(),
            Selector::parse("time").unwrap(),
        ],
        ..ExtractRules::default()
    };
    let mut pages = 0;
    for source in std::fs::read_dir(corpus_dir("")).unwrap() {
        let source = source.unwrap();
        if !source.file_type().unwrap().is_dir() {
            continue;
        }
        let name = source.file_name().to_string_lossy().into_owned();
        for (file, markdown) in corpus_versions(&name) {
            let page = site::render(&markdown);
            let text = extract(
                page.as_bytes(),
                Some("text/html"),
                "http://x/",
                &rules,
                &ExtractLimits::default(),
            )
            .unwrap()
            .text;
            assert_eq!(
                shell::detect(&Html::parse_document(&page), &text),
                None,
                "{name}/{file}"
            );
            // Also with a mount point and a bundle, as a documentation site
            // that hydrates server-rendered content would carry.
            let hydrated = page.replace(
                "</body>",
                "<div id=\"root\"></div><script src=\"/_themes/docs.a1b2c3.js\"></script></body>",
            );
            assert_eq!(
                shell::detect(&Html::parse_document(&hydrated), &text),
                None,
                "{name}/{file} (hydrated)"
            );
            pages += 1;
        }
    }
    assert!(pages >= 10, "the corpus has {pages} pages");
}
