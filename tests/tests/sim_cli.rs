//! `sockbox sim` / `sockbox scenarios` from the outside: output, JSON lines,
//! scenario files, and one-line errors with exit code 2.

use std::process::{Command, Output};

fn sockbox(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sockbox-under-test"))
        .args(args)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn scenarios_lists_every_builtin() {
    let o = sockbox(&["scenarios"]);
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    for name in [
        "hello",
        "exchange",
        "partial-recv",
        "timeout-retry",
        "many-clients",
        "tcp-vs-udp",
        "chat",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(name)),
            "{name} missing:\n{text}"
        );
    }
}

#[test]
fn sim_prints_text_and_json_traces() {
    let o = sockbox(&["sim", "hello", "--seed", "3", "--latency", "5"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8(o.stdout.clone()).unwrap();
    assert!(text.contains("Flags [S.]"), "{text}");
    assert!(text.contains("client | Thank you for connecting"));
    assert!(stderr(&o).contains("# client: exit 0"));
    // 5 ms each way: the SYN-ACK arrives 10 ms after the SYN left.
    assert!(
        text.contains("0.020000 server > client IP 10.0.0.1.12345 > 10.0.0.2.49152: Flags [S.]"),
        "{text}"
    );

    let o = sockbox(&["sim", "hello", "--json"]);
    assert!(o.status.success());
    let lines = String::from_utf8(o.stdout).unwrap();
    let mut kinds = std::collections::BTreeSet::new();
    for line in lines.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        kinds.insert(v["kind"].as_str().unwrap().to_string());
        if v["kind"] == "packet" {
            assert!(v["id"].is_u64() && v["sent_at"].is_u64() && v["at"].is_u64());
            assert!(v["fate"].is_string() && v["eth"]["src"].is_string());
        }
    }
    for k in ["packet", "state", "call", "console"] {
        assert!(kinds.contains(k), "no {k} record");
    }
}

#[test]
fn a_run_cut_short_by_the_time_limit_says_so() {
    // 30% loss: the TCP client is still retransmitting at the 120 s stop.
    let o = sockbox(&["sim", "tcp-vs-udp", "--loss", "0.3", "--seed", "1"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("# stopped at the time limit, 120.000000 s of virtual time")
            && err.contains("--until"),
        "{err}"
    );
    assert!(err.contains("# tcp-client: exit running"), "{err}");
    // Where each program still running waits, socket by socket.
    for line in [
        "# tcp-client: blocked in recv(1024) on 10.0.0.2:49152 <-> 10.0.0.1:12345",
        "# server: blocked in accept() on 10.0.0.1:12345",
        "# server: blocked in recvfrom(65535) on 10.0.0.1:9999",
    ] {
        assert!(err.lines().any(|l| l == line), "{line}\n{err}");
    }
    // With room to finish it ends on its own, and no such line.
    let o = sockbox(&[
        "sim",
        "tcp-vs-udp",
        "--loss",
        "0.3",
        "--seed",
        "1",
        "--until",
        "600",
    ]);
    let err = stderr(&o);
    assert!(!err.contains("stopped at the time limit"), "{err}");
    assert!(err.contains("# tcp-client: exit 0"), "{err}");
    assert!(!err.contains("# tcp-client: blocked"), "{err}");
    let o = sockbox(&["sim", "hello"]);
    assert!(!stderr(&o).contains("stopped at the time limit"));
}

#[test]
fn bad_values_are_one_line_errors_with_exit_2() {
    let unwritable = std::env::temp_dir()
        .join(format!("sockbox-no-such-dir-{}", std::process::id()))
        .join("out.pcap");
    let unwritable = unwritable.to_str().unwrap();
    for (args, needle) in [
        // Past u16: the flag's own range, not the integer type's.
        (
            &["sim", "hello", "--mtu", "100000"][..],
            "--mtu: must be between 576 and 9000",
        ),
        // Found before the run, not after the whole trace was printed.
        (
            &["sim", "hello", "--pcap", unwritable][..],
            "--pcap: cannot create",
        ),
        (&["sim", "hello", "--loss", "1.5"][..], "--loss"),
        (&["sim", "hello", "--dup", "-0.1"][..], "--dup"),
        (&["sim", "hello", "--mtu", "100"][..], "--mtu"),
        (&["sim", "hello", "--until", "0"][..], "--until"),
        // Negative numbers reach the flag's own check, which names the flag.
        (&["sim", "hello", "--until", "-1"][..], "--until"),
        (&["sim", "hello", "--seed", "-1"][..], "--seed"),
        (&["sim", "hello", "--mtu", "-5"][..], "--mtu"),
        (&["sim", "hello", "--bandwidth", "-1"][..], "--bandwidth"),
        (&["sim", "no-such-scenario"][..], "no-such-scenario"),
        (&["sim", "hello", "--loss", "abc"][..], "--loss"),
        (&["sim", "hello", "--no-such-flag"][..], "--no-such-flag"),
        (&["sim"][..], "<SCENARIO>"),
        (&["serve", "--framing", "len64"][..], "len64"),
    ] {
        let o = sockbox(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("error: ") && err.contains(needle),
            "{args:?}: {err}"
        );
        assert!(o.stdout.is_empty());
    }
}

#[test]
fn scenario_files_run_and_bad_ones_name_line_and_field() {
    let dir = std::env::temp_dir();
    let good = dir.join(format!("sockbox-sim-{}-good.toml", std::process::id()));
    std::fs::write(
        &good,
        r#"
name = "mine"
seed = 9
stop_ms = 5000
[conditions]
latency_ms = 2.5
[[hosts]]
name = "srv"
ip = "10.1.0.1"
[[hosts.apps]]
app = "exchange"
[[hosts]]
name = "cli"
ip = "10.1.0.2"
[[hosts.apps]]
app = "exchange"
role = "client"
server = "10.1.0.1:12345"
"#,
    )
    .unwrap();
    let o = sockbox(&["sim", good.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("cli | Received: Hello, client!"));

    let bad = dir.join(format!("sockbox-sim-{}-bad.toml", std::process::id()));
    std::fs::write(&bad, "name = \"x\"\n[conditions]\nlos = 0.5\n").unwrap();
    let o = sockbox(&["sim", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("line 3:1") && err.contains("los"), "{err}");

    std::fs::write(&bad, "[conditions]\nloss = 2.0\n").unwrap();
    let o = sockbox(&["sim", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("conditions.loss"), "{}", stderr(&o));

    // A file with no hosts would run and print nothing: refused instead.
    std::fs::write(&bad, "name = \"empty\"\n").unwrap();
    let o = sockbox(&["sim", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("scenario field `hosts` must not be empty"),
        "{}",
        stderr(&o)
    );
    assert!(o.stdout.is_empty());
    let _ = std::fs::remove_file(&good);
    let _ = std::fs::remove_file(&bad);
}

/// A reader that stops early (`sockbox sim ... | head`) ends the trace quietly,
/// as Unix tools do: no "Broken pipe" error, exit 0, and the run still goes to
/// its end, so the pcap file is whole and the exit summary is right.
#[test]
fn a_reader_that_stops_early_is_not_an_error() {
    use std::io::Read;
    use std::process::Stdio;
    let dir = std::env::temp_dir();
    let id = std::process::id();
    // Far more trace than a pipe holds: 200 echoes of 4 KB.
    let file = dir.join(format!("sockbox-sim-{id}-pipe.toml"));
    let sizes = vec!["4000"; 200].join(", ");
    std::fs::write(
        &file,
        format!(
            "name = \"big\"\nstop_ms = 600000\n[[hosts]]\nname = \"server\"\nip = \"10.0.0.1\"\n\
             apps = [{{app = \"echo\", port = 12345, framing = \"len32\"}}]\n[[hosts]]\n\
             name = \"client\"\nip = \"10.0.0.2\"\napps = [{{app = \"echo\", role = \"client\", \
             server = \"10.0.0.1:12345\", framing = \"len32\", sizes = [{sizes}]}}]\n"
        ),
    )
    .unwrap();
    let whole = dir.join(format!("sockbox-sim-{id}-whole.pcap"));
    let cut = dir.join(format!("sockbox-sim-{id}-cut.pcap"));
    let full = sockbox(&[
        "sim",
        file.to_str().unwrap(),
        "--json",
        "--pcap",
        whole.to_str().unwrap(),
    ]);
    assert!(full.status.success(), "{}", stderr(&full));
    assert!(full.stdout.len() > 1 << 20, "{} bytes", full.stdout.len());

    let mut child = Command::new(env!("CARGO_BIN_EXE_sockbox-under-test"))
        .args(["sim", file.to_str().unwrap(), "--json", "--pcap"])
        .arg(&cut)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut head = [0u8; 100];
    child.stdout.take().unwrap().read_exact(&mut head).unwrap();
    // The pipe's read end is closed here, with nearly all of the trace unread.
    let o = child.wait_with_output().unwrap();
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(!err.contains("error"), "{err}");
    assert!(err.contains("# client: exit 0"), "{err}");
    assert_eq!(
        std::fs::read(&cut).unwrap(),
        std::fs::read(&whole).unwrap(),
        "the pcap of the cut-short run is not the whole run's"
    );
    for f in [&file, &whole, &cut] {
        let _ = std::fs::remove_file(f);
    }
}

/// The README's dead-host example: its TOML block, run, prints its trace block
/// line for line.
/// The README example between `<!-- NAME example -->` and its end marker,
/// run: (what `sockbox sim` printed, its stderr, the trace lines the README
/// shows under the `$ sockbox sim` line).
fn readme_example(name: &str) -> (String, String, Vec<String>) {
    let readme = include_str!("../../README.md");
    let start = readme
        .find(&format!("<!-- {name} example -->"))
        .unwrap_or_else(|| panic!("README has the {name} example"));
    let end = readme[start..]
        .find(&format!("<!-- end {name} example -->"))
        .map(|e| start + e)
        .expect("the example ends");
    let blocks: Vec<&str> = readme[start..end].split("```").collect();
    // [marker, "toml\n...", between, "\n$ sockbox sim ...\n<trace>", tail]
    let toml = blocks[1].strip_prefix("toml\n").expect("a toml block");
    let shown = blocks[3].trim().lines().skip(1).map(String::from).collect();
    let file = std::env::temp_dir().join(format!("sockbox-{}-{name}.toml", std::process::id()));
    std::fs::write(&file, toml).unwrap();
    let o = sockbox(&["sim", file.to_str().unwrap()]);
    let _ = std::fs::remove_file(&file);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    (String::from_utf8(o.stdout).unwrap(), err, shown)
}

#[test]
fn readme_dead_host_example_prints_what_it_says() {
    let (got, err, shown) = readme_example("dead-host");
    assert!(err.contains("# client: exit 1"), "{err}");
    assert_eq!(got.lines().collect::<Vec<_>>(), shown);
}

/// The flow-control example shows excerpts (`...` between them): each shown
/// line is printed, in the order shown.
#[test]
fn readme_flow_control_example_prints_what_it_says() {
    let (got, err, shown) = readme_example("flow-control");
    assert!(err.contains("# client: exit 0"), "{err}");
    let mut printed = got.lines();
    for line in shown.iter().filter(|l| *l != "...") {
        assert!(
            printed.any(|p| p == line),
            "not printed (or out of order): {line}\n{got}"
        );
    }
    assert!(shown.iter().any(|l| l.contains("[TCP Window Full]")));
    assert!(shown.iter().any(|l| l.contains("Partial send")));
}

/// Text that came over the wire may hold line breaks and escape sequences; the
/// text trace keeps each record on one line, with them escaped as Python's
/// `repr` writes them (the JSON trace has the line as it is).
#[test]
fn console_text_from_the_wire_stays_on_one_line() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scenarios/newlines.toml");
    let text = sockbox(&["sim", path]);
    let json = sockbox(&["sim", path, "--json"]);
    assert!(text.status.success(), "{}", stderr(&text));
    let text = String::from_utf8(text.stdout).unwrap();
    let json = String::from_utf8(json.stdout).unwrap();
    assert_eq!(text.lines().count(), json.lines().count(), "{text}");
    assert!(
        text.lines()
            .any(|l| l.ends_with("client | Received: line one\\nline two")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.ends_with("server | Received: red \\x1b[31m bell \\x07 \\\\ end")),
        "{text}"
    );
    assert!(!text.contains('\u{1b}') && !text.contains('\u{7}'));
    assert!(
        json.contains(r#""line":"Received: line one\nline two""#),
        "{json}"
    );
}
