//! Issue #13's admission items, run on both engines through the same harness
//! as the main case table: EKS and GKE internal load balancers (Service scheme
//! annotations, ALB and GKE Ingresses; item 10), `spec.defaultBackend` (item
//! 11), required annotations without trusting `ownerReferences`, on
//! ReplicaSets and pod templates (item 13), one-repository registry entries and
//! empty host labels (item 20).

use serde_json::{Value, json};

use super::{
    Case, assert_table, case, eval, img, ingress, model, rendered_for, service, windows_pod,
};
use crate::testing::{HEAD, today};

const ENGINES: [&str; 2] = ["gatekeeper", "validating-admission-policy"];

/// A profile on `platform` with the internal load balancer rule only.
fn lb_model(platform: &str, engine: &str) -> crate::Model {
    let text = format!(
        "{HEAD}namespaces: [{{name: team-a}}]\npolicy: {{engine: {engine}, internalLoadBalancers: true}}\n"
    )
    .replace("platform: kubeadm", &format!("platform: {platform}"));
    match crate::load_text(&text, "t.yaml", today()) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    }
}

fn annotated(mut o: Value, annotations: Value) -> Value {
    o["metadata"]["annotations"] = annotations;
    o
}

fn class(mut o: Value, name: &str) -> Value {
    o["spec"]["ingressClassName"] = json!(name);
    o
}

const SCHEME: &str = "service.beta.kubernetes.io/aws-load-balancer-scheme";
const LEGACY: &str = "service.beta.kubernetes.io/aws-load-balancer-internal";
const ALB: &str = "alb.ingress.kubernetes.io/scheme";
const CLASS: &str = "kubernetes.io/ingress.class";

fn eks_table() -> Vec<Case> {
    let a = "team-a";
    let host = || ingress(&["shop.example.ca"]);
    let mut lbc = service("LoadBalancer", json!({SCHEME: "internal"}));
    lbc["spec"]["loadBalancerClass"] = json!("service.k8s.aws/nlb");
    let mut lbc_public = service("LoadBalancer", json!({SCHEME: "internet-facing"}));
    lbc_public["spec"]["loadBalancerClass"] = json!("service.k8s.aws/nlb");
    vec![
        case(
            "legacy annotation",
            a,
            service("LoadBalancer", json!({LEGACY: "true"})),
            true,
        ),
        case(
            "scheme internal and legacy annotation",
            a,
            service("LoadBalancer", json!({SCHEME: "internal", LEGACY: "true"})),
            true,
        ),
        case(
            "scheme internet-facing wins over the legacy annotation",
            a,
            service(
                "LoadBalancer",
                json!({SCHEME: "internet-facing", LEGACY: "true"}),
            ),
            false,
        ),
        case(
            "scheme internal for the AWS controller (class)",
            a,
            lbc,
            true,
        ),
        case(
            "scheme internal for the AWS controller (type external)",
            a,
            service(
                "LoadBalancer",
                json!({SCHEME: "internal", "service.beta.kubernetes.io/aws-load-balancer-type": "external"}),
            ),
            true,
        ),
        case(
            "scheme internal alone: the in-tree controller ignores it",
            a,
            service("LoadBalancer", json!({SCHEME: "internal"})),
            false,
        ),
        case(
            "scheme internet-facing for the AWS controller",
            a,
            lbc_public,
            false,
        ),
        case(
            "no annotation",
            a,
            service("LoadBalancer", json!({})),
            false,
        ),
        case(
            "legacy annotation false",
            a,
            service("LoadBalancer", json!({LEGACY: "false"})),
            false,
        ),
        case(
            "cluster IP with a public scheme",
            a,
            service("ClusterIP", json!({SCHEME: "internet-facing"})),
            true,
        ),
        case(
            "ALB Ingress without a scheme",
            a,
            class(host(), "alb"),
            false,
        ),
        case(
            "ALB Ingress internal",
            a,
            annotated(class(host(), "alb"), json!({ALB: "internal"})),
            true,
        ),
        case(
            "ALB Ingress internet-facing",
            a,
            annotated(class(host(), "alb"), json!({ALB: "internet-facing"})),
            false,
        ),
        case(
            "ALB Ingress by the class annotation, without a scheme",
            a,
            annotated(host(), json!({CLASS: "alb"})),
            false,
        ),
        case(
            "internet-facing scheme under another class name",
            a,
            annotated(class(host(), "public-alb"), json!({ALB: "internet-facing"})),
            false,
        ),
        case(
            "Ingress of another controller",
            a,
            class(host(), "nginx"),
            true,
        ),
    ]
}

fn gke_table() -> Vec<Case> {
    let a = "team-a";
    let host = || ingress(&["shop.example.ca"]);
    vec![
        case(
            "internal Service",
            a,
            service(
                "LoadBalancer",
                json!({"networking.gke.io/load-balancer-type": "Internal"}),
            ),
            true,
        ),
        case(
            "public Service",
            a,
            service("LoadBalancer", json!({})),
            false,
        ),
        case("Ingress without a class", a, host(), false),
        case(
            "Ingress of class gce",
            a,
            annotated(host(), json!({CLASS: "gce"})),
            false,
        ),
        case(
            "Ingress of class gce-internal",
            a,
            annotated(host(), json!({CLASS: "gce-internal"})),
            true,
        ),
        case(
            "ingressClassName is ignored next to the annotation",
            a,
            annotated(class(host(), "gce-internal"), json!({CLASS: "gce"})),
            false,
        ),
        case(
            "Ingress of another controller by class name",
            a,
            class(host(), "nginx"),
            true,
        ),
        case(
            "Ingress of another controller by annotation",
            a,
            annotated(host(), json!({CLASS: "nginx"})),
            true,
        ),
    ]
}

#[test]
fn issue_13_item_10_eks_load_balancers_are_internal_on_both_engines() {
    for engine in ENGINES {
        assert_table(
            engine,
            &rendered_for(&lb_model("eks", engine), engine),
            eks_table(),
        );
    }
}

#[test]
fn issue_13_item_10_gke_load_balancers_are_internal_on_both_engines() {
    for engine in ENGINES {
        assert_table(
            engine,
            &rendered_for(&lb_model("gke", engine), engine),
            gke_table(),
        );
    }
}

/// A team-b pod (the nginx exception's namespace, Windows nodes) with `image`.
fn team_b(image: &str) -> Value {
    let mut p = windows_pod(true, json!({"key": super::TAINT, "operator": "Exists"}));
    p["spec"]["containers"][0]["image"] = json!(image);
    p
}

fn workload(kind: &str, own: bool, template: bool) -> Value {
    let image = "artifactory.cloud.statcan.ca/team/app:1.0";
    let md = |on: bool| {
        if on {
            json!({"name": "w", "annotations": {"contact": "x@y.z"}})
        } else {
            json!({"name": "w"})
        }
    };
    let api = if kind == "Job" { "batch/v1" } else { "apps/v1" };
    json!({"apiVersion": api, "kind": kind, "metadata": md(own),
        "spec": {"template": {"metadata": md(template),
            "spec": {"containers": [{"name": "c", "image": image}]}}}})
}

fn cron(job: bool, pods: bool) -> Value {
    let md = |on: bool| {
        if on {
            json!({"annotations": {"contact": "x@y.z"}})
        } else {
            json!({})
        }
    };
    json!({"apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "c", "annotations": {"contact": "x@y.z"}},
        "spec": {"jobTemplate": {"metadata": md(job), "spec": {"template": {"metadata": md(pods),
            "spec": {"containers": [{"name": "c", "image": "artifactory.cloud.statcan.ca/x:1"}]}}}}}})
}

/// Rows on the main profile (AKS, every rule on).
fn table() -> Vec<Case> {
    let a = "team-a";
    let own = "shop.team-a.apps.prod-east.example.ca";
    let mut default_backend = ingress(&[own]);
    default_backend["spec"]["defaultBackend"] =
        json!({"service": {"name": "web", "port": {"number": 80}}});
    let only_default = json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
        "metadata": {"name": "i"},
        "spec": {"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}});
    let mut tls_empty = ingress(&[own]);
    tls_empty["spec"]["tls"] = json!([{"hosts": ["x..team-a.apps.prod-east.example.ca"]}]);
    let mut owned_job = workload("Job", true, true);
    owned_job["metadata"]["ownerReferences"] = json!([{"apiVersion": "batch/v1",
        "kind": "CronJob", "name": "c", "uid": "u", "controller": true}]);
    let mut claimed = workload("ReplicaSet", false, true);
    claimed["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1",
        "kind": "Deployment", "name": "d", "uid": "u", "controller": true}]);
    vec![
        // Item 20 (a): a repository entry allows that repository only.
        case(
            "exception entry: a path below the repository",
            "team-b",
            team_b("docker.io/library/nginx/evil:1"),
            false,
        ),
        case(
            "exception entry: a tag with a path after it",
            "team-b",
            team_b("docker.io/library/nginx:1/evil"),
            false,
        ),
        case(
            "exception entry: by digest",
            "team-b",
            team_b("docker.io/library/nginx@sha256:0123456789abcdef0123456789abcdef"),
            true,
        ),
        case(
            "exception entry: tag and digest",
            "team-b",
            team_b("docker.io/library/nginx:1.27@sha256:0123456789abcdef0123456789abcdef"),
            true,
        ),
        case(
            "exception entry: the repository itself",
            "team-b",
            team_b("docker.io/library/nginx"),
            true,
        ),
        case(
            "host entry: any depth below the host",
            a,
            img("artifactory.cloud.statcan.ca/a/b/c:1"),
            true,
        ),
        // Item 20 (b): no empty labels.
        case(
            "empty leading label",
            a,
            ingress(&[".team-a.apps.prod-east.example.ca"]),
            false,
        ),
        case(
            "empty inner label",
            a,
            ingress(&["shop..team-a.apps.prod-east.example.ca"]),
            false,
        ),
        case("empty label in a TLS host", a, tls_empty, false),
        // Item 11: a default backend takes every host no rule names.
        case(
            "default backend next to a good rule",
            a,
            default_backend,
            false,
        ),
        case("default backend alone", a, only_default, false),
        // Item 13: no exemption for a claimed owner; ReplicaSets and templates too.
        case(
            "ReplicaSet without the annotation",
            a,
            workload("ReplicaSet", false, true),
            false,
        ),
        case("ReplicaSet claiming a Deployment owner", a, claimed, false),
        case(
            "ReplicaSet with the annotation, template too",
            a,
            workload("ReplicaSet", true, true),
            true,
        ),
        case(
            "Deployment whose pod template lacks the annotation",
            a,
            workload("Deployment", true, false),
            false,
        ),
        case(
            "Deployment annotated on both",
            a,
            workload("Deployment", true, true),
            true,
        ),
        case(
            "Job a CronJob owns, annotated as its template says",
            a,
            owned_job,
            true,
        ),
        case(
            "CronJob whose job template lacks the annotation",
            a,
            cron(false, true),
            false,
        ),
        case(
            "CronJob whose pod template lacks the annotation",
            a,
            cron(true, false),
            false,
        ),
        case("CronJob annotated everywhere", a, cron(true, true), true),
        // Item 10: AKS has no Ingress rule of its own.
        case(
            "Ingress on AKS",
            a,
            ingress(&["shop.team-a.apps.prod-east.example.ca"]),
            true,
        ),
    ]
}

#[test]
fn issue_13_items_11_13_20_pass_on_both_engines() {
    for engine in ENGINES {
        assert_table(engine, &rendered_for(&model(engine), engine), table());
    }
}

/// Both engines say why and what to do.
#[test]
fn issue_13_denials_say_what_to_do() {
    let eks: Vec<(Case, &str)> = vec![
        (
            case(
                "x",
                "team-a",
                service(
                    "LoadBalancer",
                    json!({SCHEME: "internet-facing", LEGACY: "true"}),
                ),
                false,
            ),
            "service.beta.kubernetes.io/aws-load-balancer-scheme is internet-facing and wins over service.beta.kubernetes.io/aws-load-balancer-internal; set it to internal",
        ),
        (
            case(
                "x",
                "team-a",
                service("LoadBalancer", json!({SCHEME: "internal"})),
                false,
            ),
            "set the annotation service.beta.kubernetes.io/aws-load-balancer-internal: true (the in-tree controller reads only that one;",
        ),
        (
            case("x", "team-a", class(ingress(&["a.b.c"]), "alb"), false),
            "an ALB Ingress must be internal: set the annotation alb.ingress.kubernetes.io/scheme: internal",
        ),
    ];
    let gke: Vec<(Case, &str)> = vec![(
        case("x", "team-a", ingress(&["a.b.c"]), false),
        "gets an external Application Load Balancer on GKE: set the annotation kubernetes.io/ingress.class: gce-internal",
    )];
    let mut db = ingress(&["shop.team-a.apps.prod-east.example.ca"]);
    db["spec"]["defaultBackend"] = json!({"service": {"name": "web", "port": {"number": 80}}});
    let main: Vec<(Case, &str)> = vec![
        (
            case("x", "team-a", db.clone(), false),
            "an Ingress with spec.defaultBackend takes the requests for every host no rule names, around the host rules: remove defaultBackend and route through rules whose hosts are under apps.prod-east.example.ca",
        ),
        (
            case("x", "team-a", db, false),
            "an Ingress with spec.defaultBackend takes the requests for every host no rule names, including hosts other namespaces hold: remove defaultBackend and route through rules with hosts of your own",
        ),
        (
            case("x", "team-a", workload("Deployment", true, false), false),
            "spec.template.metadata.annotations",
        ),
    ];
    for engine in ENGINES {
        for (m, rows) in [
            (lb_model("eks", engine), &eks),
            (lb_model("gke", engine), &gke),
            (model(engine), &main),
        ] {
            let objs = rendered_for(&m, engine);
            for (c, want) in rows {
                let v = eval(engine, &objs, c);
                assert!(
                    v.iter().any(|m| m.contains(want)),
                    "{engine}: want {want:?}, got {v:?}"
                );
            }
        }
    }
}
