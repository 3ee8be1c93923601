//! A socket in TIME-WAIT (parked by the simulator while it has nothing to send)
//! still answers a retransmitted FIN with an ACK, and closes 10 s after its last
//! FIN: in lossy `hello` runs where the server's last ACK was lost, the server
//! re-ACKs every FIN that comes while it is in TIME-WAIT (never RST) and the
//! client closes once an ACK gets through.

use std::time::Duration;

use sockbox_core::sim::{Fate, Record, Scenario, Sim, TcpState};

/// Was a FIN delivered to `server` after it entered TIME-WAIT? Checks the run.
fn check_run(seed: u64) -> bool {
    let mut sc = Scenario::builtin("hello").unwrap();
    sc.seed = seed;
    sc.conditions.loss = 0.3;
    let mut sim = Sim::new(&sc).unwrap();
    sim.run_until_idle();
    let trace = sim.trace();
    let entered = trace.iter().find_map(|r| match r {
        Record::State(s) if s.host == "server" && s.to == TcpState::TimeWait => Some(s.at),
        _ => None,
    });
    let Some(entered) = entered else {
        return false;
    };
    // When TIME-WAIT ended (the run may stop first). A FIN after that meets a
    // closed port and gets a RST, as on Linux.
    let closed = trace.iter().find_map(|r| match r {
        Record::State(s) if s.host == "server" && s.from == TcpState::TimeWait => Some(s),
        _ => None,
    });
    let in_time_wait = |at| at > entered && closed.is_none_or(|c| at < c.at);
    let fins: Vec<_> = trace
        .iter()
        .filter_map(Record::as_packet)
        .filter(|p| {
            p.to == "server"
                && p.fate == Fate::Delivered
                && in_time_wait(p.at)
                && p.tcp.as_ref().is_some_and(|t| t.flags.fin)
        })
        .map(|p| p.at)
        .collect();
    let Some(&last_fin) = fins.last() else {
        return false;
    };
    let server_tcp = || {
        trace
            .iter()
            .filter_map(Record::as_packet)
            .filter(|p| p.from == "server")
            .filter_map(|p| Some((p.sent_at, p.tcp.as_ref()?)))
    };
    assert!(
        server_tcp().all(|(at, t)| !t.flags.rst || !in_time_wait(at)),
        "seed {seed}: the server reset a connection in TIME-WAIT"
    );
    for &fin in &fins {
        assert!(
            server_tcp().any(|(at, t)| at >= fin && t.flags.ack && !t.flags.fin),
            "seed {seed}: no ACK for the FIN that reached TIME-WAIT at {fin:?}"
        );
    }
    let Some(closed) = closed else {
        // The run stopped first.
        assert!(
            last_fin + Duration::from_secs(10) > sim.stop_time(),
            "seed {seed}"
        );
        return true;
    };
    assert_eq!(closed.to, TcpState::Closed, "seed {seed}");
    assert_eq!(
        closed.at,
        last_fin + Duration::from_secs(10),
        "seed {seed}: TIME-WAIT restarts at each FIN"
    );
    // Once an ACK of its FIN gets through, the client closes cleanly.
    let acked = trace
        .iter()
        .filter_map(Record::as_packet)
        .any(|p| p.from == "server" && p.fate == Fate::Delivered && p.sent_at >= last_fin);
    let client_closed = trace.iter().any(|r| {
        matches!(r, Record::State(s)
            if s.host == "client" && s.from == TcpState::LastAck && s.to == TcpState::Closed)
    });
    assert_eq!(acked, client_closed, "seed {seed}");
    true
}

#[test]
fn time_wait_answers_retransmitted_fins() {
    let hits = (1..=60).filter(|&seed| check_run(seed)).count();
    assert!(
        hits >= 2,
        "only {hits} runs retransmitted a FIN into TIME-WAIT"
    );
}
