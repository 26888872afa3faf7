//! `scopewatch verify`: recompute the hash chain and blob hashes of the
//! live database and report every finding.

use super::{Env, Status, print_json};

pub fn run(env: &Env, json: bool) -> anyhow::Result<Status> {
    let (_, store) = env.open_existing_store()?;
    let findings = store.verify_chain()?;
    if json {
        print_json(&findings)?;
    } else if findings.is_empty() {
        println!("chain verified: every record hash, link and blob hash matches");
    } else {
        for finding in &findings {
            println!("record {}: {}", finding.record_id, finding.problem);
        }
        println!("{} findings", findings.len());
    }
    Ok(if findings.is_empty() {
        Status::Success
    } else {
        Status::Findings
    })
}
