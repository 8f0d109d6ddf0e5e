//! Tests of `labels`.

use super::*;

fn long(n: usize) -> String {
    "a".repeat(n)
}

#[test]
fn valid_keys() {
    let prefix_253 = format!("{}.{}.{}.{}", long(63), long(63), long(63), long(61));
    let name_63 = long(63);
    let cases = [
        "gpu",
        "gpu-type",
        "a",
        "A_b.C-9",
        "nvidia.com/gpu",
        "node-role.kubernetes.io/worker",
        "example.com/Some_Name",
        "1.2.3/x",
        &format!("{prefix_253}/x"),
        &name_63,
    ];
    for k in cases {
        assert_eq!(check_label_key(k), Ok(()), "{k}");
    }
}

#[test]
fn invalid_keys_say_what_is_wrong() {
    let prefix_254 = format!("{}.{}.{}.{}", long(63), long(63), long(63), long(62));
    let cases: Vec<(String, String)> = vec![
        ("".into(), "label key is empty".into()),
        ("a/b/c".into(), "label key `a/b/c` has more than one `/`; a key is `[prefix/]name`".into()),
        ("/gpu".into(), "label key `/gpu` has an empty prefix before `/`".into()),
        ("nvidia.com/".into(), "label key `nvidia.com/` has an empty name after `/`".into()),
        (
            long(64),
            format!("label name `{}` is 64 characters long; the limit is 63", long(64)),
        ),
        (
            format!("{prefix_254}/x"),
            format!("label key prefix `{prefix_254}` is 254 characters long; the limit is 253"),
        ),
        (
            "bad key".into(),
            "label name `bad key` contains ` `; allowed are `A-Z`, `a-z`, `0-9`, `-`, `_` and `.`".into(),
        ),
        (
            "gpu!".into(),
            "label name `gpu!` contains `!`; allowed are `A-Z`, `a-z`, `0-9`, `-`, `_` and `.`".into(),
        ),
        ("-gpu".into(), "label name `-gpu` must start and end with a letter or digit".into()),
        ("gpu_".into(), "label name `gpu_` must start and end with a letter or digit".into()),
        (
            "Nvidia.com/gpu".into(),
            "label key prefix `Nvidia.com` contains `N`; allowed are lowercase `a-z`, `0-9`, `-` and `.`".into(),
        ),
        (
            "nvidia_corp.com/gpu".into(),
            "label key prefix `nvidia_corp.com` contains `_`; allowed are lowercase `a-z`, `0-9`, `-` and `.`".into(),
        ),
        (
            "nvidia..com/gpu".into(),
            "label key prefix `nvidia..com` must start and end with a letter or digit in every part between dots; one part is empty".into(),
        ),
        (
            "nvidia.-com/gpu".into(),
            "label key prefix `nvidia.-com` must start and end with a letter or digit in every part between dots; `-com` does not".into(),
        ),
        (
            "x\tb".into(),
            "label name `x\tb` contains `\\t`; allowed are `A-Z`, `a-z`, `0-9`, `-`, `_` and `.`".into(),
        ),
    ];
    for (k, want) in cases {
        assert_eq!(check_label_key(&k).unwrap_err().to_string(), want, "{k}");
    }
}

#[test]
fn values() {
    for v in ["", "true", "rtx3060", "A.b_c-9", &long(63)] {
        assert_eq!(check_label_value(v), Ok(()), "{v}");
    }
    let cases = [
        (long(64), "is 64 characters long; the limit is 63"),
        ("a/b".into(), "contains `/`"),
        ("true ".into(), "contains ` `"),
        (".x".into(), "must start and end with a letter or digit"),
        ("ü".into(), "contains `ü`"),
    ];
    for (v, want) in cases {
        let msg = check_label_value(&v).unwrap_err().to_string();
        assert!(msg.starts_with("label value `"), "{msg}");
        assert!(msg.contains(want), "{v}: {msg}");
    }
}

#[test]
fn self_labels() {
    let cases = [
        ("node-role.kubernetes.io/worker", false),
        ("node-role.kubernetes.io/master", false),
        ("kubernetes.io/role", false),
        ("k8s.io/anything", false),
        ("sub.k8s.io/anything", false),
        ("kubernetes.io/hostname", true),
        ("kubernetes.io/arch", true),
        ("kubernetes.io/os", true),
        ("beta.kubernetes.io/arch", true),
        ("beta.kubernetes.io/os", true),
        ("beta.kubernetes.io/instance-type", true),
        ("node.kubernetes.io/instance-type", true),
        ("failure-domain.beta.kubernetes.io/region", true),
        ("failure-domain.beta.kubernetes.io/zone", true),
        ("topology.kubernetes.io/region", true),
        ("topology.kubernetes.io/zone", true),
        ("topology.kubernetes.io/rack", false),
        ("node.kubernetes.io/worker", true),
        ("kubelet.kubernetes.io/anything", true),
        ("foo.node.kubernetes.io/x", true),
        ("foo.kubelet.kubernetes.io/x", true),
        ("notkubernetes.io/x", true),
        ("mynode.kubernetes.io.example.com/x", true),
        ("nvidia.com/gpu", true),
        ("gpu-type", true),
        ("kubernetes.io", true),
    ];
    for (k, want) in cases {
        assert_eq!(self_label_allowed(k), want, "{k}");
    }
}

#[test]
fn taints_round_trip() {
    let cases = [
        (
            "gpu=true:NoSchedule",
            "gpu",
            Some("true"),
            Effect::NoSchedule,
        ),
        ("dedicated:NoExecute", "dedicated", None, Effect::NoExecute),
        (
            "example.com/spot=:PreferNoSchedule",
            "example.com/spot",
            Some(""),
            Effect::PreferNoSchedule,
        ),
    ];
    for (s, key, value, effect) in cases {
        let t: Taint = s.parse().unwrap();
        assert_eq!(
            t,
            Taint {
                key: key.into(),
                value: value.map(Into::into),
                effect
            }
        );
        assert_eq!(t.to_string(), s);
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, format!("\"{s}\""));
        assert_eq!(serde_json::from_str::<Taint>(&json).unwrap(), t);
    }
}

#[test]
fn bad_taints() {
    let cases = [
        (
            "gpu=true",
            "taint `gpu=true` has no `:Effect` part (`NoSchedule`, `PreferNoSchedule` or `NoExecute`)",
        ),
        (
            "gpu=true:NoSchedule:x",
            "taint `gpu=true:NoSchedule:x` is not `key[=value]:Effect`: it has more than one `:`",
        ),
        (
            "gpu=a=b:NoSchedule",
            "taint `gpu=a=b:NoSchedule` is not `key[=value]:Effect`: it has more than one `=`",
        ),
        (
            "gpu:Evict",
            "taint `gpu:Evict` has effect `Evict`, which is not one of `NoSchedule`, `PreferNoSchedule`, `NoExecute`",
        ),
        (
            "gpu:noexecute",
            "taint `gpu:noexecute` has effect `noexecute`, which is not one of `NoSchedule`, `PreferNoSchedule`, `NoExecute` (did you mean `NoExecute`?)",
        ),
        (
            "gpu:",
            "taint `gpu:` has effect ``, which is not one of `NoSchedule`, `PreferNoSchedule`, `NoExecute`",
        ),
        ("=x:NoSchedule", "taint `=x:NoSchedule` has an invalid key"),
        (
            "gpu=yes please:NoSchedule",
            "taint `gpu=yes please:NoSchedule` has an invalid value",
        ),
    ];
    for (s, want) in cases {
        assert_eq!(s.parse::<Taint>().unwrap_err().to_string(), want, "{s}");
    }
    let e = "bad key:NoSchedule".parse::<Taint>().unwrap_err();
    let source = std::error::Error::source(&e).map(ToString::to_string);
    assert_eq!(
        source.as_deref(),
        Some(
            "label name `bad key` contains ` `; allowed are `A-Z`, `a-z`, `0-9`, `-`, `_` and `.`"
        )
    );
    assert!(serde_json::from_str::<Taint>("\"gpu\"").is_err());
}
