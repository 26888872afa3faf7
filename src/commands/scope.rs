//! `scopewatch scope`: the pairs in scope now or at a time, a service's
//! scope history, and the claims cross-check.

use super::{Env, Status, UsageError, print_json, print_table, query_error};
use crate::cli::{ScopeArgs, ScopeCommand};
use crate::clock;
use crate::query;
use crate::scope::claims::{self, Pair};
use crate::store::{ScopeFilter, ScopeRow, Store};

pub fn run(env: &Env, args: ScopeArgs) -> anyhow::Result<Status> {
    let (config, store) = env.open_existing_store()?;
    if let Some(ScopeCommand::History(history)) = args.command {
        let transitions =
            query::scope_history(&store, history.service.as_deref()).map_err(query_error)?;
        if history.json {
            print_json(&transitions)?;
        } else {
            let rows: Vec<Vec<String>> = transitions
                .iter()
                .map(|t| {
                    let (certification, service) = match &t.from {
                        Some(from) => (
                            renamed(&from.certification, &t.certification),
                            renamed(&from.service, &t.service),
                        ),
                        None => (t.certification.clone(), t.service.clone()),
                    };
                    vec![
                        t.at.clone(),
                        t.change.clone(),
                        certification,
                        service,
                        t.source.clone(),
                        t.snapshot.to_string(),
                    ]
                })
                .collect();
            print_table(
                &[
                    "AT",
                    "CHANGE",
                    "CERTIFICATION",
                    "SERVICE",
                    "SOURCE",
                    "SNAPSHOT",
                ],
                &rows,
            )?;
        }
        if transitions.is_empty()
            && let Some(service) = &history.service
        {
            let names = store.scope_at(None, &ScopeFilter::default())?;
            let names = names.iter().map(|r| r.service.as_str());
            hint_no_match(&claims::similar_names(
                service,
                names,
                claims::service_words,
            ))?;
        }
        return Ok(Status::Success);
    }
    if args.check_claims {
        let config = config.ok_or_else(|| {
            UsageError(
                "--check-claims needs the configuration, to know which sources are claims".into(),
            )
        })?;
        let claim_sources: Vec<&str> = config
            .sources
            .iter()
            .filter(|s| s.scope.is_claim())
            .map(|s| s.id.as_str())
            .collect();
        return check_claims(&store, &claim_sources, args.json);
    }
    let at = args
        .at
        .as_deref()
        .map(|t| query::parse_time("at", t, clock::now()))
        .transpose()
        .map_err(query_error)?;
    let filtered = args.service.is_some() || args.certification.is_some();
    let rows = query::scope(
        &store,
        config.as_ref(),
        at.as_deref(),
        &ScopeFilter {
            sources: args.sources.clone(),
            service: args.service.clone(),
            certification: args.certification.clone(),
        },
    )
    .map_err(query_error)?;
    if args.json {
        print_json(&rows)?;
    } else {
        let table: Vec<[&str; 3]> = rows
            .iter()
            .map(|r| [r.certification, r.service, r.source])
            .collect();
        print_table(&["CERTIFICATION", "SERVICE", "SOURCE"], &table)?;
        let mut stale: Vec<(&str, &str)> = rows
            .iter()
            .filter_map(|r| Some((r.source, r.stale_since?)))
            .collect();
        stale.dedup();
        for (source, since) in stale {
            say!(
                "stale: the scope of {source} is unreadable since {since}; its pairs above are the last readable ones"
            );
        }
    }
    if rows.is_empty() && filtered {
        let all = store.scope_at(
            at.as_deref(),
            &ScopeFilter {
                sources: args.sources,
                ..ScopeFilter::default()
            },
        )?;
        let mut offers = Vec::new();
        if let Some(service) = &args.service {
            let names = all.iter().map(|r| r.service.as_str());
            offers.extend(claims::similar_names(service, names, claims::service_words));
        }
        if let Some(certification) = &args.certification {
            let names = all.iter().map(|r| r.certification.as_str());
            offers.extend(claims::similar_names(
                certification,
                names,
                claims::certification_key,
            ));
        }
        hint_no_match(&offers)?;
    }
    Ok(Status::Success)
}

/// "old → new", or the name once when a rename left it as it was.
fn renamed(from: &str, to: &str) -> String {
    if from == to {
        to.to_string()
    } else {
        format!("{from} → {to}")
    }
}

/// Says on standard error that a filter matched nothing, offering the
/// names it probably meant.
fn hint_no_match(offers: &[&str]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let quoted: Vec<String> = offers.iter().map(|name| format!("{name:?}")).collect();
    let hint = match quoted.as_slice() {
        [] => "no match; `scopewatch scope` lists every pair in scope".to_string(),
        [one] => format!("no match; did you mean {one}?"),
        [init @ .., last] => format!("no match; did you mean {} or {last}?", init.join(", ")),
    };
    writeln!(std::io::stderr().lock(), "{hint}")?;
    Ok(())
}

fn check_claims(store: &Store, claim_sources: &[&str], json: bool) -> anyhow::Result<Status> {
    let (claims, statements): (Vec<ScopeRow>, Vec<ScopeRow>) = store
        .scope_at(None, &ScopeFilter::default())?
        .into_iter()
        .partition(|row| claim_sources.contains(&row.source.as_str()));
    let pair = |row: ScopeRow| Pair {
        source: row.source,
        certification: row.certification,
        service: row.service,
    };
    let report = claims::check_claims(
        &claims.into_iter().map(pair).collect::<Vec<_>>(),
        &statements.into_iter().map(pair).collect::<Vec<_>>(),
    );
    if json {
        print_json(&report)?;
    } else {
        say!(
            "{}: {} supported by a statement, {} not",
            crate::wording::counted(report.claims, "claim", "claims"),
            report.supported,
            report.unsupported.len()
        );
        let rows: Vec<Vec<String>> = report
            .unsupported
            .iter()
            .map(|u| {
                let candidates: Vec<String> = u
                    .candidates
                    .iter()
                    .map(|c| format!("{} ({})", c.service, c.source))
                    .collect();
                vec![
                    u.certification.clone(),
                    u.service.clone(),
                    u.source.clone(),
                    candidates.join(", "),
                ]
            })
            .collect();
        if !rows.is_empty() {
            say!("\nUnsupported claims:");
            print_table(
                &[
                    "CERTIFICATION",
                    "SERVICE",
                    "CLAIMED BY",
                    "BROADER STATEMENT ENTRIES",
                ],
                &rows,
            )?;
        }
        if !report.unmentioned.is_empty() {
            say!("\nIn a statement, not on the claim page:");
            let rows: Vec<Vec<String>> = report
                .unmentioned
                .iter()
                .map(|p| vec![p.certification.clone(), p.service.clone(), p.source.clone()])
                .collect();
            print_table(&["CERTIFICATION", "SERVICE", "STATEMENT"], &rows)?;
        }
    }
    Ok(if report.unsupported.is_empty() {
        Status::Success
    } else {
        Status::Findings
    })
}
