//! pcap export: `sockbox sim hello --pcap` read back by tshark (no malformed
//! packets, no bad checksums, no expert warnings) and by a parser written here.

use std::path::PathBuf;
use std::process::Command;

use sockbox_core::sim::{Record, Scenario, Sim};

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

/// tshark's verbose reading of the pcap at `path` (deleted after), checked
/// for malformed packets, bad checksums and expert warnings; `None` (with a
/// notice) when tshark is not installed.
fn tshark_clean(path: &PathBuf) -> Option<String> {
    if !std::path::Path::new("/usr/bin/tshark").exists() {
        println!("NOTICE: tshark is not installed; skipping the tshark check (CI installs it)");
        let _ = std::fs::remove_file(path);
        return None;
    }
    let t = Command::new("/usr/bin/tshark")
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
