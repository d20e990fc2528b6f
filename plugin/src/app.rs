//! The commands: each turns parsed flags into work and a printed result. `main.rs` only maps the
//! result to an exit code.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Pod, Secret, Service};
use kube::api::{DeleteParams, ListParams};
use kube::{Api, Client};
use serde::Serialize;

use crate::access::{MissingClusterPermissions, MissingPermissions, OrExplain};
use crate::batch::{BatchJob, Outcome as BatchOutcome};
use crate::cli::{
    BatchJobArgs, Cli, Command, InstallArgs, LocationArgs, OutputFormat, ProfileArgs, RunArgs,
    TargetArgs,
};
use crate::cluster::NamespaceState;
use crate::component::Component;
use crate::execute::Outcome;
use crate::health::wait::INSTANCE_LABEL;
use crate::helm::Helm;
use crate::install::Installer;
use crate::output::{Progress, describe};
use crate::plan::{Plan, Release};
use crate::resources::{Requests, requests_of};
use crate::usage;
use crate::verify::{JobInputs, Verdict};
use crate::{access, batch, catalog, cluster, doctor, home, profile, report, ui, verify};

pub async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Install(args) => install(args).await,
        Command::Profiles {
            profiles_dir,
            output,
        } => profiles(profiles_dir, output),
        Command::Plan {
            profile,
            output,
            write_values,
        } => plan(profile, output, write_values).await,
        Command::Doctor {
            profile,
            location,
            output,
        } => doctor(profile, location, output).await,
        Command::Status { target, output } => status(target, output).await,
        Command::Completion { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "helm-bigdata",
                &mut std::io::stdout(),
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify {
            target,
            image,
            timeout,
            output,
        } => verify(target, image, timeout, output).await,
        Command::Uninstall { target, purge } => uninstall(target, purge).await,
        Command::Run { job } => run_batch(job).await,
    }
}

/// The error as one message: each cause once (many causes repeat the one below them), and kube-rs's
/// errors without their debug dump of the API server's answer.
pub fn error_text(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let raw = cause.to_string();
        let kube = cause.downcast_ref::<kube::Error>();
        let part = kube.map_or_else(|| raw.clone(), access::explain);
        if !text.contains(&raw) && !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
        // the API server's answer below it is in the explanation already
        if matches!(kube, Some(kube::Error::Api(_))) {
            break;
        }
    }
    text
}

fn profiles(dir: Option<std::path::PathBuf>, output: OutputFormat) -> Result<ExitCode> {
    let dir = home::profiles_dir(dir.as_deref())?;
    let (good, bad): (Vec<_>, Vec<_>) = catalog::read(&dir)?
        .into_iter()
        .partition(|(_, summary)| summary.is_ok());
    let summaries: Vec<catalog::ProfileSummary> =
        good.into_iter().filter_map(|(_, s)| s.ok()).collect();
    let reasons: Vec<String> = bad.into_iter().filter_map(|(_, s)| s.err()).collect();
    if summaries.is_empty() {
        bail!(
            "failed to find a valid profile in {} (is --profiles-dir or BIGDATA_PROFILES_DIR right?):\n  {}",
            dir.display(),
            reasons.join("\n  ")
        );
    }
    match output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&summaries)?),
        OutputFormat::Yaml => print!("{}", serde_yaml::to_string(&summaries)?),
        OutputFormat::Table => print_profiles(&summaries),
    }
    if reasons.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    bail!(
        "failed to read {} of the profiles in {}:\n  {}",
        reasons.len(),
        dir.display(),
        reasons.join("\n  ")
    )
}

fn print_profiles(summaries: &[catalog::ProfileSummary]) {
    let rows: Vec<[String; 4]> = summaries
        .iter()
        .map(|s| {
            let components: Vec<String> = s.components.iter().map(Component::to_string).collect();
            [
                s.name.clone(),
                s.budget
                    .as_ref()
                    .map_or_else(|| "-".to_string(), ToString::to_string),
                components.join(", "),
                if s.summary.is_empty() {
                    "-".to_string()
                } else {
                    s.summary.clone()
                },
            ]
        })
        .collect();
    let header = ["PROFILE", "BUDGET", "COMPONENTS", "DESCRIPTION"].map(String::from);
    let width = |i: usize| {
        rows.iter()
            .chain([&header])
            .map(|r| r[i].len())
            .max()
            .unwrap_or(0)
    };
    let (w0, w1, w2) = (width(0), width(1), width(2));
    for row in [&header].into_iter().chain(&rows) {
        println!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            row[0], row[1], row[2], row[3]
        );
    }
}

fn load_plan(args: &ProfileArgs) -> Result<Plan> {
    let dir = home::profiles_dir(args.location.profiles_dir.as_deref())?;
    let values = profile::load(&dir, &args.profile, &args.values, &args.set)?;
    Plan::build(&values).with_context(|| format!("failed to plan profile {}", args.profile))
}

/// Each release's requests, from `helm template` (which also validates the values against the
/// chart's schema).
async fn requests_by_release(
    plan: &Plan,
    helm: &Helm,
    location: &LocationArgs,
) -> Result<BTreeMap<Component, Requests>> {
    let charts = home::charts_dir(location.charts_dir.as_deref())?;
    let mut found = BTreeMap::new();
    for release in &plan.releases {
        let manifests = helm
            .template(&release.name, &charts.join(release.chart), &release.values)
            .await?;
        let requests = requests_of(&manifests)
            .with_context(|| format!("failed to read the requests of {}", release.name))?;
        found.insert(release.component, requests);
    }
    Ok(found)
}

#[derive(Serialize)]
struct PlanView<'a> {
    platform: &'a str,
    namespace: &'a str,
    waves: Vec<Vec<Component>>,
    releases: Vec<ReleaseView<'a>>,
    total: Requests,
}

#[derive(Serialize)]
struct ReleaseView<'a> {
    component: Component,
    release: &'a str,
    depends_on: &'a [Component],
    requests: Requests,
}

async fn plan(
    args: ProfileArgs,
    output: OutputFormat,
    write_values: Option<std::path::PathBuf>,
) -> Result<ExitCode> {
    let plan = load_plan(&args)?;
    if let Some(dir) = write_values {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("failed to create {}", dir.display()))?;
        for release in &plan.releases {
            let path = dir.join(format!("{}.yaml", release.name));
            std::fs::write(&path, serde_yaml::to_string(&release.values)?)
                .with_context(|| format!("failed to write {}", path.display()))?;
        }
    }
    let helm = Helm::from_env(args.location.namespace.clone());
    let requests = requests_by_release(&plan, &helm, &args.location).await?;
    print_plan(&plan, &helm, &requests, output)?;
    Ok(ExitCode::SUCCESS)
}

fn print_plan(
    plan: &Plan,
    helm: &Helm,
    requests: &BTreeMap<Component, Requests>,
    output: OutputFormat,
) -> Result<()> {
    let view = PlanView {
        platform: &plan.platform,
        namespace: helm.namespace(),
        waves: plan.waves(),
        releases: plan
            .releases
            .iter()
            .map(|r| ReleaseView {
                component: r.component,
                release: &r.name,
                depends_on: &r.depends_on,
                requests: requests[&r.component],
            })
            .collect(),
        total: requests
            .values()
            .copied()
            .fold(Requests::default(), |a, b| a + b),
    };
    match output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&view)?),
        OutputFormat::Yaml => print!("{}", serde_yaml::to_string(&view)?),
        OutputFormat::Table => {
            println!("platform {} in namespace {}", view.platform, view.namespace);
            for (i, wave) in view.waves.iter().enumerate() {
                let names: Vec<String> = wave.iter().map(Component::to_string).collect();
                println!("wave {}: {}", i + 1, names.join(", "));
            }
            println!(
                "\n{:<16} {:<24} {:<28} REQUESTS",
                "COMPONENT", "RELEASE", "AFTER"
            );
            for r in &view.releases {
                let after: Vec<String> = r.depends_on.iter().map(Component::to_string).collect();
                let after = if after.is_empty() {
                    "-".to_string()
                } else {
                    after.join(", ")
                };
                println!(
                    "{:<16} {:<24} {:<28} {}",
                    r.component, r.release, after, r.requests
                );
            }
            println!("{:<16} {:<24} {:<28} {}", "total", "", "", view.total);
        }
    }
    Ok(())
}

async fn install(args: InstallArgs) -> Result<ExitCode> {
    let plan = load_plan(&args.profile)?;
    let helm = Helm::from_env(args.profile.location.namespace.clone());
    if args.dry_run {
        let requests = requests_by_release(&plan, &helm, &args.profile.location).await?;
        print_plan(&plan, &helm, &requests, args.output)?;
        let note = "dry run: every release's values are valid for its chart; nothing was changed";
        if args.output == OutputFormat::Table {
            println!("\n{note}");
        } else {
            eprintln!("{note}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let client = cluster::client().await?;
    client
        .apiserver_version()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "failed to reach the Kubernetes API server (is the cluster up and KUBECONFIG right?): {}",
                access::explain(&e)
            )
        })?;
    let namespace = helm.namespace().to_string();
    prepare(&client, &namespace, &plan).await?;
    let installer = Installer {
        charts_dir: home::charts_dir(args.profile.location.charts_dir.as_deref())?,
        helm,
        client,
        timeout: args.timeout,
    };
    eprintln!(
        "installing profile {} as platform {} in namespace {namespace}",
        args.profile.profile, plan.platform,
    );
    let finished = installer
        .run(&plan, usize::from(args.concurrency), &Progress::new())
        .await;
    let document = report::build(&plan, &namespace, &args.profile.profile, &finished);
    match args.output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&document)?),
        OutputFormat::Yaml => print!("{}", serde_yaml::to_string(&document)?),
        OutputFormat::Table => {}
    }
    let outcomes = finished
        .into_iter()
        .map(|(component, ran)| (component, ran.outcome))
        .collect();
    report_install(&outcomes)
}

/// Before installing: the namespace exists (made if need be), and the user may do there everything the
/// install does. Better one clear message now than a release failing halfway.
async fn prepare(client: &Client, namespace: &str, plan: &Plan) -> Result<()> {
    if cluster::ensure_namespace(client, namespace).await? == NamespaceState::Created {
        eprintln!("created namespace {namespace}");
    }
    let components: Vec<Component> = plan.releases.iter().map(|r| r.component).collect();
    let mut needed = access::needed(&components);
    if plan.releases.iter().any(Release::wants_pod_monitor)
        && doctor::pod_monitors_served(client).await == Ok(true)
    {
        needed.extend(access::pod_monitors_needed());
    }
    if plan.releases.iter().any(Release::wants_kubelet_metrics) {
        check_kubelet_metrics_access(client).await?;
    }
    match access::missing(client, Some(namespace), &needed).await {
        Ok(missing) if missing.is_empty() => Ok(()),
        Ok(missing) => Err(MissingPermissions {
            namespace: namespace.to_string(),
            who: access::who(access::whoami(client).await.as_deref()),
            missing,
        }
        .into()),
        // The API server would not answer the reviews: each refused request will say so itself.
        Err(error) => {
            eprintln!("note: could not check the permissions before installing: {error}");
            Ok(())
        }
    }
}

/// The monitoring chart's kubelet scrape makes a ClusterRole: the user may make it and grant what it holds.
async fn check_kubelet_metrics_access(client: &Client) -> Result<()> {
    match access::missing(client, None, &access::kubelet_metrics_needed()).await {
        Ok(missing) if missing.is_empty() => Ok(()),
        Ok(missing) => Err(MissingClusterPermissions {
            who: access::who(access::whoami(client).await.as_deref()),
            missing,
        }
        .into()),
        Err(error) => {
            eprintln!(
                "note: could not check the cluster-wide permissions before installing: {error}"
            );
            Ok(())
        }
    }
}

fn report_install(outcomes: &BTreeMap<Component, Outcome>) -> Result<ExitCode> {
    let failed: Vec<String> = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Failed { .. }))
        .map(|(c, _)| c.to_string())
        .collect();
    let blocked: Vec<String> = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Blocked { .. }))
        .map(|(c, _)| c.to_string())
        .collect();
    if failed.is_empty() {
        eprintln!("all {} components are healthy", outcomes.len());
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!();
    for (component, outcome) in outcomes.iter().filter(|(_, o)| !o.is_success()) {
        eprintln!("{component}: {}", describe(outcome));
    }
    let mut message = format!("failed to install {}", failed.join(", "));
    if !blocked.is_empty() {
        message.push_str(&format!(
            "; not started because of it: {}",
            blocked.join(", ")
        ));
    }
    bail!(message)
}

async fn doctor(
    profile: Option<String>,
    location: LocationArgs,
    output: OutputFormat,
) -> Result<ExitCode> {
    let client = cluster::client().await?;
    let facts = doctor::gather(&client).await?;
    let mut checks = doctor::evaluate(&facts);
    let namespace = Helm::from_env(location.namespace.clone())
        .namespace()
        .to_string();
    let mut fit = Vec::new();
    let components = match profile {
        Some(name) => {
            let args = ProfileArgs {
                profile: name,
                values: vec![],
                set: vec![],
                location,
            };
            let plan = load_plan(&args)?;
            let helm = Helm::from_env(args.location.namespace.clone());
            let requests = requests_by_release(&plan, &helm, &args.location).await?;
            fit = doctor::fit(&facts, &requests);
            plan.releases.iter().map(|r| r.component).collect()
        }
        None => Component::ALL.to_vec(),
    };
    checks.extend(permission_checks(&client, &namespace, &components).await);
    checks.extend(fit);
    match output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&checks)?),
        OutputFormat::Yaml => print!("{}", serde_yaml::to_string(&checks)?),
        OutputFormat::Table => {
            let width = checks
                .iter()
                .map(|c| c.name.len())
                .max()
                .unwrap_or(0)
                .max(24);
            println!("{:<width$} {:<6} DETAIL", "CHECK", "RESULT");
            for check in &checks {
                let status = format!("{:?}", check.status).to_lowercase();
                println!("{:<width$} {:<6} {}", check.name, status, check.detail);
            }
        }
    }
    let failed = checks.iter().any(|c| c.status == doctor::Status::Fail);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Whether the user may do what the plugin does for `components` in `namespace` (and, optionally,
/// cluster-wide), asked of the API server.
async fn permission_checks(
    client: &Client,
    namespace: &str,
    components: &[Component],
) -> Vec<doctor::Check> {
    let needed = access::needed(components);
    let cluster_needed = access::cluster_needed();
    let asked = async {
        let missing = access::missing(client, Some(namespace), &needed).await?;
        let cluster_missing = access::missing(client, None, &cluster_needed).await?;
        Ok::<_, access::ApiError>((missing, cluster_missing))
    };
    match asked.await {
        Ok((missing, cluster_missing)) => {
            let who = access::who(access::whoami(client).await.as_deref());
            doctor::access(namespace, &who, &needed, &missing, &cluster_missing)
        }
        Err(error) => vec![doctor::Check {
            name: "permissions".into(),
            status: doctor::Status::Warn,
            detail: format!("not checked: {error}"),
        }],
    }
}

#[derive(Serialize)]
struct ComponentStatus {
    component: Component,
    release: String,
    installed: bool,
    revision: Option<u32>,
    helm_status: Option<String>,
    ready: String,
    endpoints: Vec<String>,
    /// The component's web UIs and the `kubectl port-forward` that reaches each.
    uis: Vec<ui::UiLink>,
    /// Its running pods' CPU and memory, used (from the metrics API) against requested.
    usage: Option<usage::ComponentUsage>,
}

async fn status(target: TargetArgs, output: OutputFormat) -> Result<ExitCode> {
    let helm = Helm::from_env(target.location.namespace.clone());
    let client = cluster::client().await?;
    let ns = helm.namespace().to_string();
    let metrics = usage::pod_metrics(&client, &ns).await;
    let measured = match &metrics {
        usage::PodMetrics::Served(measured) => measured.clone(),
        usage::PodMetrics::Unavailable(_) => BTreeMap::new(),
    };
    let mut rows = Vec::new();
    for component in Component::ALL {
        let release = format!("{}-{}", target.platform, component.chart());
        let status = helm.status(&release).await?;
        let (ready, services, usage) = if status.is_some() {
            (
                readiness(&client, &ns, &release).await?,
                services(&client, &ns, &release).await?,
                Some(release_usage(&client, &ns, &release, &measured).await?),
            )
        } else {
            ("-".to_string(), Vec::new(), None)
        };
        rows.push(ComponentStatus {
            component,
            installed: status.is_some(),
            revision: status.as_ref().map(|s| s.version),
            helm_status: status.map(|s| s.info.status),
            release,
            ready,
            endpoints: endpoints(&ns, &services),
            uis: ui::links(component, &target.platform, &ns, &services),
            usage,
        });
    }
    match output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
        OutputFormat::Yaml => print!("{}", serde_yaml::to_string(&rows)?),
        OutputFormat::Table => print_status_table(&rows, &metrics),
    }
    Ok(ExitCode::SUCCESS)
}

/// `status`'s table: a row per component, a line on the usage when it is not all there, and the web UIs with
/// the `kubectl port-forward` that reaches each.
fn print_status_table(rows: &[ComponentStatus], metrics: &usage::PodMetrics) {
    println!(
        "{:<16} {:<24} {:<10} {:<9} {:<10} {:<24} {:<26} ENDPOINTS",
        "COMPONENT",
        "RELEASE",
        "STATUS",
        "REVISION",
        "READY",
        "CPU USED/REQUESTED",
        "MEMORY USED/REQUESTED"
    );
    for r in rows {
        let column = |f: fn(&usage::ComponentUsage) -> String| {
            r.usage.as_ref().map_or_else(|| "-".to_string(), f)
        };
        println!(
            "{:<16} {:<24} {:<10} {:<9} {:<10} {:<24} {:<26} {}",
            r.component,
            r.release,
            r.helm_status.as_deref().unwrap_or("absent"),
            r.revision
                .map(|v| v.to_string())
                .unwrap_or_else(|| "-".into()),
            r.ready,
            column(usage::ComponentUsage::cpu_column),
            column(usage::ComponentUsage::memory_column),
            r.endpoints.join(" ")
        );
    }
    match metrics {
        usage::PodMetrics::Unavailable(why) => {
            println!("\nCPU and memory in use: not shown: {why}");
        }
        usage::PodMetrics::Served(_) => {
            let (counted, running) = rows
                .iter()
                .filter_map(|r| r.usage.as_ref())
                .fold((0, 0), |(m, p), u| (m + u.measured, p + u.pods));
            if counted < running {
                println!(
                    "\nCPU and memory in use: {counted} of {running} running pods measured by the metrics API (a pod just started is not yet; one on a node without a kubelet, such as a simulated node, never is)"
                );
            }
        }
    }
    let uis: Vec<&ui::UiLink> = rows.iter().flat_map(|r| &r.uis).collect();
    if !uis.is_empty() {
        println!("\n{:<22} {:<24} REACH IT WITH", "UI", "URL");
        for link in uis {
            println!("{:<22} {:<24} {}", link.name, link.url, link.command);
        }
    }
}

/// The release's pods: their requests, and the usage of those `measured`.
async fn release_usage(
    client: &Client,
    ns: &str,
    release: &str,
    measured: &BTreeMap<String, usage::Measured>,
) -> Result<usage::ComponentUsage> {
    let pods = Api::<Pod>::namespaced(client.clone(), ns)
        .list(&by_release(release))
        .await
        .or_explain(|| format!("list the pods of {release} in namespace {ns:?}"))?;
    usage::usage_of(&pods.items, measured)
        .map_err(|e| anyhow::anyhow!("failed to read the requests of the pods of {release}: {e}"))
}

fn by_release(release: &str) -> ListParams {
    ListParams::default().labels(&format!("{INSTANCE_LABEL}={release}"))
}

/// Ready pods over wanted pods, summed over the release's Deployments and StatefulSets.
async fn readiness(client: &Client, ns: &str, release: &str) -> Result<String> {
    let mut ready = 0;
    let mut wanted = 0;
    for d in Api::<Deployment>::namespaced(client.clone(), ns)
        .list(&by_release(release))
        .await
        .or_explain(|| format!("list the deployments of {release} in namespace {ns:?}"))?
    {
        wanted += d.spec.and_then(|s| s.replicas).unwrap_or(1);
        ready += d.status.and_then(|s| s.ready_replicas).unwrap_or(0);
    }
    for s in Api::<StatefulSet>::namespaced(client.clone(), ns)
        .list(&by_release(release))
        .await
        .or_explain(|| format!("list the statefulsets of {release} in namespace {ns:?}"))?
    {
        wanted += s.spec.and_then(|s| s.replicas).unwrap_or(1);
        ready += s.status.and_then(|s| s.ready_replicas).unwrap_or(0);
    }
    Ok(format!("{ready}/{wanted}"))
}

/// The release's Services that have a cluster IP (not the headless ones), with their ports.
async fn services(client: &Client, ns: &str, release: &str) -> Result<Vec<ui::ServicePorts>> {
    let mut found = Vec::new();
    for svc in Api::<Service>::namespaced(client.clone(), ns)
        .list(&by_release(release))
        .await
        .or_explain(|| format!("list the services of {release} in namespace {ns:?}"))?
    {
        let name = svc.metadata.name.unwrap_or_default();
        let Some(spec) = svc.spec else { continue };
        if spec.cluster_ip.as_deref() == Some("None") {
            continue;
        }
        let ports = spec
            .ports
            .unwrap_or_default()
            .into_iter()
            .map(|p| (p.name.unwrap_or_default(), p.port))
            .collect();
        found.push(ui::ServicePorts { name, ports });
    }
    Ok(found)
}

/// `service.namespace.svc:port` of each port of `services`.
fn endpoints(ns: &str, services: &[ui::ServicePorts]) -> Vec<String> {
    services
        .iter()
        .flat_map(|s| {
            s.ports
                .iter()
                .map(move |(_, port)| format!("{}.{ns}.svc:{port}", s.name))
        })
        .collect()
}

async fn uninstall(target: TargetArgs, purge: bool) -> Result<ExitCode> {
    let helm = Helm::from_env(target.location.namespace.clone());
    let client = cluster::client().await?;
    let ns = helm.namespace().to_string();
    // Reverse dependency order: what depends on others goes first.
    for component in Component::ALL.into_iter().rev() {
        let release = format!("{}-{}", target.platform, component.chart());
        let removed = helm.uninstall(&release).await?;
        if removed {
            eprintln!("uninstalled {release}");
        }
        if purge {
            purge_kept(&client, &ns, &release).await?;
        }
    }
    if !purge {
        eprintln!(
            "PersistentVolumeClaims and kept Secrets/ConfigMaps remain; `helm bigdata uninstall --purge` deletes them"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Deletes what `helm uninstall` leaves of a release on purpose (helm.sh/resource-policy: keep, and
/// StatefulSet volumes): PersistentVolumeClaims (the data), Secrets (generated passwords) and
/// ConfigMaps (e.g. Kafka's cluster id).
async fn purge_kept(client: &Client, ns: &str, release: &str) -> Result<()> {
    let params = by_release(release);
    let claims = delete_all::<PersistentVolumeClaim>(client, ns, &params).await?;
    let secrets = delete_all::<Secret>(client, ns, &params).await?;
    let configmaps = delete_all::<ConfigMap>(client, ns, &params).await?;
    if claims + secrets + configmaps > 0 {
        eprintln!(
            "purged {release}: {claims} PersistentVolumeClaims, {secrets} Secrets, {configmaps} ConfigMaps"
        );
    }
    Ok(())
}

/// Deletes every object of kind K of the release and waits until they are gone (a claim stays
/// Terminating while a pod still uses it), so that "purged" means the data is really deleted.
async fn delete_all<K>(client: &Client, ns: &str, params: &ListParams) -> Result<usize>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug
        + Send
        + 'static,
    K::DynamicType: Default,
{
    let api = Api::<K>::namespaced(client.clone(), ns);
    let kind = K::plural(&Default::default()).to_string();
    let deleted = api
        .delete_collection(&DeleteParams::default(), params)
        .await
        .or_explain(|| format!("delete the {kind} of the release in namespace {ns:?}"))?;
    let names: Vec<String> = deleted
        .left()
        .map(|list| {
            list.items
                .into_iter()
                .filter_map(|o| o.meta().name.clone())
                .collect()
        })
        .unwrap_or_default();
    for name in &names {
        let gone =
            kube::runtime::wait::await_condition(api.clone(), name, |o: Option<&K>| o.is_none());
        tokio::time::timeout(PURGE_TIMEOUT, gone)
            .await
            .with_context(|| {
                format!(
                    "failed to delete {kind} {name} within {}s: it is still Terminating (is a pod still using it?)",
                    PURGE_TIMEOUT.as_secs()
                )
            })?
            .or_explain(|| format!("watch the deletion of {kind} {name}"))?;
    }
    Ok(names.len())
}

/// How long `uninstall --purge` waits for each deleted object to disappear.
const PURGE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

async fn verify(
    target: TargetArgs,
    image: String,
    timeout: std::time::Duration,
    output: OutputFormat,
) -> Result<ExitCode> {
    let helm = Helm::from_env(target.location.namespace.clone());
    let client = cluster::client().await?;
    let installed = installed_components(&helm, &target.platform).await?;
    let hdfs_url = hdfs_url(
        &helm,
        &target.platform,
        installed.contains(&Component::Hdfs),
    )
    .await?;
    let schema_registry_url = schema_registry_url(
        &helm,
        &target.platform,
        installed.contains(&Component::Kafka),
    )
    .await?;
    let inputs = JobInputs {
        name: format!("{}-verify-{}", target.platform, unix_seconds()),
        namespace: helm.namespace().to_string(),
        platform: target.platform.clone(),
        image,
        deadline_seconds: timeout.as_secs(),
        hdfs_url,
        schema_registry_url,
        mysql: false,
        hdfs: false,
        hive_metastore: false,
        spark: false,
        kafka: false,
    }
    .with_components(&installed);
    let job = verify::render(&inputs)?;
    eprintln!(
        "verifying {} in namespace {} with Job {}",
        target.platform, inputs.namespace, inputs.name
    );
    let verdict = verify::run(&client, &job, timeout).await?;
    match output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&verdict)?),
        OutputFormat::Yaml => print!("{}", serde_yaml::to_string(&verdict)?),
        OutputFormat::Table => {
            if let Verdict::Ran(report) = &verdict {
                println!(
                    "{:<16} {:<34} {:<7} {:>8}  DETAIL",
                    "COMPONENT", "CHECK", "RESULT", "TIME"
                );
                for c in &report.checks {
                    let result = if c.ok { "ok" } else { "FAILED" };
                    println!(
                        "{:<16} {:<34} {:<7} {:>6}ms  {}",
                        c.component, c.check, result, c.millis, c.detail
                    );
                }
            }
        }
    }
    match verdict {
        Verdict::NotVerified { node } => bail!(
            "could not verify: the verification pod ran on node {node}, which is simulated (kwok): no container ran, \
             so nothing was checked. Run verify on a cluster with real nodes (kind, k3d, a cloud cluster)"
        ),
        Verdict::Ran(report) => {
            let failed: Vec<String> = report
                .checks
                .iter()
                .filter(|c| !c.ok)
                .map(|c| format!("{}: {}", c.component, c.check))
                .collect();
            if failed.is_empty() {
                Ok(ExitCode::SUCCESS)
            } else {
                bail!("failed checks: {}", failed.join(", "))
            }
        }
    }
}

/// The components of `platform` that have a release; an error when there is none.
async fn installed_components(helm: &Helm, platform: &str) -> Result<Vec<Component>> {
    let mut installed = Vec::new();
    for component in Component::ALL {
        let release = format!("{platform}-{}", component.chart());
        if helm.status(&release).await?.is_some() {
            installed.push(component);
        }
    }
    if installed.is_empty() {
        bail!(
            "failed to find platform {platform} in namespace {}: install it first (helm bigdata install --profile ...)",
            helm.namespace()
        );
    }
    Ok(installed)
}

fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

async fn run_batch(args: BatchJobArgs) -> Result<ExitCode> {
    let (job, run) = match args {
        BatchJobArgs::Wordcount {
            input,
            output_dir,
            overwrite,
            run,
        } => (
            BatchJob::Wordcount {
                input,
                output: output_dir,
                overwrite,
            },
            run,
        ),
        BatchJobArgs::Compact {
            input,
            table,
            kind,
            run,
        } => (BatchJob::Compact { input, table, kind }, run),
    };
    let RunArgs {
        parallelism,
        image,
        timeout,
        render,
        output,
        target,
    } = run;
    let helm = Helm::from_env(target.location.namespace.clone());
    let installed = installed_components(&helm, &target.platform).await?;
    let missing: Vec<String> = job
        .needs()
        .iter()
        .filter(|c| !installed.contains(c))
        .map(|c| c.chart().to_string())
        .collect();
    if !missing.is_empty() {
        bail!(
            "failed to run {}: platform {} in namespace {} has no {}: install a profile that has it \
             (e.g. helm bigdata install --profile hdfs-hive-spark)",
            job.name(),
            target.platform,
            helm.namespace(),
            missing.join(", ")
        );
    }
    let spec = batch::Target {
        name: format!("{}-{}-{}", target.platform, job.name(), unix_seconds()),
        namespace: helm.namespace().to_string(),
        platform: target.platform.clone(),
        image,
        parallelism,
        deadline: timeout,
        metastore_uri: format!("thrift://{}-hive-metastore:9083", target.platform),
    };
    let manifest = batch::render(&job, &spec)?;
    if render {
        print!("{}", serde_yaml::to_string(&manifest)?);
        return Ok(ExitCode::SUCCESS);
    }
    let client = cluster::client().await?;
    eprintln!(
        "running {} as Job {} in namespace {} ({parallelism} pod{})",
        job.name(),
        spec.name,
        spec.namespace,
        if parallelism == 1 { "" } else { "s" }
    );
    let outcome = batch::run(&client, &manifest, timeout).await?;
    match output {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&outcome)?),
        OutputFormat::Yaml => print!("{}", serde_yaml::to_string(&outcome)?),
        OutputFormat::Table => {
            if let BatchOutcome::Completed { pods, .. } | BatchOutcome::Simulated { pods } =
                &outcome
            {
                for p in pods {
                    let index = p
                        .index
                        .as_deref()
                        .map(|i| format!(" (index {i})"))
                        .unwrap_or_default();
                    let detail = match (&p.simulated_node, &p.last_line) {
                        (Some(node), _) => format!("on simulated node {node}: no container ran"),
                        (None, Some(line)) => line.clone(),
                        (None, None) => String::new(),
                    };
                    println!("pod {}{index}: {} {detail}", p.pod, p.phase);
                }
            }
        }
    }
    match outcome {
        BatchOutcome::Completed { seconds, pods } => {
            eprintln!(
                "{} completed in {seconds:.1}s ({} pod{})",
                job.name(),
                pods.len(),
                if pods.len() == 1 { "" } else { "s" }
            );
            Ok(ExitCode::SUCCESS)
        }
        BatchOutcome::Simulated { .. } => bail!(
            "{} did not run: the pods of Job {} ran on simulated nodes (kwok), where no container runs, so \
             nothing was computed. Run it on a cluster with real nodes",
            job.name(),
            spec.name
        ),
        BatchOutcome::Failed { message, problems } => {
            bail!("{message}{}", crate::output::pod_problems(&problems))
        }
    }
}

/// The HDFS URL clients use: the nameservice with HA, else the NameNode Service.
async fn hdfs_url(helm: &Helm, platform: &str, installed: bool) -> Result<String> {
    if !installed {
        return Ok(String::new());
    }
    let values = helm.user_values(&format!("{platform}-hdfs")).await?;
    let ha = &values["ha"];
    Ok(if ha["enabled"].as_bool().unwrap_or(false) {
        format!("hdfs://{}", ha["nameservice"].as_str().unwrap_or("bigdata"))
    } else {
        format!("hdfs://{platform}-hdfs-namenode:8020")
    })
}

/// Confluent's API of the kafka release's schema registry (its Service and port, as the chart names them), or ""
/// when the release does not run one.
async fn schema_registry_url(helm: &Helm, platform: &str, kafka_installed: bool) -> Result<String> {
    if !kafka_installed {
        return Ok(String::new());
    }
    let values = helm.user_values(&format!("{platform}-kafka")).await?;
    Ok(verify::schema_registry_url(
        platform,
        &values["schemaRegistry"],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_says_each_cause_once_and_kube_errors_without_their_debug_dump() {
        let status = kube::core::Status {
            code: 404,
            reason: "NotFound".into(),
            message: "namespaces \"x\" not found".into(),
            ..kube::core::Status::default()
        };
        let error = anyhow::Error::new(kube::Error::Api(Box::new(status)))
            .context("failed to read namespace \"x\"");
        assert_eq!(
            error_text(&error),
            "failed to read namespace \"x\": namespaces \"x\" not found (NotFound, HTTP 404)"
        );
        let inner = std::io::Error::other("disk full");
        let error = anyhow::Error::new(inner).context("failed to write x: disk full");
        assert_eq!(error_text(&error), "failed to write x: disk full");
    }
}
