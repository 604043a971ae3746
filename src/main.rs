//! The `kharden` binary: parse arguments, call the library, print once, exit.

mod cli;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use kharden::{Error, Model, clock, diff, explain, fleet, init, lint, output};

// A fleet render allocates and frees millions of small strings and maps; with
// glibc's malloc that was a third of the run (perf, #17).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    match run(args.command) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let text = e.to_string();
            eprint!("{text}");
            if !text.ends_with('\n') {
                eprintln!();
            }
            ExitCode::from(2)
        }
    }
}

fn load(profile: &Path) -> Result<Model, Error> {
    let today = clock::today()?;
    kharden::load(profile, &kharden::display_path(profile), today)
}

fn print(text: &str) -> Result<(), Error> {
    emit(|w| w.write_all(text.as_bytes()))
}

/// Write to stdout through one buffer (stdout alone flushes at every line).
fn emit(f: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<(), Error> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    match f(&mut out).and_then(|()| out.flush()) {
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Error::io("write to stdout".to_owned(), e))
        }
        _ => Ok(()),
    }
}

fn usage(message: &str) -> Error {
    Error::Usage(message.to_owned())
}

fn run(cmd: cli::Command) -> Result<u8, Error> {
    match cmd {
        cli::Command::Schema { scenario } => {
            let schema = if scenario {
                kharden::verify::scenario_schema()
            } else {
                kharden::model::profile_schema()
            };
            let text = serde_json::to_string_pretty(&schema)
                .map_err(kharden::manifest::RenderError::internal)?;
            print(&format!("{text}\n"))?;
            Ok(0)
        }
        cli::Command::Verify { profile, scenarios } => {
            let m = load(&profile)?;
            let loaded = scenarios
                .iter()
                .map(|s| kharden::verify::load(s, &kharden::display_path(s)))
                .collect::<Result<Vec<_>, _>>()?;
            let r = kharden::render(&m)?;
            // The platform self-check `render` ran (it refuses a bundle that
            // fails it): say what it proved.
            let platform = kharden::components::check::run(&m, &r.set)?;
            if !platform.checks.is_empty() {
                eprintln!("note: {}", kharden::components::check::summary(&platform));
            }
            let mut failed = 0;
            for l in &loaded {
                let report = kharden::verify::run(&m, &r.set, l)?;
                if loaded.len() > 1 {
                    print(&format!("{}:\n", l.display))?;
                }
                print(&report.text())?;
                failed += report.failed();
            }
            Ok(if failed > 0 { 1 } else { 0 })
        }
        cli::Command::Report {
            profile,
            output: out,
        } => {
            let m = load(&profile)?;
            let r = kharden::render(&m)?;
            let html = kharden::report::html(&m, &r.set)?;
            if out == Path::new("-") {
                print(&html)?;
            } else {
                std::fs::write(&out, html)
                    .map_err(|e| Error::io(format!("write `{}`", out.display()), e))?;
                eprintln!("wrote `{}`", out.display());
            }
            Ok(0)
        }
        cli::Command::Validate { profile } => {
            let model = load(&profile)?;
            eprintln!(
                "ok: `{}` is valid ({} namespaces)",
                model.display,
                model.profile.namespaces.len()
            );
            Ok(0)
        }
        cli::Command::Render {
            profiles,
            output: dir,
            check,
        } => render(&profiles, dir, check),
        cli::Command::Diff { old, new, format } => {
            let report = match (old.is_dir(), new.is_dir()) {
                (true, true) => {
                    return Err(usage(
                        "`diff` needs at least one profile; both arguments are directories",
                    ));
                }
                (false, false) => {
                    let (a, b) = (load(&old)?, load(&new)?);
                    let (ra, rb) = (kharden::render(&a)?, kharden::render(&b)?);
                    diff::profiles(&a, &ra.set, &b, &rb.set)
                }
                (old_is_dir, _) => {
                    let (dir, profile) = if old_is_dir {
                        (&old, &new)
                    } else {
                        (&new, &old)
                    };
                    let m = load(profile)?;
                    let rendered = diff::bodies(&kharden::render(&m)?.set);
                    let mut on_disk = BTreeMap::new();
                    for rel in output::list_files(dir)? {
                        if output::is_index(&rel) {
                            continue;
                        }
                        let text = std::fs::read_to_string(dir.join(&rel))
                            .map_err(|e| Error::io(format!("read `{rel}`"), e))?;
                        on_disk.insert(rel, diff::strip_header(&text).to_owned());
                    }
                    let files = if old_is_dir {
                        diff::file_changes(&on_disk, &rendered)
                    } else {
                        diff::file_changes(&rendered, &on_disk)
                    };
                    diff::Report {
                        changes: None,
                        files,
                    }
                }
            };
            print(&match format {
                cli::Format::Text => diff::text(&report),
                cli::Format::Markdown => diff::markdown(&report),
                cli::Format::Json => diff::json(&report),
            })?;
            Ok(if report.is_empty() { 0 } else { 1 })
        }
        cli::Command::Explain {
            profile,
            path,
            format,
        } => {
            let m = load(&profile)?;
            match (path, format) {
                (None, cli::ExplainFormat::Mermaid) => {
                    let r = kharden::render(&m)?;
                    print(&kharden::report::mermaid(&m, &r.set))?;
                }
                (Some(_), cli::ExplainFormat::Mermaid) => {
                    return Err(usage(
                        "`--format mermaid` draws the flow graph; give no value path",
                    ));
                }
                (None, cli::ExplainFormat::Text) => print(&explain::overview(&m))?,
                (Some(p), cli::ExplainFormat::Text) => print(&explain::value(&m, &p)?)?,
            }
            Ok(0)
        }
        cli::Command::Lint {
            profile,
            deny_warnings,
            explain,
        } => {
            if let Some(id) = explain {
                let r = lint::rule(&id).ok_or_else(|| {
                    Error::Usage(format!("no lint rule `{id}`; see docs/lint.md"))
                })?;
                print(&format!("{} {}\n\n{}\n", r.id, r.name, r.explanation))?;
                return Ok(0);
            }
            let Some(profile) = profile else {
                return Err(usage("`lint` needs a profile"));
            };
            let m = load(&profile)?;
            let findings = lint::run(&m);
            let errors = findings
                .iter()
                .filter(|f| f.rule.level == lint::Level::Error)
                .count();
            let warnings = findings.len() - errors;
            let mut d = kharden::Diagnostics::default();
            d.extend(findings.into_iter().map(|f| f.diag).collect());
            eprint!("{}", d.render_items_in(Some(&m.sources)));
            eprintln!("lint: {errors} error(s), {warnings} warning(s)");
            Ok(if errors > 0 || (deny_warnings && warnings > 0) {
                1
            } else {
                0
            })
        }
        cli::Command::Init {
            platform,
            name,
            output: out,
        } => {
            let platform = match platform {
                cli::InitPlatform::Kubeadm => "kubeadm",
                cli::InitPlatform::Aks => "aks",
                cli::InitPlatform::Eks => "eks",
                cli::InitPlatform::Gke => "gke",
            };
            let text = init::starter(platform, &name)?;
            let out = out.unwrap_or_else(|| PathBuf::from(format!("{name}.yaml")));
            if out == Path::new("-") {
                print(&text)?;
                return Ok(0);
            }
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&out)
                .map_err(|source| Error::Io {
                    action: format!("create `{}`", out.display()),
                    source,
                    hint: " (kharden init never overwrites)",
                })?;
            f.write_all(text.as_bytes())
                .map_err(|e| Error::io(format!("write `{}`", out.display()), e))?;
            eprintln!(
                "wrote `{}`; render it with `kharden render {}`",
                out.display(),
                out.display()
            );
            Ok(0)
        }
        cli::Command::Import {
            objects,
            output: out,
            name,
            platform,
            kubernetes_version,
        } => {
            let platform = match platform {
                cli::InitPlatform::Kubeadm => "kubeadm",
                cli::InitPlatform::Aks => "aks",
                cli::InitPlatform::Eks => "eks",
                cli::InitPlatform::Gke => "gke",
            };
            let opts = kharden::import::Options {
                name,
                platform: platform.to_owned(),
                kubernetes_version: kubernetes_version
                    .unwrap_or_else(|| kharden::releases::NEWEST.version.to_owned()),
            };
            let files = kharden::import::files(&objects)?;
            let imported = kharden::import::run(&files, &opts)?;
            if out == Path::new("-") {
                print(&imported.text)?;
            } else {
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&out)
                    .map_err(|source| Error::Io {
                        action: format!("create `{}`", out.display()),
                        source,
                        hint: " (kharden import never overwrites)",
                    })?;
                f.write_all(imported.text.as_bytes())
                    .map_err(|e| Error::io(format!("write `{}`", out.display()), e))?;
                eprintln!(
                    "wrote `{}` ({} notes at its top); review it, then `kharden render {}`",
                    out.display(),
                    imported.notes.len(),
                    out.display()
                );
            }
            Ok(0)
        }
        cli::Command::Gitops {
            what: cli::Gitops::ArgocdPlugin,
        } => {
            print(&kharden::gitops::argocd_plugin()?)?;
            Ok(0)
        }
        cli::Command::Gitops {
            what:
                cli::Gitops::ArgocdApplication {
                    profile,
                    repo_url,
                    revision,
                },
        } => {
            let name = load(&profile)?.profile.metadata.name;
            let app = kharden::gitops::argocd_application(&name, &repo_url, &revision);
            print(&app?)?;
            Ok(0)
        }
        cli::Command::Gitops {
            what: cli::Gitops::ArgocdHealth { profile },
        } => {
            let rendered = kharden::render(&load(&profile)?)?;
            print(&kharden::gitops::argocd_health(&rendered.set)?)?;
            Ok(0)
        }
        cli::Command::Krm => {
            let mut input = String::new();
            std::io::Read::read_to_string(&mut std::io::stdin(), &mut input)
                .map_err(|e| Error::io("read stdin".to_owned(), e))?;
            let (text, ok) = kharden::krm::run(&input, clock::today()?);
            print(&text)?;
            Ok(if ok { 0 } else { 1 })
        }
        cli::Command::Audit {
            profile,
            objects,
            format,
        } => {
            let m = load(&profile)?;
            let existing = kharden::audit::input::read(&objects)?;
            if existing.items.is_empty() {
                for n in &existing.notes {
                    eprintln!("note: {n}");
                }
                return Err(usage("no Kubernetes object could be read from OBJECTS"));
            }
            let r = kharden::render(&m)?;
            let report = kharden::audit::run(&m, &r.set, existing)?;
            print(&match format {
                cli::Format::Text => kharden::audit::format::text(&report),
                cli::Format::Markdown => kharden::audit::format::markdown(&report),
                cli::Format::Json => kharden::audit::format::json(&report),
            })?;
            Ok(if report.is_clean() { 0 } else { 1 })
        }
        cli::Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cli::Cli::command(), "kharden", &mut buf);
            print(&String::from_utf8_lossy(&buf))?;
            Ok(0)
        }
        cli::Command::Man => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(cli::Cli::command())
                .render(&mut buf)
                .map_err(|e| Error::io("render the man page".to_owned(), e))?;
            print(&String::from_utf8_lossy(&buf))?;
            Ok(0)
        }
    }
}

fn render(args: &[PathBuf], dir: Option<PathBuf>, check: bool) -> Result<u8, Error> {
    let profiles = fleet::expand(args)?;
    let fleet = fleet::is_fleet(args, &profiles);
    // Validate and render everything before writing anything.
    let rendered = fleet::render_all(&profiles, clock::today()?)?;
    if dir.as_deref() == Some(Path::new("-")) {
        if check {
            return Err(usage("`--check` needs an output directory, not `-`"));
        }
        let [(model, r)] = rendered.as_slice() else {
            return Err(usage(
                "`-o -` takes one profile; render a fleet to a directory",
            ));
        };
        for n in &r.notes {
            eprintln!("{n}");
        }
        kharden::timing::stage("emit", || {
            emit(|w| output::write_stream(w, &r.set, &model.display))
        })?;
        // The process ends here: freeing a fleet's objects one by one would cost
        // a tenth of the run and change nothing.
        std::mem::forget(rendered);
        return Ok(0);
    }
    let mut code = 0;
    for (model, r) in rendered {
        for n in &r.notes {
            eprintln!(
                "{}{n}",
                if fleet {
                    format!("{}: ", model.display)
                } else {
                    String::new()
                }
            );
        }
        let target = fleet::target(dir.as_deref(), fleet, &model.profile.metadata.name);
        let files = fleet::files(&model, r.set)?;
        if check {
            let drift = output::check(&target, &files)?;
            if drift.is_clean() {
                eprintln!(
                    "ok: `{}` is up to date ({} files)",
                    target.display(),
                    files.len()
                );
                continue;
            }
            let mut report = String::new();
            for (rel, diff) in &drift.changed {
                report.push_str(&format!("changed: {rel}\n{diff}"));
            }
            for rel in &drift.missing {
                report.push_str(&format!("missing: {rel}\n"));
            }
            for rel in &drift.extra {
                report.push_str(&format!("extra: {rel}\n"));
            }
            print(&report)?;
            eprintln!(
                "drift: `{}` differs from the rendering ({} changed, {} missing, {} extra)",
                target.display(),
                drift.changed.len(),
                drift.missing.len(),
                drift.extra.len()
            );
            code = 1;
            continue;
        }
        output::write(&target, &files)?;
        eprintln!("wrote {} files to `{}`", files.len(), target.display());
        // The process ends soon: freeing every file and the profile one by one
        // would cost a tenth of the run and change nothing.
        std::mem::forget(files);
        std::mem::forget(model);
    }
    Ok(code)
}
