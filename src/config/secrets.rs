//! Secrets a configuration names: `${ENV}` interpolated from the process's
//! environment, or read from a `secret_file`. Errors name the variable or
//! the file, never a value.

/// Replaces each `${NAME}` with the environment variable NAME. The error
/// names the variable, never a value.
pub(super) fn interpolate(
    written: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = written;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or("an unclosed ${: write ${NAME} to use the environment variable NAME")?;
        let name = &after[..end];
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!(
                "${{{name}}} is not a variable reference: names are letters, digits and '_'"
            ));
        }
        let value = env(name).ok_or_else(|| unset_variable(name))?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The secret a `secret_file` holds (its path `${ENV}` interpolated),
/// without the line break that ends it.
pub(super) fn read_secret_file(path: &str) -> Result<String, String> {
    let path = interpolate(path, &process_env)?;
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!("cannot read the secret file {path}: {e}; check the path and that scopewatch may read it")
    })?;
    Ok(text.trim_end_matches(['\n', '\r']).to_string())
}

pub(super) fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// What to do about a variable a secret names that is not set.
fn unset_variable(name: &str) -> String {
    if name == "CREDENTIALS_DIRECTORY" {
        // systemd sets it for the service alone (LoadCredential=).
        return format!(
            "the environment variable {name} is not set: systemd sets it only inside the service; \
             to check this configuration as the service reads it, run it with the unit's credentials: \
             systemd-run --pipe --wait -p LoadCredential=scopewatch:/etc/scopewatch/credentials \
             scopewatch --config FILE config check"
        );
    }
    format!("the environment variable {name} is not set: set it, or use secret_file")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interpolation_names_the_variable_never_the_value() {
        let env = |name: &str| (name == "TOKEN").then(|| "s3cr3t".to_string());
        assert_eq!(
            interpolate("Bearer ${TOKEN}", &env).unwrap(),
            "Bearer s3cr3t"
        );
        assert_eq!(interpolate("plain", &env).unwrap(), "plain");
        let err = interpolate("${MISSING}", &env).unwrap_err();
        assert!(err.contains("MISSING") && !err.contains("s3cr3t"), "{err}");
        assert!(interpolate("${TOKEN", &env).is_err());
        assert!(interpolate("${BAD NAME}", &env).is_err());
    }
}
