//! The command line, as clap derive types only: `main` parses it, `command::run`
//! acts on it. Each subcommand's arguments are one struct, the parameter of its
//! file in `command/`; the doc comments here are `--help`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::input::profile::Platform;

/// Render Kubernetes hardening artifacts from one cluster profile.
///
/// Exit codes: 0 ok, 1 drift or changes found (`render --check`, `diff`, `lint`),
/// 2 invalid input or usage. Set KHARDEN_TODAY=YYYY-MM-DD to fix the date used for
/// exception expiry.
#[derive(Debug, Parser)]
#[command(name = "kharden", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render profiles to directories (default `out/<metadata.name>`) or to stdout.
    ///
    /// Several profiles, or a directory of them (its `*.yaml` files with
    /// `kind: ClusterProfile`), render a fleet: each into `<DIR>/<metadata.name>`.
    /// Nothing is written unless every profile is valid.
    Render(RenderArgs),
    /// Check a profile and report every problem; exit 0 or 2.
    Validate(ValidateArgs),
    /// Print the JSON Schema of the profile format (or of `verify` scenarios), for editors.
    Schema(SchemaArgs),
    /// Check what the rendered bundle allows and denies against scenario files.
    ///
    /// Flows go through the NetworkPolicies and mesh rules, objects through
    /// admission. One line per expectation, then `N passed, N failed`; exit 1 on
    /// any mismatch.
    Verify(VerifyArgs),
    /// Write a self-contained HTML report for security reviewers.
    Report(ReportArgs),
    /// What changes in access and limits between two profiles, then the file diff.
    ///
    /// One side may be a rendered directory (files only). Every change that widens
    /// access or loosens a restriction is marked `widening`. Exit 1 when anything
    /// changes.
    Diff(DiffArgs),
    /// Which layer set a value, or a summary of the cluster's hardening.
    ///
    /// With a path (e.g. `namespaces.team-a.quota.pods`): the value and the file and
    /// line that set it, or the default it inherits. Without: per namespace, who has
    /// which role, flows, external hosts and quotas.
    Explain(ExplainArgs),
    /// Cross-artifact checks with stable ids (docs/lint.md).
    ///
    /// Exit 1 on an error-level finding, or on any finding with `--deny-warnings`.
    Lint(LintArgs),
    /// Write a commented starter profile that renders as it is.
    Init(InitArgs),
    /// A starter profile from a running cluster's objects (`kubectl get ... -A -o yaml`).
    ///
    /// Namespaces with their labels, annotations and Pod Security levels, access,
    /// service accounts, quotas, limit ranges and the registries pods pull from.
    /// Secrets are skipped unread. What a profile cannot say is listed at the top.
    Import(ImportArgs),
    /// GitOps helpers: Argo CD plugin.yaml, Application and health checks.
    Gitops {
        #[command(subcommand)]
        what: Gitops,
    },
    /// KRM function: a ResourceList on stdin (functionConfig: the profile), the
    /// rendered objects as a ResourceList on stdout; exit 1 with error results
    /// when the profile is invalid.
    Krm,
    /// What the bundle would refuse, grant beyond, change and miss in a running cluster.
    ///
    /// OBJECTS are what `kubectl get ... -A -o yaml` wrote (a `List`, or
    /// documents), files or directories, read offline. Reports existing objects
    /// admission would refuse, bindings that grant more than the profile (or a
    /// built-in admin role it does not own), objects applying would create,
    /// change or leave behind, and namespaces outside the profile. Secret data is
    /// never read. Exit 0 clean, 1 findings, 2 bad input.
    Audit(AuditArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Print the man page (roff).
    Man,
}

#[derive(Debug, Subcommand)]
// The variants are the subcommand names users type (`argocd-plugin`, ...).
#[allow(clippy::enum_variant_names)]
pub enum Gitops {
    /// Print the plugin.yaml of an Argo CD Config Management Plugin (sidecar)
    /// that renders a `kharden.yaml` profile with `kharden render kharden.yaml -o -`.
    ArgocdPlugin,
    /// Print an Argo CD Application syncing `out/<metadata.name>` of a repository.
    ArgocdApplication {
        /// The cluster profile (YAML), for its `metadata.name`.
        profile: PathBuf,
        /// The Git repository holding the rendering.
        #[arg(long)]
        repo_url: String,
        /// The branch, tag or commit to follow.
        #[arg(long, default_value = "HEAD")]
        revision: String,
    },
    /// Print the `argocd-cm` entries (a ConfigMap to merge into Argo CD's) with
    /// the health checks of ConstraintTemplates and of the profile's Constraint
    /// kinds, which Argo CD lacks, so sync waves wait for Gatekeeper.
    ArgocdHealth {
        /// The cluster profile (YAML).
        profile: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Markdown,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExplainFormat {
    Text,
    Mermaid,
}

// The arguments of each subcommand, one struct each. None has a doc comment:
// clap would show it instead of the variant's, which is the subcommand's help.

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// Cluster profiles (YAML), or directories holding them.
    #[arg(required = true)]
    pub profiles: Vec<PathBuf>,
    /// Output directory (for a fleet: the parent of each profile's directory),
    /// or `-` for one multi-document YAML stream on stdout (one profile only).
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Write nothing; exit 1 and list files that differ, are missing or extra.
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// The cluster profile (YAML).
    pub profile: PathBuf,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Print the schema of `verify` scenario files instead.
    #[arg(long)]
    pub scenario: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The cluster profile (YAML).
    pub profile: PathBuf,
    /// Scenario files (YAML; see `kharden schema --scenario`).
    #[arg(required = true)]
    pub scenarios: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The cluster profile (YAML).
    pub profile: PathBuf,
    /// The HTML file to write (`-` for stdout).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The profile before the change (or a rendered directory).
    pub old: PathBuf,
    /// The profile after the change (or a rendered directory).
    pub new: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The cluster profile (YAML).
    pub profile: PathBuf,
    /// A value's path; list entries by name or index.
    pub path: Option<String>,
    /// `mermaid`: the allowed-flow graph as a Mermaid diagram for Markdown.
    #[arg(long, value_enum, default_value_t = ExplainFormat::Text)]
    pub format: ExplainFormat,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// The cluster profile (YAML).
    #[arg(required_unless_present = "explain")]
    pub profile: Option<PathBuf>,
    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Print the explanation of one rule (id or name) and exit.
    #[arg(long, value_name = "RULE")]
    pub explain: Option<String>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    #[arg(long, default_value = "kubeadm", value_parser = platform_arg())]
    pub platform: Platform,
    /// The profile and cluster name (a DNS label).
    #[arg(long, default_value = "my-cluster")]
    pub name: String,
    /// Where to write it (default `<name>.yaml`; `-` for stdout). Never overwrites.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Files or directories of YAML (documents or a `List`).
    #[arg(required = true)]
    pub objects: Vec<PathBuf>,
    /// Where to write the profile (`-` for stdout). Never overwrites.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// The profile and cluster name (a DNS label).
    #[arg(long, default_value = "imported")]
    pub name: String,
    #[arg(long, default_value = "kubeadm", value_parser = platform_arg())]
    pub platform: Platform,
    /// Kubernetes minor version (default: the newest kharden supports).
    #[arg(long, value_name = "VERSION")]
    pub kubernetes_version: Option<String>,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The cluster profile (YAML).
    pub profile: PathBuf,
    /// YAML files or directories of the cluster's objects.
    #[arg(required = true)]
    pub objects: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `--platform`: the names the platform seam knows, as the profile spells them.
fn platform_arg() -> impl clap::builder::TypedValueParser<Value = Platform> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(crate::platform::names())
        .try_map(|name| crate::platform::named(&name).ok_or("unknown platform"))
}
