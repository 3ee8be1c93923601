//! The reader against serde_json: same values, same acceptance, no panics.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use proptest::prelude::*;
use serde_json::Value;

use super::parse::parse;
use super::{Error, FromJson, Kind, Node, from_str};
use crate::app::msg::{ClientMsg, Encoding, ServerMsg};
use crate::sim::{Conditions, Scenario, ScenarioError};

/// A parsed value as serde_json's `Value` (a repeated key: the last one wins,
/// as in serde_json).
fn to_value(n: &Node) -> Value {
    match &n.kind {
        Kind::Null => Value::Null,
        Kind::Bool(b) => Value::Bool(*b),
        Kind::U64(x) => Value::from(*x),
        Kind::I64(x) => Value::from(*x),
        Kind::F64(x) => Value::from(*x),
        Kind::Str(s) => Value::String(s.clone()),
        Kind::Array(items) => Value::Array(items.iter().map(to_value).collect()),
        Kind::Object(e) => {
            Value::Object(e.iter().map(|(k, _, v)| (k.clone(), to_value(v))).collect())
        }
    }
}

impl FromJson for Value {
    fn from_json(node: &Node) -> Result<Self, Error> {
        Ok(to_value(node))
    }
}

/// Our reading of `text` into a `T` equals serde_json's (both `Ok` and the same
/// value, or both `Err`), except where documented: a struct is not read from
/// an array.
fn same<T>(text: &str)
where
    T: serde::de::DeserializeOwned + FromJson + PartialEq + core::fmt::Debug,
{
    let ours = from_str::<T>(text);
    let theirs = serde_json::from_str::<T>(text);
    match (&ours, &theirs) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{text:?}"),
        (Err(_), Err(_)) => {}
        (Err(e), Ok(_))
            if e.message()
                .starts_with("invalid type: sequence, expected struct") => {}
        _ => panic!("{text:?}: ours {ours:?}, serde_json {theirs:?}"),
    }
}

fn err(text: &str) -> (usize, usize, String) {
    let e = from_str::<Value>(text).unwrap_err();
    (e.line(), e.column(), e.message().to_string())
}

#[test]
fn values_are_serde_jsons() {
    for text in [
        "null",
        " true ",
        "false",
        "0",
        "-0",
        "-0.0",
        "18446744073709551615",
        "18446744073709551616",
        "-9223372036854775808",
        "-9223372036854775809",
        "0.1",
        "0.25",
        "12.5",
        "1e-3",
        "1E+2",
        "-2.5e-7",
        "3.141592653589793",
        "1.50",
        "10E24",
        "1e308",
        "5e-324",
        r#""a\"b\\c\/d\b\f\n\r\t\u0041\u00e9\ud83d\ude00é""#,
        r#"[1, [2, []], {"a": {}}]"#,
        r#"{"a": 1, "a": 2}"#,
        "[]",
        "{}",
        "\n\t\r [ ]",
    ] {
        same::<Value>(text);
        assert!(from_str::<Value>(text).is_ok(), "{text}");
    }
    // Exact where serde_json (without `float_roundtrip`) is an ulp off: its
    // significand would count the trailing zero and pass 2^53.
    for text in [
        "-3742278788453230.0",
        "0.1",
        "0.25",
        "12.5",
        "1e-3",
        "0.020",
        "5e-324",
    ] {
        assert_eq!(
            from_str::<f64>(text),
            Ok(text.parse::<f64>().unwrap()),
            "{text}"
        );
    }
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    same::<Value>(&deep(127));
    same::<Value>(&deep(128));
    assert!(parse(&deep(127)).is_ok());
}

/// serde_json's error for `text` as (line, column, message).
fn theirs(text: &str) -> (usize, usize, String) {
    let e = serde_json::from_str::<Value>(text).unwrap_err();
    let msg = e.to_string();
    let msg = msg
        .rsplit_once(" at line ")
        .map_or(msg.clone(), |(m, _)| m.to_string());
    (e.line(), e.column(), msg)
}

#[test]
fn syntax_errors_are_serde_jsons() {
    for text in [
        "",
        "  \n ",
        "name = 1",
        "x",
        "[1,]",
        "[1 2]",
        "[1",
        "{\"a\" 1}",
        "{1: 2}",
        "{\"a\": 1",
        "{\"a\": 1,}",
        "{\"a\"",
        "[1] x",
        "01",
        "-",
        "1.",
        "1.x",
        "1e",
        "1e+",
        "1e999",
        "-1e999",
        "1e99999999999",
        "tru",
        "nul!",
        "\"a\\q\"",
        "\"\\ud800\"",
        "\"\\ud800\\u0041\"",
        "\"\\udc00\"",
        "\"\\u12\"",
        "\"\\u12x4\"",
        "\"é\n\"",
        "\"abc",
        &"[".repeat(200),
    ] {
        assert_eq!(err(text), theirs(text), "{text:?}");
    }
}

#[test]
fn type_errors_have_serdes_words_and_a_position() {
    for text in [
        "{\n  \"loss\": 0.1,\n  \"latncy\": 3\n}",
        "{\"loss\": \"x\"}",
        "{\"loss\": 1, \"loss\": 2}",
        "{\"mtu\": -1}",
        "{\"mtu\": 1.5}",
        "{\"mtu\": [1, 2]}",
        "{\"queue\": {\"a\": true}}",
        "{\"queue\": null}",
        "7",
    ] {
        let e = from_str::<Conditions>(text).unwrap_err();
        let s = serde_json::from_str::<Conditions>(text).unwrap_err();
        let msg = s.to_string();
        let msg = msg
            .rsplit_once(" at line ")
            .map_or(msg.clone(), |(m, _)| m.to_string());
        assert_eq!(
            (e.line(), e.column(), e.message()),
            (s.line(), s.column(), msg.as_str()),
            "{text}"
        );
    }
    let e = from_str::<Conditions>("{\"mtu\": 70000}").unwrap_err();
    assert_eq!(e.message(), "invalid value: integer `70000`, expected u16");
    assert_eq!(
        e.to_string(),
        "invalid value: integer `70000`, expected u16 at line 1 column 13"
    );
}

#[test]
fn scenario_errors_name_line_and_field() {
    let e = Scenario::from_json(
        "{\n  \"name\": \"mine\",\n  \"seed\": 1,\n  \"stop_ms\": \"soon\"\n}\n",
    );
    assert_eq!(
        e,
        Err(ScenarioError::Syntax {
            line: 4,
            column: 19,
            message: "invalid type: string \"soon\", expected u64".into()
        })
    );
    let e =
        Scenario::from_json("{\"hosts\": [{\"name\": \"a\", \"ip\": \"10.0.0\"}]}").unwrap_err();
    assert_eq!(
        e.to_string(),
        "scenario line 1:39: invalid IPv4 address syntax"
    );
    let e = Scenario::from_json("{\"faults\": [{\"action\": \"explode\"}]}").unwrap_err();
    assert!(
        e.to_string()
            .contains("unknown variant `explode`, expected one of `partition`"),
        "{e}"
    );
}

#[test]
fn every_builtin_reads_back_as_serde_json_reads_it() {
    for (name, _) in Scenario::builtins() {
        let sc = Scenario::builtin(name).unwrap();
        for text in [
            serde_json::to_string(&sc).unwrap(),
            serde_json::to_string_pretty(&sc).unwrap(),
        ] {
            assert_eq!(Scenario::from_json(&text).as_ref(), Ok(&sc), "{name}");
            same::<Scenario>(&text);
        }
    }
}

#[test]
fn chat_messages_as_serde_json() {
    for text in [
        r#"{"Join":{"name":"ann"}}"#,
        r#"{"Say":{"text":"h\u00e9\n"}}"#,
        r#""Leave""#,
        r#"{"Leave":null}"#,
        r#"{"Leave":{}}"#,
        r#"{"Join":{"name":"a"},"x":1}"#,
        r#"{"Join":{}}"#,
        r#""Join""#,
        r#"{}"#,
        r#"["Leave"]"#,
    ] {
        same::<ClientMsg>(text);
    }
    same::<ServerMsg>(r#"{"Welcome":{"name":"a","online":["b","c"]}}"#);
    let msg: ServerMsg = Encoding::Json
        .decode(br#" {"Said":{"from":"a","text":"b"}} "#)
        .unwrap();
    assert_eq!(
        msg,
        ServerMsg::Said {
            from: "a".into(),
            text: "b".into()
        }
    );
}

/// The pretty JSON of the built-in lessons, as bytes to mutate.
fn lessons() -> Vec<Vec<u8>> {
    Scenario::builtins()
        .iter()
        .filter_map(|(name, _)| Scenario::builtin(name))
        .map(|sc| serde_json::to_vec_pretty(&sc).unwrap())
        .collect()
}

/// A JSON value with numbers both readers agree on: floats that serde_json
/// writes with at most 8 significant digits and exponents within +-22, where
/// both are correctly rounded.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-99_999_999i64..99_999_999, -8i32..8)
            .prop_map(|(m, e)| serde_json::from_str(&alloc::format!("{m}e{e}")).unwrap()),
        "\\PC{0,8}".prop_map(Value::String),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec(("[a-z]{0,3}", inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn random_text_never_panics_and_is_judged_as_serde_json_does(
        text in prop_oneof![
            "[\\[\\]{}\",:0-9a-z\\\\.eE+ \\-\n]{0,40}",
            "\\PC{0,40}",
        ]
    ) {
        same::<Value>(&text);
        same::<Scenario>(&text);
        same::<ClientMsg>(&text);
    }

    #[test]
    fn mutated_scenarios_are_judged_as_serde_json_does(
        which in any::<proptest::sample::Index>(),
        edits in proptest::collection::vec(
            (any::<proptest::sample::Index>(), 0usize..4, "[\\[\\]{}\",:0-9a-z\\\\.eE+ \\-]"),
            1..4,
        ),
    ) {
        let all = lessons();
        let mut bytes = which.get(&all).clone();
        for (at, kind, s) in edits {
            let i = at.index(bytes.len() + 1);
            match kind {
                0 => { bytes.insert(i, s.as_bytes()[0]); }
                1 if i < bytes.len() => { bytes.remove(i); }
                2 if i < bytes.len() => { bytes[i] = s.as_bytes()[0]; }
                _ => { bytes.truncate(i); }
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        same::<Scenario>(&text);
        same::<Value>(&text);
    }

    #[test]
    fn written_values_read_back(v in json_value()) {
        let text = serde_json::to_string(&v).unwrap();
        prop_assert_eq!(from_str::<Value>(&text).unwrap(), v.clone());
        let pretty = serde_json::to_string_pretty(&v).unwrap();
        prop_assert_eq!(from_str::<Value>(&pretty).unwrap(), v);
    }
}

/// A documented difference from serde_json: a socket address is IPv4 only
/// (the simulated network has no IPv6), and an IPv6 one is a one-line error
/// with its position, as any bad value.
#[test]
fn socket_addresses_are_ipv4_only() {
    use core::net::SocketAddr;
    assert_eq!(
        from_str::<SocketAddr>("\"10.0.0.1:12345\""),
        Ok(SocketAddr::from(([10, 0, 0, 1], 12345)))
    );
    assert!(serde_json::from_str::<SocketAddr>("\"[::1]:80\"").is_ok());
    let e = from_str::<SocketAddr>("\"[::1]:80\"").unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid IPv4 socket address syntax at line 1 column 10"
    );
    assert!(from_str::<SocketAddr>("\"10.0.0.1\"").is_err());
}
