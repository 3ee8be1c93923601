use super::*;
use crate::sim::decode::fill_sums;
use crate::sim::scenario::Scenario;
use crate::sim::trace::{Record, TcpFlags};
use crate::sim::{Sim, TcpState};

const SND: u32 = 1_000;
const RCV: u32 = 5_000;

fn parked() -> Parked {
    Parked {
        local: SocketAddrV4::new([10, 0, 0, 1].into(), 12345),
        remote: SocketAddrV4::new([10, 0, 0, 2].into(), 49152),
        port: None,
        snd_nxt: SND,
        rcv_nxt: RCV,
        window: 100,
        window_end: RCV + 100,
        expires: Instant::from_millis(10_000),
        challenge_at: Instant::ZERO,
        rx_queued: 0,
        rx_capacity: 100,
        tx_capacity: 100,
    }
}

fn seg(flags: &str, seq: u32, ack: u32) -> TcpHeader {
    TcpHeader {
        src_port: 12345,
        dst_port: 49152,
        flags: TcpFlags {
            syn: flags.contains('S'),
            fin: flags.contains('F'),
            psh: flags.contains('P'),
            rst: flags.contains('R'),
            ack: flags.contains('.'),
        },
        seq: 0,
        ack: 0,
        raw_seq: seq,
        raw_ack: ack,
        window: 0,
        mss: None,
        window_scale: None,
        checksum_ok: true,
    }
}

fn ms(n: u64) -> Instant {
    Instant::from_millis(n)
}

/// A retransmitted FIN (one before RCV.NXT) restarts the timer every time and
/// gets a challenge ACK at most once a second.
#[test]
fn retransmitted_fin_restarts_the_timer_and_is_acked_once_a_second() {
    let mut p = parked();
    let fin = seg("F.", RCV - 1, SND);
    assert_eq!(p.judge(ms(2_000), &fin, 0), Verdict::Ack);
    assert_eq!(p.expires, ms(12_000));
    assert_eq!(p.judge(ms(2_500), &fin, 0), Verdict::Drop);
    assert_eq!(p.expires, ms(12_500));
    assert_eq!(p.judge(ms(3_000), &fin, 0), Verdict::Ack);
    assert_eq!(p.expires, ms(13_000));
}

/// Old data (a retransmission the ACK of which was lost) is ACKed every time.
#[test]
fn old_data_is_acked_every_time() {
    let mut p = parked();
    let data = seg("P.", RCV - 20, SND);
    assert_eq!(p.judge(ms(1), &data, 10), Verdict::Ack);
    assert_eq!(p.judge(ms(2), &data, 10), Verdict::Ack);
    assert_eq!(p.expires, ms(10_002));
}

/// ACK checks come first: behind SND.NXT is a duplicate (dropped, timer kept),
/// beyond it a challenge ACK (timer kept); no ACK at all is dropped.
#[test]
fn acks_are_checked_before_the_window() {
    let mut p = parked();
    assert_eq!(
        p.judge(ms(1), &seg("F.", RCV - 1, SND - 1), 0),
        Verdict::Drop
    );
    assert_eq!(p.judge(ms(1), &seg("S", RCV + 7, 0), 0), Verdict::Drop);
    assert_eq!(p.judge(ms(1), &seg(".", RCV - 1, SND + 1), 0), Verdict::Ack);
    assert_eq!(
        p.judge(ms(2), &seg(".", RCV - 1, SND + 1), 0),
        Verdict::Drop
    );
    assert_eq!(p.expires, ms(10_000));
}

/// An RST in the window closes; one outside it is dropped without a restart.
#[test]
fn rst_closes_only_in_the_window() {
    let mut p = parked();
    assert_eq!(p.judge(ms(1), &seg("R", RCV - 1, 0), 0), Verdict::Drop);
    assert_eq!(p.judge(ms(1), &seg("R", RCV + 100, 0), 0), Verdict::Drop);
    assert_eq!(p.expires, ms(10_000));
    assert_eq!(p.judge(ms(1), &seg("R", RCV + 99, 0), 0), Verdict::Close);
    assert_eq!(
        parked().judge(ms(1), &seg("R.", RCV, SND), 0),
        Verdict::Close
    );
}

/// In the window, anything but RST is an unexpected packet: dropped. Flags
/// smoltcp cannot parse never reach the socket.
#[test]
fn in_window_and_unparsable_segments_are_dropped() {
    let mut p = parked();
    assert_eq!(p.judge(ms(1), &seg(".", RCV, SND), 0), Verdict::Drop);
    assert_eq!(p.judge(ms(1), &seg("P.", RCV, SND), 5), Verdict::Drop);
    assert_eq!(p.judge(ms(1), &seg("SF.", RCV - 1, SND), 0), Verdict::Drop);
    assert_eq!(p.judge(ms(1), &seg("FR.", RCV - 1, SND), 0), Verdict::Drop);
    assert_eq!(p.expires, ms(10_000));
}

fn hello(loss: f64, seed: u64) -> Scenario {
    let mut sc = Scenario::builtin("hello").expect("hello is built in");
    sc.seed = seed;
    sc.conditions.loss = loss;
    sc
}

/// The server's connection is parked once it is in TIME-WAIT: its socket has
/// left its set, the view still shows TIME-WAIT with the buffers it had, and
/// the ACK a parked connection builds is the very frame smoltcp sent for the
/// client's FIN. Its timer runs out 10 s after it entered TIME-WAIT.
#[test]
fn hello_parks_the_server_and_builds_smoltcps_ack() {
    let mut sim = Sim::new(&hello(0.0, 1)).expect("hello builds");
    sim.run_until(|s| {
        s.trace().iter().any(
            |r| matches!(r, Record::State(st) if st.host == "client" && st.to == TcpState::Closed),
        )
    });
    let server = &sim.hosts[0];
    assert!(server.table.orphans.len() == 0, "no socket lingers");
    let p = *server
        .table
        .parked
        .iter()
        .next()
        .expect("the server's connection is parked");
    assert_eq!(p.rx_capacity, 65535);
    let view = sim.host(0).expect("server view");
    let tw: Vec<_> = view
        .sockets
        .iter()
        .filter(|v| v.state == Some(TcpState::TimeWait))
        .collect();
    assert_eq!(tw.len(), 1);
    assert_eq!((tw[0].rx_capacity, tw[0].tx_capacity), (65535, 65535));
    let last_ack = sim
        .trace()
        .iter()
        .filter_map(Record::as_packet)
        .rfind(|p| p.from == "server")
        .expect("the server's last ACK");
    let sent = sim.frame(last_ack.id).expect("captured").to_vec();
    let mut built = ack_frame(&p, (server.mac, sim.hosts[1].mac), &sim.pool);
    fill_sums(&mut built);
    assert_eq!(built, sent);
    let entered = sim
        .trace()
        .iter()
        .find_map(|r| match r {
            Record::State(s) if s.to == TcpState::TimeWait => Some(s.at),
            _ => None,
        })
        .expect("TIME-WAIT");
    sim.run_until_idle();
    let closed = sim
        .trace()
        .iter()
        .find_map(|r| match r {
            Record::State(s) if s.from == TcpState::TimeWait => Some((s.at, s.to)),
            _ => None,
        })
        .expect("TIME-WAIT ends");
    assert_eq!(closed, (entered + TIME_WAIT, TcpState::Closed));
    let server = &mut sim.hosts[0];
    assert_eq!(server.table.parked.len(), 0);
    assert_eq!(server.table.parked.next_expiry(), None);
    let remote = SocketAddr::from((p.remote.ip().octets(), p.remote.port()));
    assert!(server.table.by_tuple.get(&(12345, remote)).is_none());
}

/// Lines of `sim`'s trace as text, sorted: the same events, in any order
/// within an instant.
fn events(sim: &Sim) -> Vec<alloc::string::String> {
    let mut lines: Vec<_> = sim.trace().iter().map(crate::sim::to_text).collect();
    lines.sort();
    lines
}

/// On a network that loses nothing (so no random draw depends on the order
/// of frames), parking changes no event: every built-in scenario gives the
/// same trace lines, console lines and exit codes with parking as without;
/// only events of the same instant may come in another order.
#[test]
fn parking_changes_no_event_on_a_clean_network() {
    let mut parked = 0;
    for (name, _) in Scenario::builtins() {
        for seed in 1..=4 {
            let mut sc = Scenario::builtin(name).expect("built in");
            sc.seed = seed;
            let run = |park: bool| {
                let mut sim = Sim::new(&sc).expect("builds");
                sim.park_time_wait = park;
                sim.run_until_idle();
                sim
            };
            let (with, without) = (run(true), run(false));
            assert_eq!(events(&with), events(&without), "{name} seed {seed}");
            for (a, b) in with.hosts().iter().zip(without.hosts().iter()) {
                assert_eq!(a.console, b.console, "{name} seed {seed}");
                assert_eq!(a.exit_codes, b.exit_codes, "{name} seed {seed}");
            }
            parked += with.parked_total;
        }
    }
    assert!(parked >= 20, "only {parked} connections were parked");
}

/// A lossy hello where the server's last ACK is lost: the client's FIN comes
/// back into the parked TIME-WAIT and is ACKed at once (a challenge ACK: at
/// most one a second, as the client's RTO spaces its FINs anyway).
#[test]
fn a_lost_last_ack_is_answered_from_the_parked_connection() {
    let mut hits = 0;
    for seed in 1..=60 {
        let mut sim = Sim::new(&hello(0.3, seed)).expect("hello builds");
        sim.run_until_idle();
        if sim.parked_segments == 0 {
            continue;
        }
        let trace = sim.trace();
        let entered = trace.iter().find_map(|r| match r {
            Record::State(s) if s.host == "server" && s.to == TcpState::TimeWait => Some(s.at),
            _ => None,
        });
        // A FIN after TIME-WAIT ran out meets a closed port: RST, not ACK.
        let left = trace.iter().find_map(|r| match r {
            Record::State(s) if s.host == "server" && s.from == TcpState::TimeWait => Some(s.at),
            _ => None,
        });
        let packets = || trace.iter().filter_map(Record::as_packet);
        let fins: Vec<_> = packets()
            .filter(|p| p.to == "server" && p.fate.arrived() && Some(p.at) > entered)
            .filter(|p| left.is_none_or(|l| p.at < l))
            .filter(|p| p.tcp.as_ref().is_some_and(|t| t.flags.fin))
            .map(|p| p.at)
            .collect();
        for at in fins {
            let acked = packets().any(|p| {
                p.from == "server"
                    && p.sent_at == at
                    && p.tcp
                        .as_ref()
                        .is_some_and(|t| t.flags.ack && !t.flags.fin && !t.flags.rst)
            });
            assert!(
                acked,
                "seed {seed}: no ACK for the FIN that reached TIME-WAIT at {at:?}"
            );
            hits += 1;
        }
    }
    assert!(hits >= 2, "only {hits} FINs reached a parked TIME-WAIT");
}
