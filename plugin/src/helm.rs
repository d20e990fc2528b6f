//! The only place that runs helm (`$HELM_BIN`, as helm passes it to its plugins).

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use serde::Deserialize;
use serde_yaml::Value;
use tokio::process::Command;

use crate::access::Forbidden;

#[derive(Debug, thiserror::Error)]
pub enum HelmError {
    #[error(
        "failed to run {bin}: {source} (is helm installed? helm sets HELM_BIN for its plugins)"
    )]
    Spawn {
        bin: String,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to {action}: helm said: {stderr}")]
    Failed { action: String, stderr: String },
    /// The API server refused helm a request (403): said once, clearly, with what to ask for.
    #[error(transparent)]
    Forbidden(#[from] Forbidden),
    #[error("failed to write the values of {release}: {source}")]
    Values {
        release: String,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to read helm's answer to {action}: {source}")]
    Decode {
        action: String,
        #[source]
        source: serde_json::Error,
    },
}

/// What `helm status -o json` says of a release (the fields used here).
#[derive(Debug, Clone, Deserialize)]
pub struct ReleaseStatus {
    pub name: String,
    pub version: u32,
    pub info: ReleaseInfo,
    #[serde(default)]
    pub chart: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ReleaseInfo {
    pub status: String,
}

#[derive(Debug, Clone)]
pub struct Helm {
    bin: PathBuf,
    namespace: String,
    kube_context: Option<String>,
}

impl Helm {
    /// helm as configured by the environment helm gives its plugins (`HELM_BIN`, `HELM_NAMESPACE`,
    /// `HELM_KUBECONTEXT`); `namespace` overrides `HELM_NAMESPACE`.
    pub fn from_env(namespace: Option<String>) -> Helm {
        let env = |key: &str| std::env::var(key).ok().filter(|v| !v.is_empty());
        Helm {
            bin: env("HELM_BIN").unwrap_or_else(|| "helm".into()).into(),
            namespace: namespace
                .or_else(|| env("HELM_NAMESPACE"))
                .unwrap_or_else(|| "default".into()),
            kube_context: env("HELM_KUBECONTEXT"),
        }
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// `helm upgrade --install`: installs the release or upgrades it to these values. Waiting is the
    /// caller's job (with watches), so no `--wait` here; hooks still run within `timeout`. The
    /// namespace must exist: `--create-namespace` would need the right to create (Helm 3) or patch
    /// (Helm 4) namespaces even when the namespace exists, which a namespace's own Role cannot give.
    pub async fn upgrade_install(
        &self,
        release: &str,
        chart: &Path,
        values: &Value,
        timeout: Duration,
    ) -> Result<(), HelmError> {
        let file = tempfile_with(release, values)?;
        let timeout = format!("{}s", timeout.as_secs().max(1));
        let chart = chart.to_string_lossy();
        let values_path = file.path().to_string_lossy();
        let args = [
            "upgrade",
            "--install",
            release,
            &chart,
            "--values",
            &values_path,
            "--timeout",
            &timeout,
        ];
        self.run(&format!("install release {release}"), &args)
            .await
            .map(drop)
    }

    /// `helm template`: the manifests the release would have, validated against the chart's schema.
    pub async fn template(
        &self,
        release: &str,
        chart: &Path,
        values: &Value,
    ) -> Result<String, HelmError> {
        let file = tempfile_with(release, values)?;
        let chart = chart.to_string_lossy();
        let values_path = file.path().to_string_lossy();
        let action = format!("render release {release}");
        let out = self
            .run(
                &action,
                &["template", release, &chart, "--values", &values_path],
            )
            .await?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The release's status, or None when there is no such release.
    pub async fn status(&self, release: &str) -> Result<Option<ReleaseStatus>, HelmError> {
        let action = format!("read the status of release {release}");
        match self
            .run(&action, &["status", release, "--output", "json"])
            .await
        {
            Ok(out) => serde_json::from_slice(&out.stdout)
                .map(Some)
                .map_err(|source| HelmError::Decode { action, source }),
            Err(HelmError::Failed { stderr, .. }) if stderr.contains("not found") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The values the user supplied to the release's last revision.
    pub async fn user_values(&self, release: &str) -> Result<Value, HelmError> {
        let action = format!("read the values of release {release}");
        let out = self
            .run(&action, &["get", "values", release, "--output", "json"])
            .await?;
        let json: serde_json::Value =
            serde_json::from_slice(&out.stdout).map_err(|source| HelmError::Decode {
                action: action.clone(),
                source,
            })?;
        Ok(serde_yaml::to_value(json).unwrap_or(Value::Null))
    }

    /// `helm rollback` to the previous revision (repairs a release left pending by an interrupted run).
    pub async fn rollback(&self, release: &str) -> Result<(), HelmError> {
        let action = format!("roll back release {release}");
        self.run(&action, &["rollback", release, "--wait"])
            .await
            .map(drop)
    }

    /// `helm uninstall`; an absent release is not an error.
    pub async fn uninstall(&self, release: &str) -> Result<bool, HelmError> {
        match self
            .run(
                &format!("uninstall release {release}"),
                &["uninstall", release, "--wait"],
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(HelmError::Failed { stderr, .. }) if stderr.contains("not found") => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn run(&self, action: &str, args: &[&str]) -> Result<Output, HelmError> {
        let mut command = Command::new(&self.bin);
        command.args(args).args(["--namespace", &self.namespace]);
        if let Some(context) = &self.kube_context {
            command.args(["--kube-context", context]);
        }
        if std::env::var("HELM_DEBUG").is_ok_and(|v| v == "true" || v == "1") {
            eprintln!(
                "helm-bigdata: running {} {}",
                self.bin.display(),
                args.join(" ")
            );
        }
        let output = command.output().await.map_err(|source| HelmError::Spawn {
            bin: self.bin.display().to_string(),
            source,
        })?;
        if output.status.success() {
            return Ok(output);
        }
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
        Err(match Forbidden::from_helm(action, &stderr) {
            Some(forbidden) => forbidden.into(),
            None => HelmError::Failed {
                action: action.to_string(),
                stderr,
            },
        })
    }
}

/// The values in a temporary file that lives as long as the returned handle.
fn tempfile_with(release: &str, values: &Value) -> Result<tempfile::NamedTempFile, HelmError> {
    let error = |source| HelmError::Values {
        release: release.to_string(),
        source,
    };
    let file = tempfile::Builder::new()
        .prefix(&format!("{release}-"))
        .suffix(".yaml")
        .tempfile()
        .map_err(error)?;
    let text = serde_yaml::to_string(values).expect("YAML values always serialize");
    std::fs::write(file.path(), text).map_err(error)?;
    Ok(file)
}
