//! What `verify` finds in the RFC 3161 tokens of the store or of a bundle:
//! each token granted and stamping its checkpoint's signed text; with
//! `[evidence] tsa_ca_file`, its CMS signature and certificate chain
//! verified too ([`super::rfc3161::verify_token`]); and the tokens' times
//! in checkpoint order. Without `tsa_ca_file` it says that the signatures
//! were not checked (an info line, not a finding). The tokens are read by
//! the caller ([`super::timestamp`]).

use std::collections::HashMap;

use sha2::{Digest as _, Sha256};

use super::Finding;
use super::checkpoint::Checkpoint;
use super::rfc3161::{self, TokenInfo, TokenProblem, TsaTrust};

/// One stored token as `verify` found it.
#[derive(Debug, Clone)]
pub struct StoredToken {
    /// What a finding about it names: `timestamp of checkpoint 3`,
    /// `ledger/checkpoints/000003.tsr`.
    pub concerns: String,
    /// The checkpoint it is stored for.
    pub checkpoint_id: i64,
    /// The DER `TimeStampResp`, or why it could not be read.
    pub reply: Result<Vec<u8>, String>,
}

/// Every problem with `tokens` (in any order) against `checkpoints`.
pub fn check(
    tokens: Vec<StoredToken>,
    checkpoints: &[Checkpoint],
    trust: Option<&TsaTrust>,
) -> Vec<Finding> {
    let by_id: HashMap<i64, &Checkpoint> = checkpoints.iter().map(|c| (c.id, c)).collect();
    let mut findings = Vec::new();
    if !tokens.is_empty() && trust.is_none() {
        findings.push(Finding::info(
            "timestamps",
            "the tokens' CMS signatures and certificate chains were not checked: name the TSA's CA certificates in [evidence] tsa_ca_file (and pass --config); their imprints and order were checked",
        ));
    }
    let mut stamped: Vec<(i64, String, TokenInfo)> = Vec::new();
    for token in tokens {
        let Some(checkpoint) = by_id.get(&token.checkpoint_id) else {
            findings.push(Finding::new(
                token.concerns,
                "names a checkpoint that does not exist",
            ));
            continue;
        };
        match verified(&token, checkpoint, trust) {
            Ok(info) => stamped.push((checkpoint.id, token.concerns, info)),
            Err(problem) => findings.push(Finding::new(token.concerns, problem)),
        }
    }
    stamped.sort_by_key(|(id, _, _)| *id);
    for pair in stamped.windows(2) {
        let ((before, _, earlier), (id, concerns, later)) = (&pair[0], &pair[1]);
        // Beyond both tokens' stated accuracy: a TSA's own error is not a finding.
        if later.latest() < earlier.earliest() {
            findings.push(Finding::new(
                concerns,
                format!(
                    "checkpoint {id} was timestamped at {}, before checkpoint {before} it extends ({}): tokens were moved between checkpoints or the log was rewritten and stamped again",
                    later.gen_time.to_rfc3339(),
                    earlier.gen_time.to_rfc3339()
                ),
            ));
        }
    }
    findings
}

/// The token's assertions once it checks out against `checkpoint` (and
/// `trust`), or the problem, worded for a finding.
fn verified(
    token: &StoredToken,
    checkpoint: &Checkpoint,
    trust: Option<&TsaTrust>,
) -> Result<TokenInfo, String> {
    let reply = token.reply.as_ref().map_err(Clone::clone)?;
    let granted = rfc3161::parse_response(reply)
        .map_err(|e| format!("is not a granted RFC 3161 reply: {e}"))?;
    let text = checkpoint.text();
    let result = match trust {
        Some(trust) => {
            rfc3161::verify_token(&granted.token, trust, &Sha256::digest(text.as_bytes()))
                .map(|verified| verified.info)
        }
        None => granted.info.stamps(text.as_bytes()).map(|()| granted.info),
    };
    result.map_err(|problem| match problem {
        TokenProblem::Imprint { .. } => format!(
            "message imprint does not match checkpoint {}: the token stamps another text than the checkpoint's ({problem}); the checkpoint or the token was replaced",
            checkpoint.id
        ),
        other => other.to_string(),
    })
}
