//! The admission case table: each request and the answer both engines must
//! give (Gatekeeper's Rego and the native CEL, run by `verify::admission`).

use super::*;

/// The specification: both engines must give these answers.
pub(super) fn table() -> Vec<Case> {
    let a = "team-a";
    let good = "artifactory.cloud.statcan.ca/team/app:1.0";
    let mut deploy = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "d", "annotations": {"contact": "x@y.z"}},
        "spec": {"template": {"metadata": {"annotations": {"contact": "x@y.z"}},
            "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}}});
    let mut good_deploy = deploy.clone();
    good_deploy["spec"]["template"]["spec"]["containers"][0]["image"] = json!(good);
    let cron = json!({"apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "c", "annotations": {"contact": "x@y.z"}},
        "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [
            {"name": "c", "image": "quay.io/evil/x"}]}}}}}});
    let mut eph = img(good);
    eph["spec"]["ephemeralContainers"] = json!([{"name": "dbg", "image": "busybox"}]);
    let mut cases = vec![
        case("registry image", a, img(good), true),
        case(
            "registry image by digest",
            a,
            img("artifactory.cloud.statcan.ca/team/app@sha256:0123456789abcdef"),
            true,
        ),
        case(
            "suffix trick: registry as a subdomain of another",
            a,
            img("artifactory.cloud.statcan.ca.evil.io/x"),
            false,
        ),
        case(
            "suffix trick: no path boundary",
            a,
            img("artifactory.cloud.statcan.caevil/x"),
            false,
        ),
        case(
            "a port makes another registry",
            a,
            img("artifactory.cloud.statcan.ca:5000/x"),
            false,
        ),
        case("implicit docker.io", a, img("nginx"), false),
        case(
            "implicit docker.io with a user",
            a,
            img("artifactory.cloud.statcan.ca/x"),
            true,
        ),
        case(
            "docker hub path that looks like the registry",
            a,
            img("library/artifactory.cloud.statcan.ca/x"),
            false,
        ),
        case(
            "registry with a port, listed",
            a,
            img("registry.local:5000/app:1"),
            true,
        ),
        case(
            "listed registry with a port, other port",
            a,
            img("registry.local:5001/app:1"),
            false,
        ),
        case(
            "listed registry with a port, no port",
            a,
            img("registry.local/app:1"),
            false,
        ),
        case(
            "bad init container",
            a,
            pod(
                json!({"containers": [{"name": "c", "image": good}], "initContainers": [{"name": "i", "image": "docker.io/library/busybox"}]}),
            ),
            false,
        ),
        case("bad ephemeral container", a, eph.clone(), false),
        case("deployment with a bad image", a, deploy.clone(), false),
        case("deployment with a good image", a, good_deploy.clone(), true),
        case("cronjob with a bad image", a, cron, false),
        case(
            "exception: nginx by full name",
            "team-b",
            windows_pod(
                true,
                json!({"key": TAINT, "operator": "Equal", "value": "windows", "effect": "NoSchedule"}),
            ),
            true,
        ),
        case(
            "exception: nginx implicit",
            "team-b",
            {
                let mut p = windows_pod(true, json!({"key": TAINT, "operator": "Exists"}));
                p["spec"]["containers"][0]["image"] = json!("nginx:1.25");
                p
            },
            true,
        ),
        case(
            "exception: nginx lookalike",
            "team-b",
            {
                let mut p = windows_pod(true, json!({"key": TAINT, "operator": "Exists"}));
                p["spec"]["containers"][0]["image"] = json!("docker.io/library/nginxevil:1");
                p
            },
            false,
        ),
        case(
            "exception does not reach other namespaces",
            a,
            img("docker.io/library/nginx:1"),
            false,
        ),
        case(
            "exempt namespace is untouched",
            "kube-system",
            img("nginx"),
            true,
        ),
        case(
            "namespace not in the profile is covered",
            "other",
            img("nginx"),
            false,
        ),
        // requiredAnnotations
        case(
            "pod without contact",
            a,
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": good}]}}),
            false,
        ),
        case(
            "pod with empty contact",
            a,
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "annotations": {"contact": " "}}, "spec": {"containers": [{"name": "c", "image": good}]}}),
            false,
        ),
        // #13 item 13: ownerReferences are the client's word, so they exempt nothing.
        case(
            "pod that claims a controller owner",
            a,
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "r", "uid": "u", "controller": true}]}, "spec": {"containers": [{"name": "c", "image": good}]}}),
            false,
        ),
        case(
            "deployment without contact",
            a,
            {
                deploy["metadata"] = json!({"name": "d"});
                deploy["spec"]["template"]["spec"]["containers"][0]["image"] = json!(good);
                deploy
            },
            false,
        ),
        // ingressHostsInDomain
        case(
            "host in the domain",
            a,
            ingress(&["shop.team-a.apps.prod-east.example.ca"]),
            true,
        ),
        case(
            "bare domain",
            a,
            ingress(&["apps.prod-east.example.ca"]),
            false,
        ),
        case(
            "another cluster's domain",
            a,
            ingress(&["shop.apps.prod-west.example.ca"]),
            false,
        ),
        case(
            "domain as a suffix without a dot",
            a,
            ingress(&["shopapps.prod-east.example.ca"]),
            false,
        ),
        case(
            "wildcard host",
            a,
            ingress(&["*.team-a.apps.prod-east.example.ca"]),
            false,
        ),
        case("rule without a host", a, ingress(&[""]), false),
        // internalLoadBalancers (aks)
        case(
            "internal load balancer",
            a,
            service(
                "LoadBalancer",
                json!({"service.beta.kubernetes.io/azure-load-balancer-internal": "true"}),
            ),
            true,
        ),
        case(
            "public load balancer",
            a,
            service("LoadBalancer", json!({})),
            false,
        ),
        case(
            "load balancer set to false",
            a,
            service(
                "LoadBalancer",
                json!({"service.beta.kubernetes.io/azure-load-balancer-internal": "false"}),
            ),
            false,
        ),
        case(
            "cluster IP service",
            a,
            service("ClusterIP", json!({})),
            true,
        ),
        // propagateNamespaceAnnotations
        case(
            "object without the namespace annotation",
            a,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}),
            true,
        ),
        case(
            "object with the namespace's value",
            a,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "annotations": {"cost-center": "PE-1234"}}}),
            true,
        ),
        case(
            "object with another namespace's value",
            a,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "annotations": {"cost-center": "PE-5678"}}}),
            false,
        ),
        // workloads.windows
        case(
            "windows pod without selector",
            "team-b",
            windows_pod(false, json!({"key": TAINT, "operator": "Exists"})),
            false,
        ),
        case(
            "windows pod without toleration",
            "team-b",
            windows_pod(true, Value::Null),
            false,
        ),
        case(
            "windows pod with a wrong toleration",
            "team-b",
            windows_pod(
                true,
                json!({"key": TAINT, "value": "linux", "effect": "NoSchedule"}),
            ),
            false,
        ),
        // #13 item 7: the default taint is node.kubernetes.io/os, not os.
        case(
            "windows pod tolerating only the old os=windows taint",
            "team-b",
            windows_pod(
                true,
                json!({"key": "os", "operator": "Equal", "value": "windows", "effect": "NoSchedule"}),
            ),
            false,
        ),
        case(
            "windows pod without spec.os.name",
            "team-b",
            {
                let mut p = windows_pod(true, json!({"key": TAINT, "operator": "Exists"}));
                p["spec"].as_object_mut().unwrap().remove("os");
                p
            },
            false,
        ),
        case(
            "windows pod that says it is a linux pod",
            "team-b",
            {
                let mut p = windows_pod(true, json!({"key": TAINT, "operator": "Exists"}));
                p["spec"]["os"]["name"] = json!("linux");
                p
            },
            false,
        ),
    ];
    // Ephemeral containers arrive through their own subresource.
    let mut sub = case("bad ephemeral container via the subresource", a, eph, false);
    sub.subresource = "ephemeralcontainers";
    cases.push(sub);
    cases
}
