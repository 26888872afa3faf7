//! What `verify` finds in the times of the store's or a bundle's
//! checkpoints and RFC 3161 tokens: each token granted and stamping its
//! checkpoint's signed text; with `[evidence] tsa_ca_file`, its CMS
//! signature and certificate chain verified too
//! ([`super::rfc3161::verify_token`]); the tokens' times in checkpoint
//! order; no token earlier than the time its checkpoint states; and the
//! checkpoints' own times in order. Without `tsa_ca_file` it says that the
//! signatures were not checked (an info line, not a finding). The tokens
//! are read by the caller ([`super::timestamp`]).

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

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

/// How much earlier than its checkpoint's stated time a token may be, or a
/// checkpoint than the one before it: the host's clock may be off. Five
/// minutes is Kerberos's default allowance for clock skew; a host kept by
/// NTP is within a second, while a checkpoint dated later than the TSA saw
/// it by more (a time set forward), or signed earlier than its predecessor
/// (re-signed with another time), shows.
pub const CLOCK_TOLERANCE: Duration = Duration::from_secs(300);

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
            Ok(info) => {
                if let Some(at) = time_of(checkpoint)
                    && info.latest() + CLOCK_TOLERANCE < at
                {
                    findings.push(Finding::new(
                        &token.concerns,
                        format!(
                            "checkpoint {} states it was signed at {}, but the TSA stamped it at {}, {} earlier: a token cannot precede what it stamps, so the checkpoint's time was set forward (or the host's clock was more than {} minutes ahead)",
                            checkpoint.id,
                            checkpoint.at,
                            info.gen_time.to_rfc3339(),
                            humantime::format_duration(Duration::from_secs(
                                (at - info.gen_time).num_seconds().unsigned_abs()
                            )),
                            CLOCK_TOLERANCE.as_secs() / 60
                        ),
                    ));
                }
                stamped.push((checkpoint.id, token.concerns, info))
            }
            Err(problem) => findings.push(Finding::new(token.concerns, problem)),
        }
    }
    findings.extend(checkpoint_times(checkpoints));
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

/// A checkpoint's stated time, when it is one.
fn time_of(checkpoint: &Checkpoint) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(&checkpoint.at)
        .ok()
        .map(|t| t.to_utc())
}

/// The checkpoints' own times: each no earlier than the one before it
/// (beyond [`CLOCK_TOLERANCE`]), each a time.
fn checkpoint_times(checkpoints: &[Checkpoint]) -> Vec<Finding> {
    let mut ordered: Vec<&Checkpoint> = checkpoints.iter().collect();
    ordered.sort_by_key(|c| c.id);
    let mut findings = Vec::new();
    let mut previous: Option<(&Checkpoint, DateTime<Utc>)> = None;
    for checkpoint in ordered {
        let concerns = format!(
            "checkpoint {} (tree size {})",
            checkpoint.id, checkpoint.tree_size
        );
        let Some(at) = time_of(checkpoint) else {
            findings.push(Finding::new(
                concerns,
                format!("its time {:?} is not an RFC 3339 time", checkpoint.at),
            ));
            continue;
        };
        if let Some((before, before_at)) = previous
            && at + CLOCK_TOLERANCE < before_at
        {
            findings.push(Finding::new(
                concerns,
                format!(
                    "signed at {}, before checkpoint {} it extends ({}): the checkpoints were re-signed with other times, or the host's clock went back more than {} minutes",
                    checkpoint.at,
                    before.id,
                    before.at,
                    CLOCK_TOLERANCE.as_secs() / 60
                ),
            ));
        }
        previous = Some((checkpoint, at));
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
