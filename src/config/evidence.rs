//! What the configuration hands the evidence hooks and `verify`: the
//! `config` ledger leaf in force, what follows a sweep, and the extraction
//! settings re-extraction re-runs. Built here, so that evidence reads the
//! settings it is given, never a [`Config`].

use super::Config;
use crate::evidence::recheck::{ExtractionSettings, SourceExtraction};
use crate::evidence::{AfterSweep, ConfigInForce};

impl Config {
    /// This configuration as the ledger's `config` leaf states it.
    pub fn in_force(&self) -> ConfigInForce {
        ConfigInForce {
            config_sha256: self.sha256.clone(),
            ca_sha256: self.http.extra_roots.file_sha256.clone(),
            tsa_ca_sha256: self.tsa_trust.as_ref().map(|t| t.file_sha256.clone()),
            extraction: self.extraction_settings().fingerprints(),
        }
    }

    /// What follows a sweep: retention, the checkpoint, the timestamp.
    pub fn after_sweep(&self) -> AfterSweep<'_> {
        AfterSweep {
            keep_raw_bodies: self.keep_raw_bodies,
            key_file: self.key_file.as_deref(),
            tsa: self.tsa.as_ref(),
            tsa_trust: self.tsa_trust.as_ref(),
            extra_roots: &self.http.extra_roots,
            routes: crate::alert::routes(&self.alerts).into(),
        }
    }

    /// Every source's extraction settings, and `[scope]`.
    pub fn extraction_settings(&self) -> ExtractionSettings<'_> {
        ExtractionSettings {
            sources: self
                .sources
                .iter()
                .map(|s| {
                    let settings = SourceExtraction {
                        id: &s.id,
                        rules: &s.rules,
                        scope: &s.scope,
                    };
                    (s.id.as_str(), settings)
                })
                .collect(),
            scope: &self.scope,
        }
    }
}
