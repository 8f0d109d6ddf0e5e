//! k3s upgrades: the `cluster/upgrade/` Plans validate against system-upgrade-controller's
//! published CRD (vendored in `core/data/system-upgrade-controller/`) and have the shape of the
//! k3s documentation's example; the upgrade scenarios' change plans, Plans and PLAN.md
//! sections are snapshotted.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    reason = "tests read fixtures and fail by panicking"
)]

use std::fs;
use std::path::PathBuf;

use meshspec::change::ChangePlan;
use meshspec::render::upgrade::{AGENT_PATH, SERVER_PATH, SERVER_PLAN};
use meshspec::{Bundle, Cluster, Code, RenderOptions};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `openAPIV3Schema` of the vendored `Plan` CRD.
fn plan_schema() -> Value {
    let text = fs::read_to_string(
        root().join("core/data/system-upgrade-controller/upgrade.cattle.io_plans.yaml"),
    )
    .unwrap();
    let crd: Value = serde_saphyr::from_str(&text).unwrap();
    assert_eq!(crd["spec"]["group"], "upgrade.cattle.io");
    assert_eq!(crd["spec"]["names"]["kind"], "Plan");
    let v1 = crd["spec"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "v1")
        .unwrap();
    v1["schema"]["openAPIV3Schema"].clone()
}

/// Structural validation as the API server does it, except that an unknown field is an error
/// here (the API server would prune it silently, losing what it meant).
fn validate(value: &Value, schema: &Value, path: &str, errors: &mut Vec<String>) {
    if schema["x-kubernetes-int-or-string"] == true {
        if !(value.is_i64() || value.is_u64() || value.is_string()) {
            errors.push(format!("{path}: not an int or string"));
        }
        return;
    }
    if let Some(any) = schema["anyOf"].as_array() {
        let ok = any.iter().any(|s| {
            let mut e = Vec::new();
            validate(value, s, path, &mut e);
            e.is_empty()
        });
        if !ok && schema.get("type").is_none() {
            errors.push(format!("{path}: matches no anyOf branch"));
        }
    }
    let ty = schema["type"].as_str();
    let type_ok = match ty {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        _ => true,
    };
    if !type_ok {
        errors.push(format!(
            "{path}: expected {}, found {value}",
            ty.unwrap_or("?")
        ));
        return;
    }
    if let Some(options) = schema["enum"].as_array()
        && !options.contains(value)
    {
        errors.push(format!("{path}: {value} not in {options:?}"));
    }
    if let Some(map) = value.as_object() {
        if let Some(required) = schema["required"].as_array() {
            for r in required {
                let key = r.as_str().unwrap();
                if !map.contains_key(key) {
                    errors.push(format!("{path}: missing required `{key}`"));
                }
            }
        }
        let props = schema["properties"].as_object();
        for (k, v) in map {
            let sub = format!("{path}.{k}");
            match props.and_then(|p| p.get(k)) {
                Some(s) => validate(v, s, &sub, errors),
                None => match schema.get("additionalProperties") {
                    Some(Value::Object(_)) => {
                        validate(v, &schema["additionalProperties"], &sub, errors);
                    }
                    Some(Value::Bool(true)) => {}
                    _ if schema["x-kubernetes-preserve-unknown-fields"] == true => {}
                    // metadata is ObjectMeta, which the CRD leaves as a bare object
                    _ if props.is_none() && path.ends_with("metadata") => {}
                    _ => errors.push(format!("{sub}: unknown field")),
                },
            }
        }
    }
    if let (Some(items), Some(list)) = (schema.get("items"), value.as_array()) {
        if let Some(min) = schema["minItems"].as_u64()
            && (list.len() as u64) < min
        {
            errors.push(format!("{path}: fewer than {min} items"));
        }
        for (i, v) in list.iter().enumerate() {
            validate(v, items, &format!("{path}[{i}]"), errors);
        }
    }
}

fn check_plan(text: &str, schema: &Value) -> Vec<String> {
    let doc: Value = serde_saphyr::from_str(text).unwrap();
    let mut errors = Vec::new();
    validate(&doc, schema, "", &mut errors);
    if doc["apiVersion"] != "upgrade.cattle.io/v1" || doc["kind"] != "Plan" {
        errors.push("not an upgrade.cattle.io/v1 Plan".to_owned());
    }
    errors
}

fn render(text: &str) -> (Cluster, Bundle) {
    let c = Cluster::from_yaml(text).unwrap();
    let b = c.render(&RenderOptions::default()).unwrap();
    (c, b)
}

fn pinned_specs() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for dir in [
        "tests/fixtures/valid",
        "tests/fixtures/upgrade",
        "tests/fixtures/invalid",
    ] {
        for e in fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            let text = fs::read_to_string(&p).unwrap();
            let Ok(c) = Cluster::from_yaml(&text) else {
                continue;
            };
            if c.k3s.version.is_some() && c.render(&RenderOptions::default()).is_ok() {
                out.push((p.display().to_string(), text));
            }
        }
    }
    out.sort();
    assert!(out.len() >= 4, "{out:?}");
    out
}

#[test]
fn rendered_plans_validate_against_the_vendored_crd() {
    let schema = plan_schema();
    for (name, text) in pinned_specs() {
        let (c, b) = render(&text);
        let version = c.k3s.version.clone().unwrap();
        for path in [SERVER_PATH, AGENT_PATH] {
            let plan = b.text(path).unwrap_or_else(|| panic!("{name}: no {path}"));
            let errors = check_plan(&plan, &schema);
            assert!(errors.is_empty(), "{name} {path}: {errors:?}");
            let doc: Value = serde_saphyr::from_str(&plan).unwrap();
            assert_eq!(doc["spec"]["version"], version.as_str(), "{name}");
            // the upgrade Job tolerates every taint of the nodes the plan selects
            let servers = path == SERVER_PATH;
            let tolerated: Vec<String> = doc["spec"]["tolerations"]
                .as_array()
                .map(|ts| {
                    ts.iter()
                        .map(|t| match t["value"].as_str() {
                            Some(v) => format!(
                                "{}={v}:{}",
                                t["key"].as_str().unwrap(),
                                t["effect"].as_str().unwrap()
                            ),
                            None => format!(
                                "{}:{}",
                                t["key"].as_str().unwrap(),
                                t["effect"].as_str().unwrap()
                            ),
                        })
                        .collect()
                })
                .unwrap_or_default();
            for n in c.nodes.iter().filter(|n| n.is_server() == servers) {
                for t in &n.taints {
                    assert!(
                        tolerated.contains(t),
                        "{name} {path}: `{t}` of `{}` not tolerated: {tolerated:?}",
                        n.name
                    );
                }
            }
        }
    }
}

#[test]
fn the_validator_refuses_broken_plans() {
    let schema = plan_schema();
    let (_, b) =
        render(&fs::read_to_string(root().join("tests/fixtures/upgrade/patch-ha.yaml")).unwrap());
    let good = b.text(SERVER_PATH).unwrap();
    assert!(check_plan(&good, &schema).is_empty());
    for (bad, why) in [
        (
            good.replace("  cordon: true", "  cordn: true"),
            "unknown field",
        ),
        (
            good.replace("  concurrency: 1", "  concurrency: one"),
            "expected integer",
        ),
        (
            good.replace("  upgrade:\n    image: rancher/k3s-upgrade\n", ""),
            "missing required `upgrade`",
        ),
        (
            good.replace("operator: In", "operator: [In]"),
            "expected string",
        ),
    ] {
        let errors = check_plan(&bad, &schema);
        assert!(errors.iter().any(|e| e.contains(why)), "{why}: {errors:?}");
    }
}

/// The k3s documentation's example (docs.k3s.io/upgrades/automated): the server plan selects
/// `node-role.kubernetes.io/control-plane In ["true"]`, concurrency 1, cordon; the agent plan
/// selects the nodes without that label and its `prepare` runs `rancher/k3s-upgrade prepare
/// <server plan>`; both use the `system-upgrade` service account and the `rancher/k3s-upgrade`
/// image.
#[test]
fn plans_have_the_shape_of_the_k3s_docs_example() {
    let (_, b) =
        render(&fs::read_to_string(root().join("tests/fixtures/upgrade/patch-ha.yaml")).unwrap());
    let server: Value = serde_saphyr::from_str(&b.text(SERVER_PATH).unwrap()).unwrap();
    let agent: Value = serde_saphyr::from_str(&b.text(AGENT_PATH).unwrap()).unwrap();
    let s = &server["spec"];
    assert_eq!(s["concurrency"], 1);
    assert_eq!(s["cordon"], true);
    let sel = &s["nodeSelector"]["matchExpressions"][0];
    assert_eq!(sel["key"], "node-role.kubernetes.io/control-plane");
    assert_eq!(sel["operator"], "In");
    assert_eq!(sel["values"], serde_json::json!(["true"]));
    let a = &agent["spec"];
    assert_eq!(a["concurrency"], 1);
    assert_eq!(a["cordon"], true);
    let sel = &a["nodeSelector"]["matchExpressions"][0];
    assert_eq!(sel["key"], "node-role.kubernetes.io/control-plane");
    assert_eq!(sel["operator"], "DoesNotExist");
    assert_eq!(
        a["prepare"]["args"],
        serde_json::json!(["prepare", SERVER_PLAN])
    );
    assert_eq!(server["metadata"]["name"], SERVER_PLAN);
    for p in [&server, &agent] {
        assert_eq!(p["metadata"]["namespace"], "system-upgrade");
        assert_eq!(p["spec"]["serviceAccountName"], "system-upgrade");
        assert_eq!(p["spec"]["upgrade"]["image"], "rancher/k3s-upgrade");
    }
}

#[test]
fn unpinned_specs_render_no_upgrade_plans() {
    let text = fs::read_to_string(root().join("tests/fixtures/valid/seed-flannel.yaml")).unwrap();
    assert!(!text.contains("  version: v"));
    let (_, b) = render(&text);
    assert!(!b.files.keys().any(|p| p.starts_with("cluster/upgrade/")));
    assert!(!b.text("PLAN.md").unwrap().contains("## Upgrades"));
}

/// Every upgrade scenario: the change plan, the new bundle's `cluster/upgrade/` and PLAN.md's
/// "Upgrades" section, as one snapshot per scenario.
#[test]
fn upgrade_scenarios() {
    let mut pairs: Vec<(String, PathBuf, PathBuf)> = Vec::new();
    let dir = root().join("tests/fixtures/upgrade");
    for e in fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".old.yaml") {
            pairs.push((stem.to_owned(), p.clone(), dir.join(format!("{stem}.yaml"))));
        }
    }
    for code in ["MS905", "MS906", "MS907", "MS908", "MS909"] {
        let inv = root().join("tests/fixtures/invalid");
        pairs.push((
            code.to_owned(),
            inv.join(format!("{code}.old.yaml")),
            inv.join(format!("{code}.yaml")),
        ));
    }
    pairs.sort();
    for (name, old, new) in pairs {
        let old = Cluster::from_yaml(&fs::read_to_string(old).unwrap()).unwrap();
        let (new, b) = render(&fs::read_to_string(new).unwrap());
        let plan = ChangePlan::between(&old, &new);
        let codes = plan.diagnostics.codes();
        let expected = match name.as_str() {
            "MS906" => Some(Code::UpgradeSkipsMinor),
            "MS907" => Some(Code::K3sDowngrade),
            "MS908" => Some(Code::UpgradeVersionUnknown),
            "MS909" => Some(Code::CiliumUpgradeSkipsMinor),
            "cilium-minor" => None,
            _ => Some(Code::K3sUpgrade),
        };
        match expected {
            Some(code) => assert!(codes.contains(&code), "{name}: {codes:?}"),
            None => {
                assert!(
                    plan.cilium_upgrade.len() == 3,
                    "{name}: {:?}",
                    plan.cilium_upgrade
                );
                assert!(plan.cilium_upgrade[0].contains("preflight.enabled=true"));
                assert!(plan.cilium_upgrade[1].contains("upgradeCompatibility=1.18"));
            }
        }
        let mut snap = plan.render_markdown();
        for path in [SERVER_PATH, AGENT_PATH] {
            snap.push_str(&format!("\n----- {path}\n{}", b.text(path).unwrap()));
        }
        let plan_md = b.text("PLAN.md").unwrap();
        let upgrades = &plan_md[plan_md.find("\n## Upgrades").unwrap()..];
        snap.push_str(&format!("\n----- PLAN.md (Upgrades)\n{upgrades}"));
        insta::with_settings!({snapshot_path => "snapshots/upgrade", prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!(name.clone(), snap);
        });
    }
}

#[test]
fn upgrade_rules_decide_by_version_order() {
    let spec = |v: Option<&str>| {
        let pin = v.map_or_else(String::new, |v| format!("k3s: {{version: {v}}}\n"));
        Cluster::from_yaml(&format!(
            "version: 1\nname: a\n{pin}nodes:\n  - {{name: s, role: server, mesh_ip: 100.64.0.1}}\n  - {{name: w, role: agent, mesh_ip: 100.64.0.2}}\n"
        ))
        .unwrap()
    };
    let codes = |a: Option<&str>, b: Option<&str>| {
        ChangePlan::between(&spec(a), &spec(b))
            .diagnostics
            .codes()
            .into_iter()
            .filter(|c| (905..=908).contains(&c.number()))
            .collect::<Vec<_>>()
    };
    let v = Some;
    assert_eq!(codes(v("v1.33.5+k3s1"), v("v1.33.5+k3s1")), []);
    assert_eq!(
        codes(v("v1.33.5+k3s1"), v("v1.33.5+k3s2")),
        [Code::K3sUpgrade]
    );
    assert_eq!(
        codes(v("v1.33.5+k3s1"), v("v1.34.1+k3s1")),
        [Code::K3sUpgrade]
    );
    assert_eq!(
        codes(v("v1.33.5+k3s1"), v("v1.35.1+k3s1")),
        [Code::UpgradeSkipsMinor]
    );
    assert_eq!(
        codes(v("v1.33.5+k3s1"), v("v2.0.0+k3s1")),
        [Code::UpgradeSkipsMinor]
    );
    assert_eq!(
        codes(v("v1.33.5+k3s2"), v("v1.33.5+k3s1")),
        [Code::K3sDowngrade]
    );
    assert_eq!(
        codes(v("v1.34.1+k3s1"), v("v1.33.9+k3s1")),
        [Code::K3sDowngrade]
    );
    assert_eq!(
        codes(None, v("v1.34.1+k3s1")),
        [Code::UpgradeVersionUnknown]
    );
    assert_eq!(codes(v("v1.34.1+k3s1"), None), []);
    // MS906 names every line in between
    let plan = ChangePlan::between(&spec(v("v1.32.1+k3s1")), &spec(v("v1.35.1+k3s1")));
    let help = plan
        .diagnostics
        .iter()
        .find(|d| d.code == Code::UpgradeSkipsMinor)
        .unwrap()
        .help
        .clone()
        .unwrap();
    assert!(help.contains("`v1.33`, then `v1.34`"), "{help}");
    // the upgrade drains the nodes and checks each one's version; the snapshot comes first
    let plan = ChangePlan::between(&spec(v("v1.33.5+k3s1")), &spec(v("v1.34.1+k3s1")));
    assert!(plan.before[0].contains("k3s etcd-snapshot save --name pre-upgrade-v1.34.1-k3s1"));
    assert_eq!(plan.nodes.len(), 2);
    for n in &plan.nodes {
        assert!(
            n.steps[0].starts_with(&format!("`kubectl drain {}", n.node)),
            "{:?}",
            n.steps
        );
        assert!(
            n.steps
                .iter()
                .any(|s| s.contains("kubeletVersion") && s.contains("v1.34.1+k3s1"))
        );
    }
}
