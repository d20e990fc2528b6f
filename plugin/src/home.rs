//! Where the charts and profiles are: given by flag or env, else beside the plugin.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[error("failed to find the {what} directory (looked in {}): pass {flag} or set {env}", looked.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
pub struct NotFound {
    what: &'static str,
    flag: &'static str,
    env: &'static str,
    looked: Vec<PathBuf>,
}

/// The charts directory.
pub fn charts_dir(given: Option<&Path>) -> Result<PathBuf, NotFound> {
    find(
        given,
        "charts",
        "charts",
        "--charts-dir",
        "BIGDATA_CHARTS_DIR",
    )
}

/// The profiles directory.
pub fn profiles_dir(given: Option<&Path>) -> Result<PathBuf, NotFound> {
    find(
        given,
        "profiles",
        "values/profiles",
        "--profiles-dir",
        "BIGDATA_PROFILES_DIR",
    )
}

fn find(
    given: Option<&Path>,
    what: &'static str,
    relative: &str,
    flag: &'static str,
    env: &'static str,
) -> Result<PathBuf, NotFound> {
    let candidates: Vec<PathBuf> = match given {
        Some(path) => vec![path.to_path_buf()],
        None => roots()
            .into_iter()
            .map(|root| root.join(relative))
            .collect(),
    };
    candidates
        .iter()
        .find(|p| p.is_dir())
        .cloned()
        .ok_or(NotFound {
            what,
            flag,
            env,
            looked: candidates,
        })
}

/// Where a checkout of the project may be: above the plugin directory helm gives us
/// (`HELM_PLUGIN_DIR`, i.e. `<checkout>/plugin`), above the binary (`<checkout>/target/...`), and the
/// current directory.
fn roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Some(dir) = std::env::var_os("HELM_PLUGIN_DIR") {
        let dir = PathBuf::from(dir);
        roots.push(dir.canonicalize().unwrap_or(dir).join(".."));
    }
    if let Ok(exe) = std::env::current_exe() {
        roots.extend(exe.ancestors().skip(1).map(Path::to_path_buf));
    }
    if let Ok(cwd) = std::env::current_dir() {
        roots.push(cwd);
    }
    roots
}
