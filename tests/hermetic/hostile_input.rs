//! Hostile input and hostile output targets that a fixture file cannot express:
//! profiles too large to commit (generated here), reports with a thousand
//! problems, `-o` at the home directory or a top-level system directory, and
//! symlinks planted inside the output directory. Each is refused with exit 2,
//! leaving every file where it was; the refusals made before any reading, within
//! a second. How long the thousand-problem report takes is measured by
//! `scripts/bench` (BENCHMARKS.md), not asserted: a wall clock on a loaded
//! machine made that assertion flaky.

use crate::common;

use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{TODAY, stderr, tree};

const HEAD: &str = "apiVersion: kharden.dev/v1alpha1\nkind: ClusterProfile\nmetadata: {name: t}\ncluster: {name: t, platform: kubeadm, kubernetesVersion: \"1.33\"}\n";

/// Run kharden in `dir` with `home` as `$HOME`, timed.
fn run(dir: &Path, home: &Path, args: &[&str]) -> (Output, Duration) {
    let start = Instant::now();
    let o = Command::new(env!("CARGO_BIN_EXE_kharden"))
        .args(args)
        .current_dir(dir)
        .env("KHARDEN_TODAY", TODAY)
        .env("HOME", home)
        .output()
        .expect("run kharden");
    (o, start.elapsed())
}

/// A valid profile rendered into `dir/out`, the tree every refusal must leave as it is.
fn rendered(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    fs::write(
        dir.join("good.yaml"),
        format!("{HEAD}namespaces: [{{name: a}}]\n"),
    )
    .unwrap();
    let (o, _) = run(dir, dir, &["render", "good.yaml", "-o", "out"]);
    assert!(o.status.success(), "{}", stderr(&o));
    tree(&dir.join("out"))
}

#[test]
fn a_profile_over_the_size_limit_is_refused_before_it_is_read() {
    let tmp = tempfile::tempdir().unwrap();
    let before = rendered(tmp.path());
    // 8 MiB is the limit; one byte over it, as a valid-looking profile.
    let mut text = String::from(HEAD);
    text.push_str("# ");
    text.push_str(&"x".repeat(8 * 1024 * 1024 - text.len()));
    text.push('\n');
    assert_eq!(text.len(), 8 * 1024 * 1024 + 1);
    fs::write(tmp.path().join("huge.yaml"), &text).unwrap();
    let (o, took) = run(
        tmp.path(),
        tmp.path(),
        &["render", "huge.yaml", "-o", "out"],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("`huge.yaml` is 8388609 bytes; a profile may be at most 8388608"),
        "{err}"
    );
    assert!(took < Duration::from_secs(1), "took {took:?}");
    assert_eq!(tree(&tmp.path().join("out")), before);
}

#[test]
fn a_thousand_problems_give_a_bounded_report() {
    let tmp = tempfile::tempdir().unwrap();
    let before = rendered(tmp.path());
    let mut text = format!("{HEAD}namespaces:\n");
    for i in 0..1000 {
        let _ = writeln!(text, "  - {{name: n{i}, bogus: 1}}");
    }
    fs::write(tmp.path().join("many.yaml"), &text).unwrap();
    let (o, _) = run(
        tmp.path(),
        tmp.path(),
        &["render", "many.yaml", "-o", "out"],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // The first problems in full, a count of the rest, the true total.
    assert_eq!(err.matches("error: unknown field `bogus`").count(), 200);
    assert!(
        err.contains("note: 800 more problems not shown; fix the ones above first"),
        "{}",
        &err[err.len().saturating_sub(500)..]
    );
    assert!(err.ends_with("error: the profile has 1000 problems; nothing was written\n"));
    assert!(err.len() < 200_000, "report of {} bytes", err.len());
    assert_eq!(tree(&tmp.path().join("out")), before);
}

#[test]
fn output_at_home_or_a_top_level_directory_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    fs::create_dir(&home).unwrap();
    fs::write(home.join(".profile"), "mine\n").unwrap();
    fs::write(
        tmp.path().join("p.yaml"),
        format!("{HEAD}namespaces: [{{name: a}}]\n"),
    )
    .unwrap();
    symlink(&home, tmp.path().join("to-home")).unwrap();
    let home_s = home.to_str().unwrap();
    let home_slash = format!("{home_s}/");
    let home_dot = format!("{home_s}/sub/..");
    for target in [
        home_s,
        &home_slash,
        &home_dot,
        "to-home",
        "/",
        "/etc",
        "/usr",
    ] {
        let (o, took) = run(tmp.path(), &home, &["render", "p.yaml", "-o", target]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "-o {target}: {err}");
        assert!(err.contains("refusing to write to"), "-o {target}: {err}");
        assert!(took < Duration::from_secs(1), "-o {target}: took {took:?}");
    }
    // $HOME given through a symlink: the real directory is still home.
    let (o, _) = run(
        tmp.path(),
        &tmp.path().join("to-home"),
        &["render", "p.yaml", "-o", home_s],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("refusing to write to"));
    assert_eq!(
        fs::read_dir(&home).unwrap().count(),
        1,
        "the home directory changed"
    );
    assert_eq!(fs::read_to_string(home.join(".profile")).unwrap(), "mine\n");
    // Nothing was left beside the targets either.
    let mut names: Vec<String> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["home", "p.yaml", "to-home"]);
}

#[test]
fn symlinks_planted_in_the_output_are_never_followed_out_of_it() {
    let tmp = tempfile::tempdir().unwrap();
    let before = rendered(tmp.path());
    let outside = tmp.path().join("outside");
    fs::create_dir(&outside).unwrap();
    // Bait: files outside that look like ours, so only the symlink check can save them.
    let header = "# generated by kharden from good.yaml; do not edit\nkind: Secret\n";
    fs::write(outside.join("victim.yaml"), header).unwrap();
    fs::write(outside.join("role.yaml"), header).unwrap();
    let outside_before = tree(&outside);
    let out = tmp.path().join("out");

    // A file link named like one we write, and a directory link.
    for (link, to) in [
        (
            "stages/20-namespaced/a/namespace-link.yaml",
            outside.join("victim.yaml"),
        ),
        ("linked-dir", outside.clone()),
    ] {
        symlink(&to, out.join(link)).unwrap();
        let with_link = tree(&out);
        let (o, _) = run(
            tmp.path(),
            tmp.path(),
            &["render", "good.yaml", "-o", "out"],
        );
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{link}: {err}");
        assert!(err.contains("kharden did not write"), "{link}: {err}");
        assert!(err.contains(link), "{link}: {err}");
        assert_eq!(tree(&out), with_link, "{link}: output changed");
        assert_eq!(tree(&outside), outside_before, "{link}: followed out");
        assert!(
            fs::symlink_metadata(out.join(link))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        fs::remove_file(out.join(link)).unwrap();
    }
    // With the links gone the same render goes through, and the outside is intact.
    let (o, _) = run(
        tmp.path(),
        tmp.path(),
        &["render", "good.yaml", "-o", "out"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(tree(&out), before);
    assert_eq!(tree(&outside), outside_before);

    // The output directory itself a symlink to an empty directory: the swap
    // replaces the link, and never writes into (or deletes) what it points at.
    let real = tmp.path().join("real");
    fs::create_dir(&real).unwrap();
    symlink(&real, tmp.path().join("out-link")).unwrap();
    let (o, _) = run(
        tmp.path(),
        tmp.path(),
        &["render", "good.yaml", "-o", "out-link"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(real.is_dir() && fs::read_dir(&real).unwrap().count() == 0);
    assert_eq!(tree(&tmp.path().join("out-link")), before);
}
