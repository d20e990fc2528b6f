//! Profiles (`values/profiles/<name>.yaml`) merged with the user's values (`-f`, `--set`).
//!
//! A profile is an ordinary values file of the umbrella chart: one key per component
//! (`mysql`, `hdfs`, `hive-metastore`, `spark`, `kafka`) with `enabled` and that chart's values,
//! plus `global`. So the same file works with `helm bigdata install --profile` and with
//! `helm install bigdata charts/bigdata -f values/profiles/<name>.yaml`.

use std::path::{Path, PathBuf};

use serde_yaml::{Mapping, Value};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ProfileError {
    #[error("unknown profile {name:?}: choose one of {}", available.join(", "))]
    Unknown {
        name: String,
        available: Vec<String>,
    },
    #[error("failed to read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to parse {} as YAML: {source}", path.display())]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_yaml::Error,
    },
    #[error("{} must be a mapping of values at its top level", path.display())]
    NotAMapping { path: PathBuf },
    #[error("failed to parse --set {0:?}: expected key.path=value")]
    BadSet(String),
}

/// The profiles found in `dir`, by name, sorted.
pub fn available(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let path = e.path();
            (path.extension()? == "yaml").then(|| path.file_stem()?.to_str().map(String::from))?
        })
        .collect();
    names.sort();
    names
}

/// Loads the profile `name` from `dir`, then merges each values file and each `--set` on top.
pub fn load(
    dir: &Path,
    name: &str,
    files: &[PathBuf],
    sets: &[String],
) -> Result<Value, ProfileError> {
    let path = dir.join(format!("{name}.yaml"));
    if !path.is_file() {
        return Err(ProfileError::Unknown {
            name: name.to_string(),
            available: available(dir),
        });
    }
    let mut values = read_values(&path)?;
    for file in files {
        merge(&mut values, read_values(file)?);
    }
    for set in sets {
        for pair in split_unescaped(set, ',') {
            apply_set(&mut values, &pair)?;
        }
    }
    Ok(values)
}

fn read_values(path: &Path) -> Result<Value, ProfileError> {
    let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let value: Value = serde_yaml::from_str(&text).map_err(|source| ProfileError::Parse {
        path: path.to_path_buf(),
        source,
    })?;
    match value {
        Value::Mapping(_) => Ok(value),
        Value::Null => Ok(Value::Mapping(Mapping::new())),
        _ => Err(ProfileError::NotAMapping {
            path: path.to_path_buf(),
        }),
    }
}

/// Deep merge as helm does: mappings merge key by key, anything else in `top` replaces `base`.
pub fn merge(base: &mut Value, top: Value) {
    match (base, top) {
        (Value::Mapping(base), Value::Mapping(top)) => {
            for (key, value) in top {
                match base.get_mut(&key) {
                    Some(existing) => merge(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, top) => *base = top,
    }
}

/// Splits on `separator` except where it is escaped with a backslash (as helm's `--set` does:
/// `a\.b` is the key `a.b`, `x\,y` the value `x,y`); escapes of other characters are kept.
fn split_unescaped(text: &str, separator: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(next) if next == separator => parts.last_mut().unwrap().push(next),
                Some(next) => {
                    parts.last_mut().unwrap().push('\\');
                    parts.last_mut().unwrap().push(next);
                }
                None => parts.last_mut().unwrap().push('\\'),
            },
            c if c == separator => parts.push(String::new()),
            c => parts.last_mut().unwrap().push(c),
        }
    }
    parts
}

/// `a.b.c=value`: the value is read as YAML (`true`, `3`, `1.5`, else a string).
fn apply_set(values: &mut Value, pair: &str) -> Result<(), ProfileError> {
    let bad = || ProfileError::BadSet(pair.to_string());
    let (path, raw) = pair.split_once('=').ok_or_else(bad)?;
    let keys = split_unescaped(path, '.');
    if keys.iter().any(String::is_empty) {
        return Err(bad());
    }
    let scalar: Value = serde_yaml::from_str(raw).unwrap_or_else(|_| Value::String(raw.into()));
    let scalar = match scalar {
        Value::Mapping(_) | Value::Sequence(_) | Value::Tagged(_) => Value::String(raw.into()),
        other => other,
    };
    let mut patch = scalar;
    for key in keys.into_iter().rev() {
        let mut map = Mapping::new();
        map.insert(Value::String(key), patch);
        patch = Value::Mapping(map);
    }
    merge(values, patch);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profiles() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("small.yaml"),
            "global: {platformName: bigdata}\nmysql: {enabled: true, replicas: 1}\nkafka: {enabled: false}\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("full.yaml"), "mysql: {enabled: true}\n").unwrap();
        dir
    }

    #[test]
    fn an_unknown_profile_names_the_available_ones() {
        let dir = profiles();
        let error = load(dir.path(), "tiny", &[], &[]).unwrap_err().to_string();
        assert_eq!(
            error,
            r#"unknown profile "tiny": choose one of full, small"#
        );
    }

    #[test]
    fn files_and_sets_merge_over_the_profile() {
        let dir = profiles();
        let user = dir.path().join("user.yaml");
        std::fs::write(&user, "mysql: {replicas: 2, extra: x}\n").unwrap();
        let values = load(
            dir.path(),
            "small",
            &[user],
            &["kafka.enabled=true,global.storageClass=fast".into()],
        )
        .unwrap();
        assert_eq!(values["mysql"]["replicas"], Value::from(2));
        assert_eq!(values["mysql"]["enabled"], Value::from(true));
        assert_eq!(values["mysql"]["extra"], Value::from("x"));
        assert_eq!(values["kafka"]["enabled"], Value::from(true));
        assert_eq!(values["global"]["storageClass"], Value::from("fast"));
        assert_eq!(values["global"]["platformName"], Value::from("bigdata"));
    }

    #[test]
    fn escaped_dots_and_commas_stay_in_keys_and_values() {
        let dir = profiles();
        let sets =
            [r"mysql.podAnnotations.lab\.bigdata\.io/fail=Error,mysql.args=a\,b".to_string()];
        let values = load(dir.path(), "small", &[], &sets).unwrap();
        assert_eq!(
            values["mysql"]["podAnnotations"]["lab.bigdata.io/fail"],
            Value::from("Error")
        );
        assert_eq!(values["mysql"]["args"], Value::from("a,b"));
    }

    #[test]
    fn a_bad_set_is_an_error_that_quotes_it() {
        let dir = profiles();
        for bad in ["novalue", "=3", "a..b=1"] {
            let error = load(dir.path(), "small", &[], &[bad.into()]).unwrap_err();
            assert!(error.to_string().contains(bad), "{error}");
        }
    }

    #[test]
    fn a_values_file_that_is_not_a_mapping_is_rejected() {
        let dir = profiles();
        let user = dir.path().join("list.yaml");
        std::fs::write(&user, "- a\n- b\n").unwrap();
        let error = load(dir.path(), "small", &[user], &[]).unwrap_err();
        assert!(matches!(error, ProfileError::NotAMapping { .. }));
    }
}
