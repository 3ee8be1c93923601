//! pcap export: `sockbox sim hello --pcap` read back by tshark (no malformed
//! packets, no bad checksums, no expert warnings) and by a parser written here.

use std::path::PathBuf;
use std::process::Command;

use sockbox_core::sim::{Analysis, Record, Scenario, Sim, to_text};

fn tmp(name: &str) -> PathBuf {
    let mut p = std::env::temp_dir();
    p.push(format!("sockbox-sim-{}-{name}", std::process::id()));
    p
}

fn sockbox() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sockbox-under-test"))
}

/// `sockbox sim <args> --pcap <path>`, which must succeed; its stdout.
fn sim_with_pcap(args: &[&str], path: &PathBuf) -> String {
    let out = sockbox()
        .arg("sim")
        .args(args)
        .arg("--pcap")
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A tshark command, or `None` (with a notice, and the pcap at `path`
/// deleted) when tshark is not installed.
fn tshark_or_skip(path: &PathBuf) -> Option<Command> {
    if !std::path::Path::new("/usr/bin/tshark").exists() {
        println!("NOTICE: tshark is not installed; skipping the tshark check (CI installs it)");
        let _ = std::fs::remove_file(path);
        return None;
    }
    Some(Command::new("/usr/bin/tshark"))
}

/// tshark's verbose reading of the pcap at `path` (deleted after), checked
/// for malformed packets, bad checksums and expert warnings; `None` when
/// tshark is not installed.
fn tshark_clean(path: &PathBuf) -> Option<String> {
    let t = tshark_or_skip(path)?
        .args([
            "-o",
            "tcp.check_checksum:TRUE",
            "-o",
            "ip.check_checksum:TRUE",
        ])
        .args(["-o", "udp.check_checksum:TRUE", "-V", "-r"])
        .arg(path)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(path);
    assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));
    let text = String::from_utf8_lossy(&t.stdout).into_owned();
    for bad in [
        "Malformed",
        "Bad checksum",
        "incorrect",
        "Expert Info (Warning",
        "Expert Info (Error",
    ] {
        assert!(!text.contains(bad), "tshark says {bad}:\n{text}");
    }
    Some(text)
}

#[test]
fn tshark_reads_hello_pcap_cleanly() {
    let path = tmp("hello.pcap");
    sim_with_pcap(&["hello"], &path);
    let Some(text) = tshark_clean(&path) else {
        return;
    };
    assert_eq!(
        text.matches("\nFrame ").count() + usize::from(text.starts_with("Frame ")),
        8
    );
    assert!(text.contains("Thank you for connecting") || text.contains("5468616e6b20796f75"));
}

#[test]
fn an_icmp_port_unreachable_is_traced_as_tcpdump_and_read_cleanly_by_tshark() {
    // A UDP datagram to a host where nothing listens on the port: smoltcp
    // answers with ICMP port unreachable.
    let scenario = tmp("udp-closed.toml");
    std::fs::write(
        &scenario,
        r#"name = "udp-closed"
[[hosts]]
name = "server"
ip = "10.0.0.1"
apps = []
[[hosts]]
name = "client"
ip = "10.0.0.2"
apps = [{app = "udp-echo", role = "client", server = "10.0.0.1:9999", messages = ["hi"]}]
"#,
    )
    .unwrap();
    let path = tmp("udp-closed.pcap");
    let trace = sim_with_pcap(&[scenario.to_str().unwrap()], &path);
    let _ = std::fs::remove_file(&scenario);
    assert!(
        trace.contains(
            "server > client IP 10.0.0.1 > 10.0.0.2: ICMP 10.0.0.1 udp port 9999 unreachable, \
             length 38"
        ),
        "{trace}"
    );
    let Some(text) = tshark_clean(&path) else {
        return;
    };
    assert!(text.contains("Type: 3 (Destination unreachable)"), "{text}");
    assert!(text.contains("Code: 3 (Port unreachable)"), "{text}");
    assert!(text.contains("[Checksum Status: Good]"), "{text}");
}

/// One pcap record: (seconds, microseconds, captured bytes).
type PcapRecord = (u32, u32, Vec<u8>);

fn parse_pcap(bytes: &[u8]) -> Vec<PcapRecord> {
    let u32_at = |b: &[u8], i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap());
    assert_eq!(
        u32_at(bytes, 0),
        0xa1b2_c3d4,
        "little-endian microsecond magic"
    );
    assert_eq!(&bytes[4..8], &[2, 0, 4, 0], "version 2.4");
    assert_eq!(u32_at(bytes, 16), 65_535, "snaplen");
    assert_eq!(u32_at(bytes, 20), 1, "LINKTYPE_ETHERNET");
    let mut out = Vec::new();
    let mut i = 24;
    while i < bytes.len() {
        let (sec, usec) = (u32_at(bytes, i), u32_at(bytes, i + 4));
        let (incl, orig) = (
            u32_at(bytes, i + 8) as usize,
            u32_at(bytes, i + 12) as usize,
        );
        assert_eq!(incl, orig);
        assert!(usec < 1_000_000);
        out.push((sec, usec, bytes[i + 16..i + 16 + incl].to_vec()));
        i += 16 + incl;
    }
    assert_eq!(i, bytes.len(), "no trailing bytes");
    out
}

#[test]
fn pcap_records_match_the_trace() {
    let mut sc = Scenario::builtin("tcp-vs-udp").unwrap();
    sc.conditions.dup = 0.1;
    let mut sim = Sim::new(&sc).unwrap();
    sim.run_until_idle();
    let recs = parse_pcap(&sim.pcap());
    let packets: Vec<_> = sim.trace().iter().filter_map(Record::as_packet).collect();
    assert_eq!(recs.len(), packets.len(), "one pcap record per packet sent");
    let mut last = 0u64;
    for (sec, usec, frame) in &recs {
        let t = u64::from(*sec) * 1_000_000 + u64::from(*usec);
        assert!(t >= last, "timestamps never go back");
        last = t;
        assert!(frame.len() >= 42 && frame.len() <= 1514);
    }
    // Every packet's frame in the capture is the one sim.frame(id) returns.
    let mut by_id: Vec<_> = packets.iter().map(|p| (p.id, p.sent_at, p.len)).collect();
    by_id.sort();
    for ((id, sent_at, len), (sec, usec, frame)) in by_id.iter().zip(&recs) {
        assert_eq!(sim.frame(*id).unwrap(), frame.as_slice());
        assert_eq!(*len, frame.len());
        assert_eq!(
            sent_at.as_micros(),
            u64::from(*sec) * 1_000_000 + u64::from(*usec)
        );
    }
}

/// What one frame's marks are: (retransmission, fast retransmission,
/// duplicate ACK as (frame, n), the window and keep-alive marks by their
/// tshark names in `Analysis::NAMES` order), and the marks' text as it
/// opens the frame's line (Wireshark's Info column).
type Frame = ((bool, bool, Option<(u64, u32)>, Vec<String>), Vec<String>);

/// Per frame number, the trace's or tshark's [`Frame`] of each TCP packet.
type Marks = std::collections::BTreeMap<u64, Frame>;

/// The `[TCP ...]` marks that open `line` from its first one on: `[TCP Window
/// Full]`, `[TCP Dup ACK 12#1]`. Wireshark's spurious and out-of-order
/// resends read `[TCP Retransmission]`, as the trace marks them. Its guesses
/// at frames missing from the capture are left out: the trace's capture
/// holds every frame, and the guess can be wrong (a resend that fills a
/// loss and carries new bytes past it has its ACK marked `ACKed unseen`).
fn leading_marks(line: &str) -> Vec<String> {
    let mut rest = line.find("[TCP ").map_or("", |i| &line[i..]);
    let mut marks = Vec::new();
    while let (true, Some(end)) = (rest.starts_with("[TCP "), rest.find(']')) {
        match &rest[..=end] {
            "[TCP Spurious Retransmission]" | "[TCP Out-Of-Order]" => {
                marks.push("[TCP Retransmission]".to_owned())
            }
            "[TCP ACKed unseen segment]" | "[TCP Previous segment not captured]" => {}
            m => marks.push(m.to_owned()),
        }
        rest = rest[end + 1..].trim_start();
    }
    marks
}

/// The same per frame as tshark's TCP analysis of the pcap at `path`
/// (deleted after); `None` when tshark is not installed. Wireshark's
/// spurious and out-of-order resends count as retransmissions here: the trace
/// has one mark for a segment starting below the highest sequence sent.
fn tshark_marks(path: &PathBuf) -> Option<Marks> {
    let mut cmd = tshark_or_skip(path)?;
    let fields = [
        "frame.number",
        "tcp.analysis.retransmission",
        "tcp.analysis.fast_retransmission",
        "tcp.analysis.spurious_retransmission",
        "tcp.analysis.out_of_order",
        "tcp.analysis.duplicate_ack_frame",
        "tcp.analysis.duplicate_ack_num",
    ];
    let analysis: Vec<&str> = Analysis::NAMES.iter().map(|(_, name)| *name).collect();
    cmd.args(["-Y", "tcp", "-T", "fields"]);
    for f in fields {
        cmd.args(["-e", f]);
    }
    for name in &analysis {
        cmd.args(["-e", &format!("tcp.analysis.{name}")]);
    }
    cmd.args(["-e", "_ws.col.Info"]);
    let t = cmd.arg("-r").arg(path).output().unwrap();
    let _ = std::fs::remove_file(path);
    assert!(t.status.success(), "{}", String::from_utf8_lossy(&t.stderr));
    let mut marks = Marks::new();
    for line in String::from_utf8_lossy(&t.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let set = |i: usize| !f[i].is_empty();
        let dup = set(5).then(|| (f[5].parse().unwrap(), f[6].parse().unwrap()));
        let fast = set(2);
        let resent = set(1) || fast || set(3) || set(4);
        let window = (0..analysis.len())
            .filter(|i| set(fields.len() + i))
            .map(|i| analysis[i].to_owned())
            .collect();
        let info = leading_marks(f[fields.len() + analysis.len()]);
        marks.insert(f[0].parse().unwrap(), ((resent, fast, dup, window), info));
    }
    Some(marks)
}

/// The trace's Wireshark marks are Wireshark's: on lossy, duplicating and
/// reordering runs of several built-ins, with small and large socket
/// buffers, every TCP frame of the pcap carries the same retransmission,
/// fast retransmission, `Dup ACK <frame>#<n>`, window and keep-alive marks in
/// tshark as in the trace (frame = packet id + 1), and the trace's text line
/// opens with them in the order of tshark's Info column.
#[test]
fn wireshark_marks_agree_with_tshark() {
    // (scenario, loss, dup, reorder, seed, socket buffers: 0 = the scenario's)
    let runs: [(&str, f64, f64, f64, u64, usize); 13] = [
        ("echo-len32", 0.05, 0.0, 0.0, 1, 0),
        ("hello", 0.0, 0.9, 0.0, 1, 0),
        ("echo-len32", 0.1, 0.0, 0.2, 5, 0),
        ("tcp-vs-udp", 0.2, 0.0, 0.0, 4, 0),
        ("many-clients", 0.2, 0.0, 0.0, 2, 0),
        ("chat", 0.2, 0.2, 0.0, 3, 0),
        ("exchange", 0.0, 0.5, 0.5, 7, 0),
        ("partial-recv", 0.2, 0.0, 0.0, 9, 0),
        ("echo-len32", 0.0, 0.0, 0.0, 1, 1024),
        ("echo-len32", 0.1, 0.1, 0.1, 2, 1024),
        ("partial-recv", 0.1, 0.0, 0.0, 3, 1024),
        ("partial-recv", 0.1, 0.0, 0.2, 2, 1024),
        ("echo-len32", 0.05, 0.0, 0.0, 4, 256 * 1024),
    ];
    let (mut dups, mut fast, mut resent) = (0, 0, 0);
    let mut window = std::collections::BTreeMap::<String, usize>::new();
    for (i, (name, loss, dup, reorder, seed, buffers)) in runs.into_iter().enumerate() {
        let mut sc = Scenario::builtin(name).unwrap();
        (sc.conditions.loss, sc.conditions.dup, sc.conditions.reorder) = (loss, dup, reorder);
        sc.seed = seed;
        if buffers != 0 {
            for h in &mut sc.hosts {
                (h.rx_buffer, h.tx_buffer) = (buffers, buffers);
            }
        }
        let mut sim = Sim::new(&sc).unwrap();
        sim.run_until_idle();
        let ours: Marks = sim
            .trace()
            .iter()
            .filter(|r| r.as_packet().is_some_and(|p| p.tcp.is_some()))
            .filter_map(|r| Some((r.as_packet()?, leading_marks(&to_text(r)))))
            .map(|(p, text)| {
                let d = p.dup_ack.map(|d| (d.of + 1, d.n));
                let w = p.analysis.names().map(|(n, _)| n.to_owned()).collect();
                (
                    p.id + 1,
                    ((p.retransmission, p.fast_retransmission, d, w), text),
                )
            })
            .collect();
        let path = tmp(&format!("marks-{i}.pcap"));
        std::fs::write(&path, sim.pcap()).unwrap();
        let Some(theirs) = tshark_marks(&path) else {
            return;
        };
        for (a, b) in ours.iter().zip(&theirs) {
            assert_eq!(
                a, b,
                "{name} loss {loss} dup {dup} reorder {reorder} seed {seed} buffers {buffers}"
            );
        }
        assert_eq!(ours.len(), theirs.len());
        for ((r, f, d, w), _) in ours.values() {
            resent += usize::from(*r);
            fast += usize::from(*f);
            dups += usize::from(d.is_some());
            for name in w {
                *window.entry(name.clone()).or_default() += 1;
            }
        }
    }
    println!("window and keep-alive marks compared: {window:?}");
    // Every kind of mark was there to compare.
    assert!(
        resent >= 20 && fast >= 1 && dups >= 10,
        "{resent} {fast} {dups}"
    );
    let seen = |name: &str| window.get(name).copied().unwrap_or(0);
    assert!(
        seen("window_full") >= 10
            && seen("window_update") >= 1
            && seen("zero_window") >= 1
            && seen("zero_window_probe") >= 1,
        "{window:?}"
    );
}
