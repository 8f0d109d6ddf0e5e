//! Tests of `schema`.

use serde_json::json;

use super::*;

fn seed() -> Value {
    json!({
        "routingMode": "tunnel",
        "tunnelProtocol": "vxlan",
        "autoDirectNodeRoutes": false,
        "enableIPv4Masquerade": true,
        "ipam": {"mode": "kubernetes"},
        "MTU": 1280,
        "kubeProxyReplacement": false,
    })
}

fn paths(line: ChartLine, values: &Value) -> Vec<String> {
    check(line, values).into_iter().map(|v| v.path).collect()
}

#[test]
fn every_shipped_schema_parses() {
    for (text, line) in [
        (SCHEMA_1_18, ChartLine::V1_18),
        (SCHEMA_1_19, ChartLine::V1_19),
        (SCHEMA_1_20, ChartLine::V1_20),
    ] {
        let parsed: Value = serde_json::from_str(text).unwrap();
        assert_eq!(parsed["$schema"], "http://json-schema.org/draft-07/schema#");
        assert_eq!(schema(line), &parsed);
        assert!(schema(line)["properties"]["MTU"].is_object());
    }
}

/// Every keyword in the schemas is one `check` handles.
#[test]
fn schemas_use_only_handled_keywords() {
    fn keywords<'a>(node: &'a Value, out: &mut BTreeSet<&'a str>) {
        let Some(map) = node.as_object() else { return };
        for (k, v) in map {
            out.insert(k);
            match k.as_str() {
                "properties" => v.as_object().into_iter().flatten().for_each(|(_, c)| {
                    keywords(c, out);
                }),
                "items" => keywords(v, out),
                "anyOf" | "oneOf" => v.as_array().into_iter().flatten().for_each(|c| {
                    keywords(c, out);
                }),
                _ => {}
            }
        }
    }
    let handled: BTreeSet<&str> = [
        "$schema",
        "type",
        "properties",
        "items",
        "anyOf",
        "oneOf",
        "enum",
        "minimum",
        "maximum",
    ]
    .into();
    for &line in ChartLine::SUPPORTED {
        let mut found = BTreeSet::new();
        keywords(schema(line), &mut found);
        let unhandled: Vec<_> = found.difference(&handled).collect();
        assert!(unhandled.is_empty(), "{line}: {unhandled:?}");
    }
}

#[test]
fn seed_values_are_clean_on_every_line() {
    for &line in ChartLine::SUPPORTED {
        assert_eq!(check(line, &seed()), [], "{line}");
    }
}

#[test]
fn string_mtu_is_a_violation() {
    let mut values = seed();
    values["MTU"] = json!("1280");
    for &line in ChartLine::SUPPORTED {
        let found = check(line, &values);
        assert_eq!(
            found,
            [SchemaViolation {
                path: "MTU".into(),
                expected: vec!["integer".into()],
                found: "string `\"1280\"`".into(),
                constraint: Constraint::Type,
            }]
        );
        assert_eq!(
            found[0].to_string(),
            "`MTU` must be integer, found string `\"1280\"`"
        );
    }
}

#[test]
fn integer_accepts_whole_numbers_only() {
    let line = ChartLine::V1_20;
    assert_eq!(paths(line, &json!({"MTU": 1280.0})), Vec::<String>::new());
    assert_eq!(paths(line, &json!({"MTU": 1280.5})), ["MTU"]);
    let v = &check(line, &json!({"MTU": 1280.5}))[0];
    assert_eq!(v.found, "number `1280.5`");
    // `[null, number]` accepts any number and null.
    for ok in [json!(0.5), json!(2), Value::Null] {
        let values = json!({"connectivityProbeFrequencyRatio": ok});
        assert_eq!(check(line, &values), [], "{values}");
    }
    assert_eq!(
        paths(line, &json!({"connectivityProbeFrequencyRatio": "0.5"})),
        ["connectivityProbeFrequencyRatio"]
    );
}

#[test]
fn pod_cidr_list_accepts_array_or_string() {
    for &line in ChartLine::SUPPORTED {
        for ok in [json!(["10.42.0.0/16"]), json!("10.42.0.0/16"), json!([])] {
            let values = json!({"ipam": {"operator": {"clusterPoolIPv4PodCIDRList": ok}}});
            assert_eq!(check(line, &values), [], "{line} {values}");
        }
        let bad = json!({"ipam": {"operator": {"clusterPoolIPv4PodCIDRList": [10, "a"]}}});
        assert_eq!(
            paths(line, &bad),
            ["ipam.operator.clusterPoolIPv4PodCIDRList[0]"]
        );
        let bad = json!({"ipam": {"operator": {"clusterPoolIPv4PodCIDRList": 10}}});
        let found = check(line, &bad);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].to_string(),
            "`ipam.operator.clusterPoolIPv4PodCIDRList` must be array or string, found integer `10`"
        );
    }
}

#[test]
fn nested_paths_are_reported() {
    let values = json!({
        "ipam": {"mode": 1, "operator": {"clusterPoolIPv4MaskSize": "24"}},
        "tolerations": [{"operator": "Exists"}, {"operator": 5}],
        "autoDirectNodeRoutes": 1,
        "kubeProxyReplacement": "strict",
        "k8sServicePort": 6444,
        "enableIPv4Masquerade": "yes",
    });
    for &line in ChartLine::SUPPORTED {
        let found = check(line, &values);
        let text: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "`autoDirectNodeRoutes` must be boolean or string, found integer `1`",
                "`enableIPv4Masquerade` must be null or boolean, found string `\"yes\"`",
                "`ipam.mode` must be string, found integer `1`",
                "`ipam.operator.clusterPoolIPv4MaskSize` must be integer, found string `\"24\"`",
                "`tolerations[1].operator` must be string, found integer `5`",
            ],
            "{line}"
        );
    }
}

#[test]
fn dots_in_keys_are_escaped() {
    let values = json!({"nodeSelector": {"kubernetes.io/os": 5}});
    let found = check(ChartLine::V1_20, &values);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].path, "nodeSelector.kubernetes\\.io/os");
    assert!(known_path(
        ChartLine::V1_20,
        "nodeSelector.kubernetes\\.io/os"
    ));
    assert_eq!(
        nearest_key(ChartLine::V1_20, "nodeSelectr.kubernetes\\.io/os").as_deref(),
        Some("nodeSelector.kubernetes\\.io/os")
    );
}

#[test]
fn unknown_keys_and_nulls_pass() {
    let values = json!({
        "tunnel": "vxlan",
        "notAChartKey": {"deep": [1, 2]},
        "ipam": {"operatr": 5},
        "MTU": null,
        "bpf": {"masquerade": null},
    });
    for &line in ChartLine::SUPPORTED {
        assert_eq!(check(line, &values), [], "{line}");
    }
}

#[test]
fn root_must_be_a_map() {
    let found = check(ChartLine::V1_20, &json!([1]));
    assert_eq!(found.len(), 1);
    assert_eq!(
        found[0].to_string(),
        "the values must be object, found array `[1]`"
    );
}

#[test]
fn enums_bounds_and_one_of() {
    let line = ChartLine::V1_20;
    let text =
        |v: Value| -> Vec<String> { check(line, &v).iter().map(ToString::to_string).collect() };
    assert_eq!(
        text(json!({"identityManagementMode": "cluster"})),
        [
            "`identityManagementMode` must be one of `\"agent\"`, `\"operator\"`, `\"both\"`, found string `\"cluster\"`"
        ]
    );
    assert_eq!(
        text(json!({"identityManagementMode": "operator"})),
        Vec::<String>::new()
    );
    assert_eq!(
        text(json!({"bpf": {"monitorTraceIPOption": 256}})),
        ["`bpf.monitorTraceIPOption` must be at most `255`, found integer `256`"]
    );
    assert_eq!(
        text(json!({"bpf": {"monitorTraceIPOption": -1}})),
        ["`bpf.monitorTraceIPOption` must be at least `0`, found integer `-1`"]
    );
    assert_eq!(
        text(json!({"bpf": {"monitorTraceIPOption": 7}})),
        Vec::<String>::new()
    );
    // oneOf: [{type: null}, {enum: [...]}]
    assert_eq!(
        text(json!({"envoy": {"log": {"defaultLevel": "info"}}})),
        Vec::<String>::new()
    );
    let found = text(json!({"envoy": {"log": {"defaultLevel": "verbose"}}}));
    assert_eq!(found.len(), 1);
    assert!(
        found[0].starts_with(
            "`envoy.log.defaultLevel` must be null or one of `\"trace\"`, `\"debug\"`"
        ),
        "{}",
        found[0]
    );
    assert!(
        found[0].ends_with(", found string `\"verbose\"`"),
        "{}",
        found[0]
    );
    // 1.18 has no bounds on monitorTraceIPOption.
    assert_eq!(
        check(
            ChartLine::V1_18,
            &json!({"bpf": {"monitorTraceIPOption": 256}})
        ),
        []
    );
}

#[test]
fn one_of_with_two_matches_is_refused() {
    let schema = json!({"oneOf": [{"type": "integer"}, {"type": "number"}]});
    let mut out = Vec::new();
    validate(&schema, &json!(3), &mut Vec::new(), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].constraint, Constraint::OneOf);
    assert_eq!(
        out[0].to_string(),
        "the values must match exactly one of integer or number, found integer `3`"
    );
    out.clear();
    validate(&schema, &json!(3.5), &mut Vec::new(), &mut out);
    assert_eq!(out, []);
}

#[test]
fn degraded_schema_accepts_everything() {
    let mut out = Vec::new();
    validate(
        &Value::Null,
        &json!({"MTU": "x"}),
        &mut Vec::new(),
        &mut out,
    );
    assert_eq!(out, []);
}

#[test]
fn known_paths() {
    for &line in ChartLine::SUPPORTED {
        for known in [
            "",
            "MTU",
            "routingMode",
            "ipam.mode",
            "ipam.operator.clusterPoolIPv4PodCIDRList",
            "ipam.operator.clusterPoolIPv4PodCIDRList[0]",
            "tolerations[0].operator",
            "tolerations[2].key",
            "podAnnotations.anything",
            "extraEnv[0].name",
            "bpf.masquerade",
        ] {
            assert!(known_path(line, known), "{line} {known}");
        }
        for unknown in [
            "tunnel",
            "mtu",
            "ipam.operater",
            "ipam.operator.clusterPoolIPv4MaskSize.x",
            "MTU[0]",
            "ipam[0]",
            "ipam.",
        ] {
            assert!(!known_path(line, unknown), "{line} {unknown}");
        }
    }
    assert!(known_path(ChartLine::V1_18, "customCalls.enabled"));
    assert!(!known_path(ChartLine::V1_19, "customCalls.enabled"));
    assert!(known_path(ChartLine::V1_20, "devices"));
    assert!(!known_path(ChartLine::V1_19, "devices"));
}

#[test]
fn nearest_keys() {
    let line = ChartLine::V1_20;
    let near = |p: &str| nearest_key(line, p);
    assert_eq!(near("mtu").as_deref(), Some("MTU"));
    assert_eq!(near("routingmode").as_deref(), Some("routingMode"));
    assert_eq!(near("tunnelProtocl").as_deref(), Some("tunnelProtocol"));
    assert_eq!(near("ipam.mod").as_deref(), Some("ipam.mode"));
    assert_eq!(
        near("ipam.operater.clusterPoolIPv4PodCIDRList[0]").as_deref(),
        Some("ipam.operator.clusterPoolIPv4PodCIDRList[0]")
    );
    assert_eq!(near("tolerations[0].operater"), None);
    assert_eq!(
        near("tolerationz[0].key").as_deref(),
        Some("tolerations[0].key")
    );
    assert_eq!(near("ipam.mode"), None);
    assert_eq!(near("MTU.value"), None);
    assert_eq!(near("somethingElseEntirely"), None);
    assert_eq!(near("ipam..mode"), None);
}
