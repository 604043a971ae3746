//! Tests of the logging concern: readers for both configuration formats,
//! and the pipeline's sources, escaping and output settings.

mod daemonset;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::pipeline::{ConfigValueError, FluentBitReason, fluent_quote, fluentbit_value};
use super::validate::{
    AuditPathError, ImageError, IndexPrefixError, audit_path, index_prefix, pinned_image,
};
use super::*;
use crate::testing::{errors, object, render};

// -- A minimal fluent.conf reader, to prove what Fluentd will read back ------

/// A parameter value as Fluentd's parser yields it; `code` marks an
/// unescaped `#{...}` (embedded Ruby that Fluentd would evaluate).
#[derive(Debug, Clone, PartialEq)]
struct Param {
    value: String,
    code: bool,
}

#[derive(Debug, Default, Clone)]
struct Section {
    name: String,
    arg: String,
    params: BTreeMap<String, Param>,
    children: Vec<Section>,
}

impl Section {
    fn get(&self, k: &str) -> &str {
        match self.params.get(k) {
            Some(p) => &p.value,
            None => panic!("no `{k}` in <{} {}>", self.name, self.arg),
        }
    }
    fn child(&self, name: &str) -> &Section {
        let found: Vec<_> = self.children.iter().filter(|c| c.name == name).collect();
        assert_eq!(found.len(), 1, "<{name}> in <{}>", self.name);
        found[0]
    }
    /// Top-level directives of a kind, by `@id` (or `@type` without one).
    fn all(&self, name: &str) -> Vec<&Section> {
        self.children.iter().filter(|c| c.name == name).collect()
    }
    fn by_id(&self, id: &str) -> &Section {
        match self
            .children
            .iter()
            .find(|c| c.params.get("@id").is_some_and(|p| p.value == id))
        {
            Some(s) => s,
            None => panic!("no directive with @id {id}"),
        }
    }
}

/// Directives `<name arg>` … `</name>` (nested), `key value` lines, `#`
/// comments, double-quoted values with Fluentd's escapes.
fn parse_fluent(text: &str) -> Section {
    let mut stack = vec![Section::default()];
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("</") {
            let name = rest.strip_suffix('>').expect("closing tag").trim();
            let done = stack.pop().expect("balanced");
            assert_eq!(done.name, name, "line {}: closes <{}>", n + 1, done.name);
            stack.last_mut().expect("parent").children.push(done);
            continue;
        }
        if let Some(rest) = line.strip_prefix('<') {
            let inner = rest.strip_suffix('>').expect("opening tag");
            let (name, arg) = inner.split_once(' ').unwrap_or((inner, ""));
            stack.push(Section {
                name: name.to_owned(),
                arg: arg.trim().to_owned(),
                ..Section::default()
            });
            continue;
        }
        let (key, rest) = line.split_once(' ').unwrap_or((line, ""));
        let rest = rest.trim_start();
        let param = match rest.strip_prefix('"') {
            Some(q) => parse_double_quoted(q),
            None => Param {
                value: rest.to_owned(),
                code: false,
            },
        };
        let top = stack.last_mut().expect("section");
        assert!(
            top.params.insert(key.to_owned(), param).is_none(),
            "line {}: `{key}` twice",
            n + 1
        );
    }
    assert_eq!(stack.len(), 1, "unclosed <{}>", stack[stack.len() - 1].name);
    stack.pop().expect("root")
}

fn parse_double_quoted(s: &str) -> Param {
    let mut out = String::new();
    let mut code = false;
    let mut chars = s.chars().peekable();
    loop {
        match chars.next() {
            None => panic!("unterminated string: {s}"),
            Some('"') => {
                let tail: String = chars.collect();
                assert!(tail.trim().is_empty(), "text after a string: {tail:?}");
                return Param { value: out, code };
            }
            Some('\\') => match chars.next().expect("escape") {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'f' => out.push('\u{c}'),
                'b' => out.push('\u{8}'),
                '0' => out.push('\0'),
                c if c.is_ascii_alphanumeric() => panic!("Fluentd rejects the escape \\{c}"),
                c => out.push(c),
            },
            Some('#') if chars.peek() == Some(&'{') => {
                code = true;
                out.push('#');
                for c in chars.by_ref() {
                    out.push(c);
                    if c == '}' {
                        break;
                    }
                }
            }
            Some(c) => out.push(c),
        }
    }
}

// -- A minimal Fluent Bit classic-format reader -----------------------------

/// `[SECTION]` headers, indented `Key value` entries (value = rest of line,
/// trimmed), `#` comment lines. Keys may repeat (Systemd_Filter).
fn parse_fluent_bit(text: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        if let Some(name) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            assert!(!line.starts_with(' '), "indented header: {line}");
            out.push((name.to_owned(), Vec::new()));
            continue;
        }
        assert!(line.starts_with("    "), "entry outside a section: {line}");
        let (k, v) = t.split_once(char::is_whitespace).expect("key value");
        out.last_mut()
            .expect("section")
            .1
            .push((k.to_owned(), v.trim().to_owned()));
    }
    out
}

fn fb_get<'a>(s: &'a [(String, String)], k: &str) -> &'a str {
    match s.iter().find(|(key, _)| key == k) {
        Some((_, v)) => v,
        None => panic!("no `{k}` in {s:?}"),
    }
}

fn fb_section<'a>(
    conf: &'a [(String, Vec<(String, String)>)],
    alias: &str,
) -> &'a [(String, String)] {
    match conf
        .iter()
        .find(|(_, e)| e.iter().any(|(k, v)| k == "Alias" && v == alias))
    {
        Some((_, e)) => e,
        None => panic!("no section with Alias {alias}"),
    }
}

// -- Profiles -------------------------------------------------------------

const ES: &str = "  elasticsearch: {host: elasticsearch.logging.svc, port: 9200, scheme: https, indexPrefix: prod-east, credentialsSecret: elasticsearch-credentials}\n";

fn logging(extra: &str, sources: &str) -> String {
    format!("logging:\n  namespace: logging\n  sources: {sources}\n{ES}{extra}")
}

fn all_sources(collector: &str) -> Vec<(String, Value)> {
    render(&logging(
        &format!("  collector: {collector}\n"),
        "[controlPlane, pods, nodes, audit]",
    ))
}

fn fluent_conf(objs: &[(String, Value)]) -> Section {
    let cm = object(objs, "logging/configmap-fluentd-config.yaml");
    parse_fluent(cm["data"]["fluent.conf"].as_str().expect("fluent.conf"))
}

fn plan(collector: Collector, host: &str, prefix: &str, audit: &str) -> Plan {
    Plan {
        collector,
        namespace: "logging".to_owned(),
        sources: [
            LogSource::Pods,
            LogSource::Nodes,
            LogSource::ControlPlane,
            LogSource::Audit,
        ]
        .into_iter()
        .collect(),
        host: host.to_owned(),
        port: 9200,
        tls: true,
        index_prefix: prefix.to_owned(),
        audit_path: Some(audit.to_owned()),
        ca_secret: None,
        credentials_secret: "es-credentials".to_owned(),
        image: super::FLUENTD_IMAGE.to_owned(),
    }
}

#[test]
fn an_in_cluster_elasticsearch_is_verified_against_its_own_ca() {
    for collector in ["fluentd", "fluent-bit"] {
        let objs = render(&format!(
            "logging:\n  collector: {collector}\n  sources: [pods]\n  elasticsearch: {{host: es-http.logging.svc, indexPrefix: k, credentialsSecret: es, caSecret: es-http-certs-public}}\n"
        ));
        let name = if collector == "fluentd" {
            "fluentd"
        } else {
            "fluent-bit"
        };
        let ds = object(&objs, &format!("logging/daemonset-{name}.yaml"));
        let pod = &ds["spec"]["template"]["spec"];
        let vol = pod["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "elasticsearch-ca")
            .unwrap();
        assert_eq!(vol["secret"]["secretName"], "es-http-certs-public");
        assert_eq!(vol["secret"]["items"][0]["key"], "ca.crt");
        let mount = pod["containers"][0]["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == "elasticsearch-ca")
            .unwrap();
        assert_eq!(mount["readOnly"], true);
        // The file the collector's TLS setting names is the mounted key.
        let file = format!("{}/{}", mount["mountPath"].as_str().unwrap(), "ca.crt");
        if collector == "fluentd" {
            let conf = fluent_conf(&objs);
            assert_eq!(conf.by_id("out_es").get("ca_file"), file);
        } else {
            let cm = object(&objs, "logging/configmap-fluent-bit-config.yaml");
            let conf = parse_fluent_bit(cm["data"]["fluent-bit.conf"].as_str().unwrap());
            assert_eq!(fb_get(fb_section(&conf, "out_es"), "tls.ca_file"), file);
        }
    }
    // Without it, the gap is said, not left to a failing handshake.
    let text = format!("{}{}", crate::testing::HEAD, logging("", "[pods]"));
    let m = crate::load_text(&text, "t.yaml", crate::testing::today()).unwrap();
    assert!(
        super::notes(&m).iter().any(|n| n.contains("caSecret")),
        "{:?}",
        super::notes(&m)
    );
    let e = errors(
        "logging:\n  sources: [pods]\n  elasticsearch: {host: es.logging.svc, scheme: http, indexPrefix: k, credentialsSecret: es, caSecret: ca}\n",
    );
    assert!(
        e.contains("`caSecret` verifies TLS, but `scheme` is `http`"),
        "{e}"
    );
}

const HOSTILE: &[&str] = &[
    "</match>",
    "a\"b",
    "x\" \n<match **>",
    "#{ENV['HOME']}",
    "#{`id`}",
    "${HOME}",
    "back\\slash\\",
    "\\#{x}",
    "a # not a comment",
    "'single' and \"double\"",
    "@type null",
    "</source>\n<source>",
];

// -- Escaping ---------------------------------------------------------------

/// Every representable hostile value comes back from fluent.conf exactly as
/// given, as plain text (never embedded code); the others are refused.
#[test]
fn fluent_conf_round_trips_hostile_values() {
    for h in HOSTILE {
        let files = config_files(&plan(Collector::Fluentd, h, h, h));
        if h.contains('\n') {
            // Validation refuses these first, so reaching the filter is a bug.
            let e = files.unwrap_err();
            assert!(matches!(
                e,
                crate::bundle::manifest::RenderError::Internal(_)
            ));
            assert!(e.to_string().contains("control character"), "{e}");
            continue;
        }
        let conf = parse_fluent(&files.unwrap()["fluent.conf"]);
        let es = conf.by_id("out_es");
        let audit = conf.by_id("in_tail_kube_apiserver_audit");
        for (got, what) in [
            (&es.params["host"], "host"),
            (&es.params["logstash_prefix"], "logstash_prefix"),
            (&audit.params["path"], "audit path"),
        ] {
            assert_eq!(
                got,
                &Param {
                    value: (*h).to_owned(),
                    code: false
                },
                "{what} for {h:?}"
            );
        }
        // The structure is unchanged: no directive was injected or closed early.
        assert_eq!(conf.all("source").len(), 7, "{h:?}");
        assert_eq!(conf.all("match").len(), 2, "{h:?}");
        assert_eq!(es.child("buffer").get("@type"), "file");
    }
}

#[test]
fn fluent_quote_escapes_exactly_the_special_characters() {
    assert_eq!(fluent_quote("plain").unwrap(), "\"plain\"");
    assert_eq!(fluent_quote("a\"b\\c#{d}").unwrap(), r#""a\"b\\c\#{d}""#);
    for (bad, c) in [("a\nb", '\n'), ("a\rb", '\r'), ("a\tb", '\t'), ("\0", '\0')] {
        assert_eq!(
            fluent_quote(bad),
            Err(ConfigValueError::FluentdControl {
                text: bad.to_owned(),
                c
            }),
            "{bad:?}"
        );
    }
    assert_eq!(
        fluent_quote("a\nb").unwrap_err().to_string(),
        "`a\\nb` contains the control character '\\n', which fluent.conf cannot hold"
    );
}

#[test]
fn fluent_bit_values_round_trip_or_are_refused() {
    for h in HOSTILE {
        let files = config_files(&plan(Collector::FluentBit, h, h, h));
        let representable = !(h.contains('\n') || h.contains("${") || h.contains('#'));
        match files {
            Err(e) => {
                assert!(!representable, "{h:?} refused: {e}");
                assert!(
                    e.to_string()
                        .contains("cannot be written into the Fluent Bit configuration"),
                    "{e}"
                );
            }
            Ok(files) => {
                assert!(representable, "{h:?} was written");
                let conf = parse_fluent_bit(&files["fluent-bit.conf"]);
                let out = fb_section(&conf, "out_es");
                assert_eq!(fb_get(out, "Host"), *h);
                assert_eq!(fb_get(out, "Logstash_Prefix"), *h);
                let audit = fb_section(&conf, "in_tail_kube_apiserver_audit");
                assert_eq!(fb_get(audit, "Path"), *h);
                // Containers, control plane, one journal input per unit group, audit.
                assert_eq!(conf.iter().filter(|(n, _)| n == "INPUT").count(), 5);
                assert_eq!(conf.iter().filter(|(n, _)| n == "OUTPUT").count(), 1);
            }
        }
    }
    for (bad, why) in [
        (" lead", FluentBitReason::Space),
        ("trail ", FluentBitReason::Space),
        ("", FluentBitReason::Empty),
        ("a${b}", FluentBitReason::Variable),
        ("a#b", FluentBitReason::Hash),
        ("a\u{7}b", FluentBitReason::Control),
    ] {
        assert_eq!(
            fluentbit_value(bad),
            Err(ConfigValueError::FluentBit {
                text: bad.to_owned(),
                why
            }),
            "{bad:?}"
        );
    }
}

/// A path with quotes, `#`, a backslash and `</match>` is a valid file name:
/// it passes validation and reaches Fluentd intact.
#[test]
fn hostile_but_valid_audit_path_reaches_fluentd_intact() {
    let path = r#"/var/log/a "b" \ #x </match>/audit.log"#;
    let objs = render(&format!(
        "apiServer:\n  audit: {{logPath: '{path}'}}\n{}",
        logging("", "[audit]")
    ));
    let conf = fluent_conf(&objs);
    let p = &conf.by_id("in_tail_kube_apiserver_audit").params["path"];
    assert_eq!(p.value, path);
    assert!(!p.code);
    let ds = object(&objs, "logging/daemonset-fluentd.yaml");
    let vols = ds["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .unwrap();
    assert!(
        vols.iter()
            .any(|v| v["hostPath"]["path"] == r#"/var/log/a "b" \ #x </match>"#)
    );
}

// -- Meaning of the rendered objects ---------------------------------------

#[test]
fn fluent_conf_has_every_source_and_a_safe_elasticsearch_output() {
    let conf = fluent_conf(&all_sources("fluentd"));
    let tags: Vec<&str> = conf.all("source").iter().map(|s| s.get("tag")).collect();
    assert_eq!(
        tags,
        [
            "kubernetes.*",
            "controlplane.*",
            "journal.node",
            "journal.node",
            "journal.controlplane",
            "journal.controlplane",
            "kube-apiserver-audit"
        ]
    );
    // Both journals, each with its own cursor: persistent and volatile.
    for (id, dir) in [
        ("in_systemd_node", "/var/log/journal"),
        ("in_systemd_node_runtime", "/run/log/journal"),
    ] {
        let j = conf.by_id(id);
        assert_eq!(j.get("path"), dir);
        assert!(
            j.child("storage")
                .get("path")
                .ends_with(&format!("{id}-cursor.json"))
        );
    }
    let pods = conf.by_id("in_tail_containers");
    assert_eq!(pods.get("path"), "/var/log/containers/*.log");
    assert_eq!(pods.child("parse").get("@type"), "cri");
    assert!(
        pods.get("pos_file")
            .starts_with("/var/lib/kharden/fluentd/")
    );
    // Control-plane pods are not shipped twice.
    let excluded: Vec<String> = serde_json::from_str(pods.get("exclude_path")).unwrap();
    assert!(
        excluded
            .iter()
            .any(|p| p.contains("kube-apiserver-*_kube-system_"))
    );
    assert!(excluded.iter().any(|p| p.contains("fluentd-*_logging_")));
    assert_eq!(
        conf.by_id("in_tail_control_plane")
            .child("parse")
            .get("@type"),
        "cri"
    );
    let node: Vec<BTreeMap<String, String>> =
        serde_json::from_str(conf.by_id("in_systemd_node").get("matches")).unwrap();
    let units: Vec<&str> = node.iter().map(|m| m["_SYSTEMD_UNIT"].as_str()).collect();
    assert_eq!(units, ["kubelet.service", "containerd.service"]);
    let audit = conf.by_id("in_tail_kube_apiserver_audit");
    assert_eq!(audit.get("path"), "/var/log/kubernetes/audit/audit.log");
    assert_eq!(audit.child("parse").get("@type"), "json");

    let filters: Vec<(&str, &str)> = conf
        .all("filter")
        .iter()
        .map(|f| (f.arg.as_str(), f.get("@type")))
        .collect();
    assert_eq!(
        filters,
        [
            ("kubernetes.** controlplane.**", "concat"),
            ("kubernetes.** controlplane.**", "kubernetes_metadata")
        ]
    );

    let es = conf.by_id("out_es");
    assert_eq!(conf.all("match").last().unwrap().arg, "**");
    for (k, v) in [
        ("@type", "elasticsearch"),
        ("host", "elasticsearch.logging.svc"),
        ("port", "9200"),
        ("scheme", "https"),
        ("logstash_prefix", "prod-east"),
        ("ssl_verify", "true"),
        ("ssl_min_version", "TLSv1_2"),
        ("suppress_type_name", "true"),
        ("default_elasticsearch_version", "8"),
    ] {
        assert_eq!(es.get(k), v, "{k}");
    }
    for k in ["user", "password"] {
        assert!(es.params[k].code && es.get(k).contains("ENV['FLUENT_ELASTICSEARCH_"));
    }
    let buf = es.child("buffer");
    assert_eq!(buf.get("@type"), "file");
    assert_eq!(buf.get("overflow_action"), "block");
    assert_eq!(buf.get("retry_forever"), "true");
    assert!(buf.get("total_limit_size").ends_with("GB"));
    assert!(buf.get("path").starts_with("/var/lib/kharden/fluentd/"));
}

#[test]
fn fluent_bit_renders_the_same_pipeline() {
    let objs = all_sources("fluent-bit");
    let cm = object(&objs, "logging/configmap-fluent-bit-config.yaml");
    let conf = parse_fluent_bit(cm["data"]["fluent-bit.conf"].as_str().unwrap());
    assert!(
        cm["data"]["parsers.conf"]
            .as_str()
            .unwrap()
            .contains("kube-audit-json")
    );
    let tags: Vec<&str> = conf
        .iter()
        .filter(|(n, _)| n == "INPUT")
        .map(|(_, e)| fb_get(e, "Tag"))
        .collect();
    assert_eq!(
        tags,
        [
            "kube.*",
            "kubecp.*",
            "journal.node",
            "journal.controlplane",
            "kube-apiserver-audit"
        ]
    );
    // Fluent Bit refuses a `Path` that does not exist; without one it reads the
    // node's journal in both places systemd keeps it, whichever exists.
    for id in ["in_systemd_node", "in_systemd_control_plane"] {
        let j = fb_section(&conf, id);
        assert!(j.iter().all(|(k, _)| k != "Path"), "{j:?}");
        assert!(fb_get(j, "DB").ends_with(&format!("{id}-cursor.json")));
    }
    let pods = fb_section(&conf, "in_tail_containers");
    assert_eq!(fb_get(pods, "multiline.parser"), "cri");
    let kube = fb_section(&conf, "filter_kube_metadata");
    assert_eq!(fb_get(kube, "K8S-Logging.Exclude"), "Off");
    assert_eq!(fb_get(kube, "Kube_Tag_Prefix"), "kube.var.log.containers.");
    let out = fb_section(&conf, "out_es");
    for (k, v) in [
        ("Name", "es"),
        ("Host", "elasticsearch.logging.svc"),
        ("Port", "9200"),
        ("tls", "On"),
        ("tls.verify", "On"),
        ("tls.verify_hostname", "On"),
        ("tls.min_version", "TLSv1.2"),
        ("Suppress_Type_Name", "On"),
        ("Logstash_Prefix", "prod-east"),
        ("HTTP_User", "${ES_USERNAME}"),
        ("HTTP_Passwd", "${ES_PASSWORD}"),
        ("Retry_Limit", "no_limits"),
    ] {
        assert_eq!(fb_get(out, k), v, "{k}");
    }
    let ds = object(&objs, "logging/daemonset-fluent-bit.yaml");
    let c = &ds["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], FLUENT_BIT_IMAGE);
    assert_eq!(
        c["args"],
        json!(["--config=/fluent-bit/etc/conf/fluent-bit.conf"])
    );
    let env = c["env"].as_array().unwrap();
    let pw = env.iter().find(|e| e["name"] == "ES_PASSWORD").unwrap();
    assert_eq!(pw["valueFrom"]["secretKeyRef"]["key"], "password");
    object(
        &objs,
        "_cluster/clusterrole-kharden-logging-fluent-bit.yaml",
    );
}

#[test]
fn validators_say_which_rule_a_value_breaks() {
    use Collector::{FluentBit, Fluentd};
    assert_eq!(
        audit_path("/var/log/kubernetes/audit/audit.log", FluentBit),
        Ok(())
    );
    for (p, c, why) in [
        ("/var/log/a\nb/x.log", Fluentd, AuditPathError::Control),
        (
            "/var/log/audit/*.log",
            Fluentd,
            AuditPathError::Pattern('*'),
        ),
        (
            "/var/log/a#b/x.log",
            FluentBit,
            AuditPathError::FluentBitChars,
        ),
        (
            "/var/log/audit/x.log ",
            FluentBit,
            AuditPathError::FluentBitSpace,
        ),
        ("/var/log//audit/x.log", Fluentd, AuditPathError::NotNormal),
        ("/audit.log", Fluentd, AuditPathError::Root),
    ] {
        assert_eq!(audit_path(p, c), Err(why), "{p:?}");
    }
    // `#` is a fine file name for Fluentd, which quotes it.
    assert_eq!(audit_path("/var/log/a#b/x.log", Fluentd), Ok(()));
    assert_eq!(index_prefix("k8s-prod"), Ok(()));
    assert_eq!(index_prefix(""), Err(IndexPrefixError::Empty));
    assert_eq!(
        index_prefix(&"a".repeat(201)),
        Err(IndexPrefixError::TooLong)
    );
    assert_eq!(index_prefix("_x"), Err(IndexPrefixError::Start));
    assert_eq!(
        index_prefix("a\tb").unwrap_err().to_string(),
        "it contains `\\t`"
    );
    assert_eq!(pinned_image("fluent/fluent-bit:4.2.0"), Ok(()));
    assert_eq!(pinned_image("fluent/fluent-bit"), Err(ImageError::NoTag));
    assert_eq!(
        pinned_image("fluent/fluent-bit:latest"),
        Err(ImageError::Latest)
    );
    assert_eq!(
        pinned_image("fluent/fluent-bit:stable"),
        Err(ImageError::Floating("stable".to_owned()))
    );
    assert_eq!(pinned_image("f@sha256:00"), Err(ImageError::Digest));
    assert_eq!(pinned_image("a b"), Err(ImageError::NotAReference));
}

#[test]
fn render_reads_the_decided_collector() {
    let mut m = crate::testing::model(&logging("", "[pods]"));
    let plan = m.plan.logging.as_mut().expect("a collector is planned");
    assert_eq!(plan.image, super::FLUENTD_IMAGE);
    plan.image = "registry.example.com/fluent/fluentd:9.9.9".to_owned();
    plan.credentials_secret = "other-credentials".to_owned();
    let objs: Vec<(String, Value)> = super::render(&m)
        .unwrap()
        .iter()
        .map(|o| {
            (
                o.path().to_owned(),
                serde_saphyr::from_str(o.body()).unwrap(),
            )
        })
        .collect();
    let ds = object(&objs, "logging/daemonset-fluentd.yaml");
    let c = &ds["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "registry.example.com/fluent/fluentd:9.9.9");
    let secrets: Vec<&Value> = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e.pointer("/valueFrom/secretKeyRef/name"))
        .collect();
    assert!(
        !secrets.is_empty() && secrets.iter().all(|s| *s == "other-credentials"),
        "{c}"
    );
}
