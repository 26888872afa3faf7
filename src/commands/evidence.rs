//! `scopewatch export` (write an evidence bundle) and `scopewatch key show`
//! (print the public key that checkpoints and bundles are signed with).

use super::{Env, Status};
use crate::evidence::Signer;

pub fn key_show(env: &Env) -> anyhow::Result<Status> {
    let config = env.optional_config()?;
    let database = env.database_path(config.as_ref())?;
    let signer = Signer::locate(
        config.as_ref().and_then(|c| c.key_file.as_deref()),
        &database,
    )?;
    print!("{}", signer.public_pem());
    Ok(Status::Success)
}
