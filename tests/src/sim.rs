//! Helpers for the simulator's tests: small networks on 10.0.0.0/24 and
//! views of a run's trace.

use std::time::Duration;

use sockbox_core::app::App;
use sockbox_core::sim::{Builder, HostSpec, PacketRecord, Record, Sim, TcpState};

/// Host `name` at 10.0.0.`last`, every other setting its default.
pub fn host(name: &str, last: u8) -> HostSpec {
    HostSpec {
        name: name.into(),
        ip: [10, 0, 0, last].into(),
        ..HostSpec::default()
    }
}

/// Host `server` (10.0.0.1) and host `client` (10.0.0.2) running the apps
/// `server` and `client` make, for at most an hour of virtual time.
pub fn two_hosts<S: App + 'static, C: App + 'static>(
    server: impl Fn() -> S + 'static,
    client: impl Fn() -> C + 'static,
) -> Sim {
    Builder::new()
        .stop(Duration::from_secs(3600))
        .host_spec(host("server", 1))
        .host_spec(host("client", 2))
        .app_fn("server", server)
        .app_fn("client", client)
        .build()
        .expect("two hosts on one network build")
}

/// The packets `host` sent, in the order they were sent.
pub fn sent_by<'a>(sim: &'a Sim, host: &str) -> Vec<&'a PacketRecord> {
    let mut v: Vec<&PacketRecord> = sim
        .trace()
        .iter()
        .filter_map(Record::as_packet)
        .filter(|p| p.from.as_str() == host)
        .collect();
    v.sort_by_key(|p| (p.sent_at, p.id));
    v
}

/// `host`'s TCP state changes, as (time in us, from, to).
pub fn states(sim: &Sim, host: &str) -> Vec<(u64, TcpState, TcpState)> {
    sim.trace()
        .iter()
        .filter_map(|r| match r {
            Record::State(s) if s.host.as_str() == host => Some((s.at.as_micros(), s.from, s.to)),
            _ => None,
        })
        .collect()
}
