//! Registry entry forms (#30 item 1), run on both engines through the same
//! harness as the main case table: everything on a host, everything under a
//! path (at a `/` boundary), one repository, one tag, one digest, Docker Hub
//! short names; then how entries are parsed, refused and read for `lint`.

use serde_json::json;

use super::super::registry::{Form, RegistryError, parse};
use super::{Case, assert_table, case, img, rendered_for};
use crate::testing::model;

const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const E: &str = "sha256:fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

fn profile(engine: &str) -> String {
    format!(
        r#"namespaces: [{{name: team-a}}, {{name: team-b}}]
policy:
  engine: {engine}
  requiredLimits: []
  allowedRegistries:
    - registry.example.com
    - harbor.example.com/team/*
    - artifactory.example.com/docker-remote/
    - ghcr.io/acme/app
    - quay.io/org/tool:1.2
    - gcr.io/proj/pinned@{D}
    - docker.io/nginx
    - docker.io/bitnami/*
    - europe-docker.pkg.dev/proj/repo/*
exceptions:
  - rule: allowedRegistries
    namespaces: [team-b]
    allow: [ghcr.io/other/*]
    owner: team-b@example.ca
    ticket: SEC-1
    expires: 2030-06-30
"#
    )
}

fn table() -> Vec<Case> {
    let a = "team-a";
    let rows: Vec<(&str, String, bool)> = vec![
        // host: everything on it, nothing on a look-alike host or another port.
        ("host", "registry.example.com/a/b:1".into(), true),
        (
            "host as a subdomain",
            "registry.example.com.evil.io/x".into(),
            false,
        ),
        (
            "host on another port",
            "registry.example.com:5000/x".into(),
            false,
        ),
        // host/path/*: everything under the path, at a `/` boundary.
        ("under a path", "harbor.example.com/team/app:1".into(), true),
        (
            "deeper under a path",
            "harbor.example.com/team/sub/app".into(),
            true,
        ),
        (
            "path-evil stays out",
            "harbor.example.com/team-evil/app".into(),
            false,
        ),
        (
            "the path itself as an image",
            "harbor.example.com/team:1".into(),
            false,
        ),
        (
            "another path on the host",
            "harbor.example.com/other/app".into(),
            false,
        ),
        // host/path/ (trailing slash): taken as host/path/* (lint says so).
        (
            "under a trailing-slash path",
            "artifactory.example.com/docker-remote/library/nginx:1".into(),
            true,
        ),
        (
            "trailing-slash path-evil",
            "artifactory.example.com/docker-remote-evil/x".into(),
            false,
        ),
        // host/path/repo: that repository, any tag or digest.
        ("repository", "ghcr.io/acme/app".into(), true),
        ("repository, a tag", "ghcr.io/acme/app:v2".into(), true),
        (
            "repository, a digest",
            format!("ghcr.io/acme/app@{E}"),
            true,
        ),
        (
            "repository, tag and digest",
            format!("ghcr.io/acme/app:v2@{E}"),
            true,
        ),
        (
            "below the repository",
            "ghcr.io/acme/app/evil".into(),
            false,
        ),
        (
            "repository name as a prefix",
            "ghcr.io/acme/appevil".into(),
            false,
        ),
        (
            "another repository of the org",
            "ghcr.io/acme/other".into(),
            false,
        ),
        // host/path/repo:tag: exactly that tag.
        ("the tag", "quay.io/org/tool:1.2".into(), true),
        ("another tag", "quay.io/org/tool:1.3".into(), false),
        (
            "the tag as a prefix",
            "quay.io/org/tool:1.2.1".into(),
            false,
        ),
        ("no tag is latest", "quay.io/org/tool".into(), false),
        (
            "the tag with a digest (the digest decides)",
            format!("quay.io/org/tool:1.2@{D}"),
            false,
        ),
        // host/path/repo@digest: exactly that image.
        ("the digest", format!("gcr.io/proj/pinned@{D}"), true),
        (
            "the digest beside a tag",
            format!("gcr.io/proj/pinned:v1@{D}"),
            true,
        ),
        ("another digest", format!("gcr.io/proj/pinned@{E}"), false),
        (
            "a tag of the pinned repository",
            "gcr.io/proj/pinned:v1".into(),
            false,
        ),
        (
            "the pinned repository untagged",
            "gcr.io/proj/pinned".into(),
            false,
        ),
        (
            "the digest below the repository",
            format!("gcr.io/proj/pinned/x:y@{D}"),
            false,
        ),
        (
            "the digest with a path in the tag",
            format!("gcr.io/proj/pinned:a/b@{D}"),
            false,
        ),
        // Docker Hub short names.
        ("bare official name", "nginx".into(), true),
        ("bare official name with a tag", "nginx:1.27".into(), true),
        (
            "docker.io without library/",
            "docker.io/nginx:1.27".into(),
            true,
        ),
        (
            "index.docker.io",
            "index.docker.io/library/nginx".into(),
            true,
        ),
        (
            "official image by digest",
            format!("docker.io/library/nginx@{D}"),
            true,
        ),
        ("official look-alike", "nginxevil".into(), false),
        ("another official image", "library/busybox".into(), false),
        ("hub namespace", "bitnami/redis:7".into(), true),
        (
            "hub namespace, full name",
            "docker.io/bitnami/redis".into(),
            true,
        ),
        ("hub namespace-evil", "bitnami-evil/redis".into(), false),
        (
            "upper case first segment is a host",
            "Bitnami/redis".into(),
            false,
        ),
        // Artifact Registry: a project's repository, not every customer's.
        (
            "artifact registry repository",
            "europe-docker.pkg.dev/proj/repo/img:1".into(),
            true,
        ),
        (
            "artifact registry repo-evil",
            "europe-docker.pkg.dev/proj/repo-evil/img".into(),
            false,
        ),
        (
            "artifact registry, another project",
            "europe-docker.pkg.dev/other/repo/img".into(),
            false,
        ),
        (
            "exception does not reach team-a",
            "ghcr.io/other/x".into(),
            false,
        ),
    ];
    let mut cases: Vec<Case> = rows
        .into_iter()
        .map(|(what, image, allowed)| {
            let what: &'static str = Box::leak(format!("{what}: {image}").into_boxed_str());
            case(what, a, img(&image), allowed)
        })
        .collect();
    cases.push(case(
        "exception: everything under its path",
        "team-b",
        img("ghcr.io/other/x:1"),
        true,
    ));
    cases.push(case(
        "exception: other-evil stays out",
        "team-b",
        img("ghcr.io/other-evil/x:1"),
        false,
    ));
    cases
}

fn run(engine: &str) {
    let m = model(&profile(engine));
    assert_table(engine, &rendered_for(&m, engine), table());
}

#[test]
fn registry_forms_pass_on_gatekeeper() {
    run("gatekeeper");
}

#[test]
fn registry_forms_pass_on_the_native_engine() {
    run("validating-admission-policy");
}

#[test]
fn both_engines_get_one_normal_form_per_meaning() {
    let m = model(&profile("gatekeeper"));
    let plan = super::plan(&m);
    assert_eq!(
        plan[0].params["registries"],
        json!([
            "artifactory.example.com/docker-remote/*",
            "docker.io/bitnami/*",
            "docker.io/library/nginx",
            "europe-docker.pkg.dev/proj/repo/*",
            format!("gcr.io/proj/pinned@{D}"),
            "ghcr.io/acme/app",
            "harbor.example.com/team/*",
            "quay.io/org/tool:1.2",
            "registry.example.com/*",
        ])
    );
}

#[test]
fn entries_are_parsed_into_their_forms() {
    for (raw, normal, form) in [
        (
            "Registry.Example.com",
            "registry.example.com/*",
            Form::Under,
        ),
        (
            "registry.example.com/",
            "registry.example.com/*",
            Form::Under,
        ),
        (
            "registry.example.com/*",
            "registry.example.com/*",
            Form::Under,
        ),
        ("localhost:5000", "localhost:5000/*", Form::Under),
        ("h.example/team/*", "h.example/team/*", Form::Under),
        ("h.example/team/", "h.example/team/*", Form::Under),
        ("h.example/team/app", "h.example/team/app", Form::Repository),
        (
            "localhost:5000/app:V1.0_x",
            "localhost:5000/app:V1.0_x",
            Form::Tag,
        ),
        (
            "index.docker.io/nginx",
            "docker.io/library/nginx",
            Form::Repository,
        ),
        (
            "registry-1.docker.io/bitnami/*",
            "docker.io/bitnami/*",
            Form::Under,
        ),
        (
            "docker.io/nginx:1.27",
            "docker.io/library/nginx:1.27",
            Form::Tag,
        ),
    ] {
        let e = parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
        assert_eq!((e.normal.as_str(), e.form), (normal, form), "{raw}");
    }
    let e = parse(&format!("h.example/a/b@{D}")).unwrap();
    assert_eq!(
        (e.normal, e.form),
        (format!("h.example/a/b@{D}"), Form::Digest)
    );
    for (bad, why) in [
        ("nginx", RegistryError::Ambiguous("nginx".to_owned())),
        ("bitnami/*", RegistryError::Ambiguous("bitnami".to_owned())),
        ("*.example.com", RegistryError::Char('*')),
        ("h.example/te*", RegistryError::Char('*')),
        ("h.example/*/app", RegistryError::Char('*')),
        (
            "h.example/app@sha256:00",
            RegistryError::Digest("sha256:00".to_owned()),
        ),
        ("h.example/app:1.0/x", RegistryError::Tag),
        ("h.example/app:-x", RegistryError::BadTag("-x".to_owned())),
        ("h.example/team/*:1", RegistryError::Char('*')),
        ("h.example/team/:1", RegistryError::EmptySegment),
        ("https://r.example.com", RegistryError::Scheme),
        ("r.example.com//x", RegistryError::EmptySegment),
        (
            "r.example.com:0/x",
            RegistryError::Host("r.example.com:0".to_owned()),
        ),
        ("r.example.com/Team", RegistryError::UpperCase),
        ("", RegistryError::Empty),
    ] {
        assert_eq!(parse(bad), Err(why), "{bad}");
    }
    assert_eq!(
        parse(&format!("h.example/app:1@{D}")),
        Err(RegistryError::TagAndDigest)
    );
    assert_eq!(
        parse(&format!("h.example/team/@{D}")),
        Err(RegistryError::WildcardImage)
    );
}

#[test]
fn entries_read_one_way_say_so_and_how_to_write_the_other() {
    let reading = |raw: &str| parse(raw).unwrap().reading.map(|r| (r.meaning, r.other));
    assert_eq!(
        reading("h.example/team/"),
        Some((
            "`h.example/team/*`, everything under `h.example/team/`".to_owned(),
            "write `h.example/team/*` to say so, or `h.example/team` for that one repository"
                .to_owned()
        ))
    );
    assert_eq!(
        reading("docker.io/bitnami"),
        Some((
            "the official image `docker.io/library/bitnami`".to_owned(),
            "write `docker.io/bitnami/*` for everything under the Docker Hub namespace `bitnami`"
                .to_owned()
        ))
    );
    assert_eq!(
        reading("europe-docker.pkg.dev/proj/repo").map(|r| r.1),
        Some("write `europe-docker.pkg.dev/proj/repo/*` for everything under it".to_owned())
    );
    assert!(reading("ghcr.io/acme").is_some());
    // Explicit forms are read one way only.
    for raw in [
        "h.example",
        "h.example/",
        "h.example/team/*",
        "h.example/team/app",
        "ghcr.io/acme/app",
        "docker.io/library/nginx",
        "docker.io/bitnami/*",
        "europe-docker.pkg.dev/proj/repo/*",
    ] {
        assert_eq!(reading(raw), None, "{raw}");
    }
    // `lint` reports them with the field path, exceptions included.
    let m = model(&profile("gatekeeper").replace("ghcr.io/other/*", "docker.io/bitnami"));
    let found: Vec<String> = crate::pipeline::lint::run(&m)
        .into_iter()
        .filter(|f| f.rule.id == "KH016")
        .map(|f| format!("{}: {}", f.diag.path, f.diag.message))
        .collect();
    assert_eq!(
        found,
        [
            "policy.allowedRegistries[2]: `artifactory.example.com/docker-remote/` is read as `artifactory.example.com/docker-remote/*`, everything under `artifactory.example.com/docker-remote/`",
            "policy.allowedRegistries[6]: `docker.io/nginx` is read as the official image `docker.io/library/nginx`",
            "exceptions[0].allow[0]: `docker.io/bitnami` is read as the official image `docker.io/library/bitnami`",
        ]
    );
}
