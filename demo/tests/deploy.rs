//! The deployment files under `deploy/`, checked offline: every Kubernetes manifest against
//! the API's schemas (`kubernetes-validate`, which ships them; pinned in
//! `clients/requirements.txt` and installed into `clients/.venv` by `scripts/test.sh`), the
//! settings the manifests give the server against what it reads and accepts, the
//! Deployment's probes, drain and hardening, and the Dockerfile's stages and user.
//!
//! The YAML is read by the virtualenv's PyYAML (a dependency of `kubernetes-validate`) and
//! handed over as JSON. A missing virtualenv fails these tests: it is never a reason to skip.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use rampart_core::{Config, Hosts};
use serde_json::Value;
use support::{Outcome, client_python, run_with_deadline, workspace_root};

/// The Kubernetes versions the manifests are validated against: an old one still common in
/// clusters, and the newest whose schemas the pinned package ships.
const KUBERNETES_VERSIONS: [&str; 2] = ["1.30.0", "1.37.0"];

/// How long one run of the virtualenv's Python may take.
const DEADLINE: Duration = Duration::from_secs(120);

/// The manifests' directory, relative to the workspace root.
const MANIFESTS: &str = "deploy/kubernetes";

/// The Secret template, left out of `kustomization.yaml` on purpose.
const SECRET_TEMPLATE: &str = "secret.yaml";

/// The least time allowed between the kubelet's SIGKILL and the end of the drain.
const GRACE_MARGIN: Duration = Duration::from_secs(5);

/// The least wait for the endpoints to be withdrawn before the listener closes.
const MIN_ENDPOINT_WAIT: Duration = Duration::from_secs(3);

#[test]
fn every_manifest_is_valid_for_the_kubernetes_api() {
    let root = workspace_root();
    let python = client_python(&root);
    let files: Vec<String> = manifest_files()
        .iter()
        .map(|file| format!("{MANIFESTS}/{file}"))
        .collect();
    for version in KUBERNETES_VERSIONS {
        let mut args = vec![
            "-m",
            "kubernetes_validate",
            "--strict",
            "--kubernetes-version",
            version,
        ];
        args.extend(files.iter().map(String::as_str));
        let outcome = run_with_deadline(&python, &args, &root, DEADLINE);
        assert_ran(
            &outcome,
            &format!("kubernetes-validate --strict against Kubernetes {version}"),
        );
        print!("{}", outcome.stdout);
    }
}

#[test]
fn kustomization_lists_every_manifest_but_the_secret_template() {
    let kustomization = &documents("kustomization.yaml")[0];
    let listed: BTreeSet<String> = strings(&kustomization["resources"]).into_iter().collect();
    let expected: BTreeSet<String> = manifest_files()
        .into_iter()
        .filter(|file| file != SECRET_TEMPLATE)
        .collect();
    assert_eq!(listed, expected, "resources of {MANIFESTS}/kustomization.yaml");
}

#[test]
fn the_tests_know_every_setting_the_core_documents() {
    let source = read(&workspace_root().join("core/src/config/mod.rs"));
    let start = source
        .find("/// Understood:")
        .expect("Config::apply_env's doc lists what it understands");
    let end = start
        + source[start..]
            .find("pub fn apply_env")
            .expect("the doc is followed by apply_env");
    let documented: Vec<&str> = source[start..end]
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|name| name.len() > 2 && name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
        .collect();
    assert!(
        documented.contains(&"DRAIN_TIMEOUT"),
        "found in the doc: {documented:?}"
    );
    let known: BTreeSet<&str> = SETTINGS.iter().map(|setting| setting.name).collect();
    let missing: Vec<&&str> = documented.iter().filter(|name| !known.contains(**name)).collect();
    assert!(
        missing.is_empty(),
        "Config::apply_env reads {missing:?}, which SETTINGS in this file does not list"
    );
}

#[test]
fn every_setting_the_tests_allow_is_read_by_the_server() {
    let demo_source = read(&workspace_root().join("demo/src/main.rs"));
    let mut names = BTreeSet::new();
    for setting in SETTINGS {
        assert!(names.insert(setting.name), "{} is listed twice", setting.name);
        let with = |extra: Option<(&str, &str)>| {
            let mut vars: Vec<(&str, &str)> = setting.base.to_vec();
            vars.extend(extra);
            Config::new(rampart_core::server_info!()).apply_env(vars)
        };
        match setting.proof {
            Proof::Refuses(value) => match with(Some((setting.name, value))) {
                Err(err) => assert_eq!(err.name, setting.name, "{value:?} for {}: {err}", setting.name),
                Ok(_) => panic!(
                    "{}={value:?} was accepted: the server does not read it",
                    setting.name
                ),
            },
            Proof::Changes(value) => {
                let without = format!("{:?}", with(None));
                let set = with(Some((setting.name, value)));
                assert!(set.is_ok(), "{}={value:?} was refused: {set:?}", setting.name);
                assert_ne!(
                    format!("{set:?}"),
                    without,
                    "{}={value:?} changed nothing: the server does not read it",
                    setting.name
                );
            }
            Proof::Demo => assert!(
                demo_source.contains(&format!("\"{}\"", setting.name)),
                "demo/src/main.rs does not read {}",
                setting.name
            ),
        }
    }
}

#[test]
fn the_server_reads_every_setting_the_manifests_give_it() {
    let known: BTreeSet<&str> = SETTINGS.iter().map(|setting| setting.name).collect();
    let configmap = object("ConfigMap", "rampart-demo");
    let container = container("rampart-demo");
    let mut given: Vec<String> = configmap["data"]
        .as_object()
        .expect("the ConfigMap has data")
        .keys()
        .cloned()
        .collect();
    given.extend(env(&container).into_iter().map(|(name, _)| name));
    let unknown: Vec<&String> = given
        .iter()
        .filter(|name| !known.contains(name.as_str()))
        .collect();
    assert!(
        unknown.is_empty(),
        "the server ignores {unknown:?} (a misspelt name?); it reads {known:?}"
    );
}

#[test]
fn the_server_accepts_the_configmap_and_the_deployments_values() {
    let config = server_config();
    assert!(
        config.host.is_unspecified(),
        "HOST must listen on every address, not {}",
        config.host
    );
    assert!(config.store.is_shared(), "the replicas need REDIS_URL");
    assert!(!config.debug, "DEBUG puts internals in error.data");
    assert!(
        !config.trusted_proxies.is_empty(),
        "TRUSTED_PROXIES names the ingress"
    );
    assert!(
        !matches!(config.allowed_hosts, Hosts::Any),
        "ALLOWED_HOSTS is the DNS-rebinding defence"
    );
}

#[test]
fn the_redis_url_names_the_redis_service() {
    let config = server_config();
    let url = config.store.url.as_deref().expect("REDIS_URL");
    let service = object("Service", "rampart-redis");
    let port = service["spec"]["ports"][0]["port"].as_u64().expect("a port");
    assert_eq!(url, format!("redis://rampart-redis:{port}"));
    let redis = container_of(object("Deployment", "rampart-redis"), "redis");
    let target = &service["spec"]["ports"][0]["targetPort"];
    assert_eq!(
        container_port(&redis, target),
        port,
        "the Redis Service's targetPort"
    );
}

#[test]
fn the_probes_reach_health_and_ready_on_the_serving_port() {
    let config = server_config();
    let container = container("rampart-demo");
    assert_eq!(
        container_port(&container, &Value::from("http")),
        u64::from(config.port),
        "PORT"
    );
    for (probe, path) in [
        ("startupProbe", "/health"),
        ("livenessProbe", "/health"),
        ("readinessProbe", "/ready"),
    ] {
        let get = &container[probe]["httpGet"];
        assert_eq!(get["path"], path, "{probe}'s path");
        assert_eq!(
            container_port(&container, &get["port"]),
            u64::from(config.port),
            "{probe}'s port"
        );
        // The kubelet sends the pod's address as Host unless the probe names another.
        let host = get["httpHeaders"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|header| {
                header["name"]
                    .as_str()
                    .is_some_and(|n| n.eq_ignore_ascii_case("host"))
            })
            .map_or_else(
                || format!("10.1.2.3:{}", config.port),
                |header| header["value"].as_str().expect("a Host value").to_owned(),
            );
        assert!(
            config.allowed_hosts.allows(&host),
            "{probe} sends Host {host:?}, which ALLOWED_HOSTS ({:?}) refuses with 403",
            config.allowed_hosts
        );
    }
}

#[test]
fn metrics_are_served_where_the_annotations_say() {
    let config = server_config();
    let metrics = config.serving.metrics_addr.expect("METRICS_ADDR");
    assert!(
        metrics.ip().is_unspecified(),
        "METRICS_ADDR must listen on every address"
    );
    let container = container("rampart-demo");
    assert_eq!(
        container_port(&container, &Value::from("metrics")),
        u64::from(metrics.port()),
        "the container port named metrics"
    );
    let annotations = &object("Deployment", "rampart-demo")["spec"]["template"]["metadata"]["annotations"];
    assert_eq!(annotations["prometheus.io/scrape"], "true");
    assert_eq!(annotations["prometheus.io/port"], metrics.port().to_string());
    assert_eq!(annotations["prometheus.io/path"], "/metrics");
}

#[test]
fn one_wait_covers_the_endpoints_withdrawal_and_the_grace_period_covers_the_drain() {
    let config = server_config();
    let deployment = object("Deployment", "rampart-demo");
    let container = container("rampart-demo");
    let pre_stop = pre_stop_sleep(&container["lifecycle"]["preStop"]);
    let drain_delay = config.serving.drain_delay;
    // The hook delays SIGTERM, so a hook and DRAIN_DELAY together wait twice: one of them.
    assert!(
        pre_stop.is_zero() != drain_delay.is_zero(),
        "exactly one of a preStop sleep ({pre_stop:?}) and DRAIN_DELAY ({drain_delay:?}) waits"
    );
    assert!(
        pre_stop + drain_delay >= MIN_ENDPOINT_WAIT,
        "{:?} is too short for the endpoints to be withdrawn",
        pre_stop + drain_delay
    );
    let grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        .as_u64()
        .expect("terminationGracePeriodSeconds");
    let needed = pre_stop + drain_delay + config.serving.drain_timeout + GRACE_MARGIN;
    assert!(
        Duration::from_secs(grace) >= needed,
        "terminationGracePeriodSeconds {grace} < preStop {pre_stop:?} + DRAIN_DELAY {drain_delay:?} \
         + DRAIN_TIMEOUT {:?} + {GRACE_MARGIN:?}",
        config.serving.drain_timeout
    );
}

#[test]
fn every_container_runs_unprivileged_with_limits() {
    for deployment in objects("Deployment") {
        let pod = &deployment["spec"]["template"]["spec"];
        let name = deployment["metadata"]["name"].as_str().expect("a name");
        for container in pod["containers"].as_array().expect("containers") {
            let what = format!("{name}/{}", container["name"]);
            let context = &container["securityContext"];
            let either = |field: &str| {
                let own = &context[field];
                if own.is_null() {
                    &pod["securityContext"][field]
                } else {
                    own
                }
            };
            assert_eq!(either("runAsNonRoot"), true, "{what}: runAsNonRoot");
            assert!(
                either("runAsUser").as_u64().is_some_and(|uid| uid != 0),
                "{what}: a non-root runAsUser"
            );
            assert_eq!(
                either("seccompProfile")["type"],
                "RuntimeDefault",
                "{what}: seccomp"
            );
            assert_eq!(context["allowPrivilegeEscalation"], false, "{what}");
            assert_eq!(context["readOnlyRootFilesystem"], true, "{what}");
            assert!(
                strings(&context["capabilities"]["drop"]).contains(&"ALL".to_owned()),
                "{what}"
            );
            for resource in ["cpu", "memory"] {
                assert!(
                    container["resources"]["limits"][resource].is_string(),
                    "{what}: {resource} limit"
                );
                assert!(
                    container["resources"]["requests"][resource].is_string(),
                    "{what}: {resource} request"
                );
            }
        }
    }
}

#[test]
fn the_service_budget_and_autoscaler_find_the_pods() {
    let deployment = object("Deployment", "rampart-demo");
    let labels = &deployment["spec"]["template"]["metadata"]["labels"];
    let matches = |selector: &Value, what: &str| {
        let selector = selector
            .as_object()
            .unwrap_or_else(|| panic!("{what} has a selector"));
        assert!(!selector.is_empty(), "{what} selects something");
        for (key, value) in selector {
            assert_eq!(&labels[key], value, "{what} selects {key}={value}");
        }
    };
    matches(&deployment["spec"]["selector"]["matchLabels"], "the Deployment");
    matches(
        &object("Service", "rampart-demo")["spec"]["selector"],
        "the Service",
    );
    matches(
        &object("PodDisruptionBudget", "rampart-demo")["spec"]["selector"]["matchLabels"],
        "the PodDisruptionBudget",
    );
    let service = object("Service", "rampart-demo");
    let target = &service["spec"]["ports"][0]["targetPort"];
    assert_eq!(
        container_port(&container("rampart-demo"), target),
        23450,
        "the Service's targetPort"
    );
    let hpa = object("HorizontalPodAutoscaler", "rampart-demo");
    assert_eq!(hpa["spec"]["scaleTargetRef"]["kind"], "Deployment");
    assert_eq!(hpa["spec"]["scaleTargetRef"]["name"], "rampart-demo");
    assert_eq!(
        hpa["spec"]["minReplicas"], deployment["spec"]["replicas"],
        "the Deployment's replicas are the autoscaler's minimum"
    );
}

#[test]
fn the_deployment_takes_its_settings_and_secrets_from_the_manifests() {
    let container = container("rampart-demo");
    let configmap = object("ConfigMap", "rampart-demo");
    let secret = object("Secret", "rampart-demo");
    let keys: Vec<&String> = secret["stringData"]
        .as_object()
        .expect("stringData")
        .keys()
        .collect();
    assert!(
        container["envFrom"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|from| from["configMapRef"]["name"] == configmap["metadata"]["name"]),
        "envFrom names the ConfigMap"
    );
    for var in container["env"].as_array().expect("env") {
        let reference = &var["valueFrom"]["secretKeyRef"];
        if reference.is_null() {
            continue;
        }
        assert_eq!(reference["name"], secret["metadata"]["name"], "{}", var["name"]);
        let key = reference["key"].as_str().expect("a key");
        assert!(
            keys.iter().any(|k| *k == key),
            "{} names a key the Secret lacks",
            var["name"]
        );
    }
    // AUTH_TOKENS_FILE names a file the Secret's volume puts there.
    let (_, path) = env(&container)
        .into_iter()
        .find(|(name, _)| name == "AUTH_TOKENS_FILE")
        .expect("AUTH_TOKENS_FILE");
    let pod = &object("Deployment", "rampart-demo")["spec"]["template"]["spec"];
    let found = container["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|mount| {
            let Some(dir) = mount["mountPath"].as_str() else {
                return false;
            };
            pod["volumes"].as_array().into_iter().flatten().any(|volume| {
                volume["name"] == mount["name"]
                    && volume["secret"]["secretName"] == secret["metadata"]["name"]
                    && volume["secret"]["items"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|item| {
                            format!("{dir}/{}", item["path"].as_str().unwrap_or_default()) == path
                                && keys.iter().any(|k| item["key"] == k.as_str())
                        })
            })
        });
    assert!(
        found,
        "AUTH_TOKENS_FILE={path} is not a file of the Secret's volume"
    );
}

#[test]
fn the_secret_templates_placeholders_fail_closed() {
    let secret = object("Secret", "rampart-demo");
    let data = &secret["stringData"];
    let tokens = data["tokens"].as_str().expect("tokens");
    let refused = Config::new(rampart_core::server_info!()).with_tokens_file(tokens);
    assert!(refused.is_err(), "the placeholder tokens file is accepted");
    let key = data["request-state-key"].as_str().expect("request-state-key");
    let refused = Config::new(rampart_core::server_info!()).apply_env([("REQUEST_STATE_KEY", key)]);
    assert!(refused.is_err(), "the placeholder REQUEST_STATE_KEY is accepted");
    // The server takes METRICS_TOKEN as it is (trimmed); a control character inside it can
    // never arrive in an Authorization header, which the server's HTTP parser refuses.
    let metrics = data["metrics-token"].as_str().expect("metrics-token").trim();
    assert!(
        metrics.bytes().any(|b| b.is_ascii_control() && b != b'\t'),
        "a scraper could present the placeholder METRICS_TOKEN {metrics:?}"
    );
}

#[test]
fn the_dockerfile_builds_in_one_stage_and_runs_unprivileged_in_another() {
    let root = workspace_root();
    let dockerfile = read(&root.join("deploy/Dockerfile"));
    let instructions: Vec<(String, String)> = dockerfile
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| {
            let (word, rest) = line.split_once(char::is_whitespace)?;
            Some((word.to_ascii_uppercase(), rest.trim().to_owned()))
        })
        .collect();
    let of = |word: &str| -> Vec<&str> {
        instructions
            .iter()
            .filter(|(w, _)| w == word)
            .map(|(_, rest)| rest.as_str())
            .collect()
    };
    let stages = of("FROM");
    assert!(stages.len() >= 2, "a build stage and a runtime stage: {stages:?}");
    let rust_version = read(&root.join("Cargo.toml"))
        .lines()
        .find_map(|line| line.trim().strip_prefix("rust-version = "))
        .map(|v| v.trim_matches('"').to_owned())
        .expect("the workspace's rust-version");
    assert!(
        stages[0].starts_with(&format!("rust:{rust_version}")),
        "the build stage uses the workspace's rust-version {rust_version}: {}",
        stages[0]
    );
    let runtime = stages[stages.len() - 1];
    assert!(
        !runtime.starts_with("rust:") && !runtime.contains("/rust:"),
        "the runtime stage is not a Rust toolchain image: {runtime}"
    );
    assert!(
        dockerfile.contains("cargo build --release --locked -p rampart-demo"),
        "the build is locked"
    );
    let last_from = instructions.iter().rposition(|(w, _)| w == "FROM").expect("FROM");
    let user = instructions[last_from..]
        .iter()
        .rfind(|(w, _)| w == "USER")
        .map(|(_, rest)| rest.split(':').next().unwrap_or_default().to_owned())
        .expect("the runtime stage sets USER");
    assert!(
        user.parse::<u32>().is_ok_and(|uid| uid != 0),
        "USER is a numeric non-root uid (runAsNonRoot needs one): {user}"
    );
    let pod_user =
        object("Deployment", "rampart-demo")["spec"]["template"]["spec"]["securityContext"]["runAsUser"]
            .to_string();
    assert_eq!(user, pod_user, "the image's USER and the pod's runAsUser");
    assert!(
        of("ENV").iter().any(|env| env.contains("HOST=0.0.0.0")),
        "HOST=0.0.0.0"
    );
    let exposed: Vec<&str> = of("EXPOSE").iter().flat_map(|e| e.split_whitespace()).collect();
    for port in ["23450", "9090"] {
        assert!(exposed.contains(&port), "EXPOSE {port}: {exposed:?}");
    }
    assert!(
        of("ENTRYPOINT").iter().any(|e| e.contains("rampart-demo")),
        "the entrypoint is the server"
    );
    let ignored = read(&root.join(".dockerignore"));
    assert!(
        ignored.lines().any(|line| line.trim() == "target"),
        "target/ stays out of the context"
    );
}

// ---- the settings the server reads ----

/// How a test shows that the server reads a setting.
enum Proof {
    /// `apply_env` refuses this value, naming the setting.
    Refuses(&'static str),
    /// `apply_env` accepts this value, and the configuration is not the one without it.
    Changes(&'static str),
    /// The demo reads it itself (a file, its own readiness check): its source names it.
    Demo,
}

/// A setting the server reads, and how the test shows it.
struct Setting {
    name: &'static str,
    proof: Proof,
    /// Other settings applied with it.
    base: &'static [(&'static str, &'static str)],
}

const fn refuses(name: &'static str, value: &'static str) -> Setting {
    Setting {
        name,
        proof: Proof::Refuses(value),
        base: &[],
    }
}

const fn changes(name: &'static str, value: &'static str) -> Setting {
    Setting {
        name,
        proof: Proof::Changes(value),
        base: &[],
    }
}

const fn demo(name: &'static str) -> Setting {
    Setting {
        name,
        proof: Proof::Demo,
        base: &[],
    }
}

/// Every name the demo server reads from its environment (`Config::apply_env`, and the
/// demo's own), each with a value that shows it is read. A manifest may name no other.
const SETTINGS: &[Setting] = &[
    refuses("DEBUG", "maybe"),
    refuses("TOOL_TIMEOUT_MS", "0"),
    refuses("VALIDATION_ERRORS", "xml"),
    refuses("DECLARE_SCHEMA_DIALECT", "maybe"),
    refuses("MAX_LINE_BYTES", "0"),
    refuses("HOST", "mcp.example.com"),
    refuses("PORT", "65536"),
    changes("ALLOWED_ORIGINS", "https://app.example.com"),
    changes("ALLOWED_HOSTS", "mcp.example.com"),
    refuses("STATELESS", "maybe"),
    refuses("REQUIRE_SESSIONS", "maybe"),
    refuses("REQUEST_STATE_KEY", "too short"),
    refuses("REQUEST_STATE_TTL_SECS", "0"),
    refuses("MAX_SESSIONS", "0"),
    refuses("RATE_LIMIT", "-1"),
    refuses("RATE_LIMIT_MAX_CLIENTS", "0"),
    refuses("TRUSTED_PROXIES", "10.0.0.0/33"),
    changes("RATE_LIMIT_EXEMPT", "/health,/ready"),
    refuses("TOOL_RATE_LIMITS", "sleep"),
    refuses("AUTH_TOKENS", "not a token"),
    Setting {
        name: "AUTH_ISSUER",
        proof: Proof::Changes("https://auth.example.com"),
        base: &[("AUTH_RESOURCE", "https://mcp.example.com/mcp")],
    },
    Setting {
        name: "AUTH_RESOURCE",
        proof: Proof::Refuses("mcp.example.com"),
        base: &[("AUTH_ISSUER", "https://auth.example.com")],
    },
    Setting {
        name: "AUTH_SCOPES",
        proof: Proof::Changes("users:read"),
        base: &[
            ("AUTH_ISSUER", "https://auth.example.com"),
            ("AUTH_RESOURCE", "https://mcp.example.com/mcp"),
        ],
    },
    changes("REDIS_URL", "redis://rampart-redis:6379"),
    refuses("STORE_TIMEOUT_MS", "0"),
    refuses("RATE_LIMIT_FAILURE", "ajar"),
    refuses("MAX_CONNECTIONS", "-1"),
    refuses("DRAIN_DELAY", "5m"),
    refuses("DRAIN_TIMEOUT", "5m"),
    refuses("METRICS_ADDR", "nowhere"),
    changes("METRICS_TOKEN", "s3cret"),
    refuses("LOG_OUTPUT", "xml"),
    refuses("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
    refuses("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "collector:4318"),
    refuses("OTEL_EXPORTER_OTLP_HEADERS", "novalue"),
    refuses("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "novalue"),
    changes("OTEL_SERVICE_NAME", "rampart-demo"),
    refuses("OTEL_RESOURCE_ATTRIBUTES", "novalue"),
    refuses("OTEL_EXPORTER_OTLP_TIMEOUT", "0"),
    refuses("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "0"),
    refuses("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
    refuses("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"),
    refuses("OTEL_BSP_MAX_QUEUE_SIZE", "0"),
    refuses("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "0"),
    refuses("OTEL_BSP_SCHEDULE_DELAY", "0"),
    refuses("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "maybe"),
    refuses("OTEL_SDK_DISABLED", "maybe"),
    refuses("OTEL_TRACES_EXPORTER", "zipkin"),
    demo("DEMO_DATABASE"),
    demo("AUTH_TOKENS_FILE"),
    demo("AUTH_JWKS_FILE"),
];

/// The configuration the demo's pods start with: the ConfigMap's data, then the literal
/// values of the container's `env` (Secret references left out: the template's placeholders
/// are refused on purpose), as Kubernetes sets them.
fn server_config() -> Config {
    let configmap = object("ConfigMap", "rampart-demo");
    let mut vars: Vec<(String, String)> = configmap["data"]
        .as_object()
        .expect("the ConfigMap has data")
        .iter()
        .map(|(name, value)| {
            let value = value.as_str().unwrap_or_else(|| panic!("{name} is not a string"));
            (name.clone(), value.to_owned())
        })
        .collect();
    vars.extend(env(&container("rampart-demo")));
    Config::new(rampart_core::server_info!())
        .apply_env(vars)
        .unwrap_or_else(|err| panic!("the server refuses the manifests' settings: {err}"))
}

// ---- reading the manifests ----

/// The names of the Kubernetes manifests (every `.yaml` but `kustomization.yaml`), sorted.
fn manifest_files() -> Vec<String> {
    let dir = workspace_root().join(MANIFESTS);
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("cannot list {}: {err}", dir.display()))
        .map(|entry| {
            entry
                .expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|name| name.ends_with(".yaml") && name != "kustomization.yaml")
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no manifests in {}", dir.display());
    files
}

/// The YAML documents of every file in the manifests' directory, by file name, read once.
fn all_documents() -> &'static [(String, Vec<Value>)] {
    static DOCUMENTS: OnceLock<Vec<(String, Vec<Value>)>> = OnceLock::new();
    DOCUMENTS.get_or_init(|| {
        let root = workspace_root();
        let python = client_python(&root);
        let mut files = manifest_files();
        files.push("kustomization.yaml".into());
        let paths: Vec<String> = files.iter().map(|file| format!("{MANIFESTS}/{file}")).collect();
        let mut args = vec!["-c", TO_JSON];
        args.extend(paths.iter().map(String::as_str));
        let outcome = run_with_deadline(&python, &args, &root, DEADLINE);
        assert_ran(&outcome, "reading the manifests with PyYAML");
        let parsed: Vec<Vec<Value>> = serde_json::from_str(&outcome.stdout).expect("JSON from the reader");
        files.into_iter().zip(parsed).collect()
    })
}

/// Reads each YAML file named in `argv` (every document but empty ones) and prints them as
/// one JSON array of arrays, as the Kubernetes API would receive them.
const TO_JSON: &str = "import json, sys, yaml
out = []
for path in sys.argv[1:]:
    with open(path) as f:
        out.append([doc for doc in yaml.safe_load_all(f) if doc is not None])
json.dump(out, sys.stdout)";

/// The documents of one file of the manifests' directory.
fn documents(file: &str) -> &'static [Value] {
    all_documents()
        .iter()
        .find(|(name, _)| name == file)
        .map(|(_, docs)| docs.as_slice())
        .unwrap_or_else(|| panic!("{MANIFESTS}/{file} is missing"))
}

/// Every object of `kind` in the manifests.
fn objects(kind: &str) -> Vec<&'static Value> {
    all_documents()
        .iter()
        .flat_map(|(_, docs)| docs)
        .filter(|doc| doc["kind"] == kind)
        .collect()
}

/// The object of `kind` named `name`.
fn object(kind: &str, name: &str) -> &'static Value {
    objects(kind)
        .into_iter()
        .find(|doc| doc["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {MANIFESTS}"))
}

/// The container `name` of the Deployment of the same name.
fn container(name: &str) -> Value {
    container_of(object("Deployment", name), name)
}

/// The container `name` of `deployment`.
fn container_of(deployment: &Value, name: &str) -> Value {
    deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no container {name}"))
}

/// The container's `env` entries that have a literal value.
fn env(container: &Value) -> Vec<(String, String)> {
    container["env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|var| {
            let name = var["name"].as_str()?.to_owned();
            let value = var["value"].as_str()?.to_owned();
            Some((name, value))
        })
        .collect()
}

/// The number of a container port given as a number or by name.
fn container_port(container: &Value, port: &Value) -> u64 {
    if let Some(number) = port.as_u64() {
        return number;
    }
    let name = port.as_str().unwrap_or_else(|| panic!("a port: {port}"));
    container["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == name)
        .and_then(|p| p["containerPort"].as_u64())
        .unwrap_or_else(|| panic!("{} has no port named {name}", container["name"]))
}

/// How long a preStop hook sleeps: the `sleep` action, or an exec of `sleep N`; zero without
/// a hook.
fn pre_stop_sleep(hook: &Value) -> Duration {
    if hook.is_null() {
        return Duration::ZERO;
    }
    if let Some(seconds) = hook["sleep"]["seconds"].as_u64() {
        return Duration::from_secs(seconds);
    }
    let command = strings(&hook["exec"]["command"]).join(" ");
    command
        .split_whitespace()
        .skip_while(|word| !word.ends_with("sleep"))
        .nth(1)
        .and_then(|seconds| seconds.parse().ok())
        .map(Duration::from_secs_f64)
        .unwrap_or_else(|| panic!("a preStop hook that is not a sleep: {hook}"))
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
}

/// Panics with the program's output unless it exited 0.
fn assert_ran(outcome: &Outcome, what: &str) {
    let verdict = match &outcome.status {
        Some(status) if status.success() => return,
        Some(status) => status.to_string(),
        None => format!("killed after {DEADLINE:?}"),
    };
    let hint = if outcome.stderr.contains("No module named") {
        format!("\nhint: {}", support::SETUP_HINT)
    } else {
        String::new()
    };
    panic!(
        "{what} failed ({verdict}){hint}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        outcome.stdout, outcome.stderr
    );
}
