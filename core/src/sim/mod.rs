//! The simulated network: smoltcp hosts on a deterministic virtual network.
//!
//! A [`Sim`] holds hosts (each one smoltcp `Interface` with Ethernet, its sockets
//! and the apps it runs, see [`crate::app`]), the link between them and a virtual
//! clock. Time starts at zero and jumps from event to event: a frame arriving or
//! being dropped, a host's wake-up (smoltcp's `poll_at`, an app timer, a socket
//! timeout), or a scripted fault. [`Sim::step`] carries out exactly one event and
//! returns it with every [`Record`] it caused; nothing reads a wall clock and the
//! only randomness is a PCG PRNG ([`SimRng`]) seeded from the scenario, so the
//! same scenario and seed give a byte-identical trace everywhere.
//!
//! Build one from a [`Scenario`] ([`Sim::new`]) or with a [`Builder`]. Faults
//! (partition, hold, drop-next, crash, new conditions) may be applied between steps.
//!
//! Pieces: [`scenario`] (the data), [`builtins`] (the lessons), `host`/`sockets`/
//! `check`/`table` (smoltcp hosts, the socket-call emulation and the socket table
//! with its index), `network` (the link), `queue` (the event queue), `faults`,
//! [`trace`], [`mod@decode`], `tracker` (relative seq/ack, Wireshark's
//! retransmission, duplicate ACK, window and keep-alive marks), [`pcap`],
//! [`builder`], [`view`].
//!
//! # Polling order
//!
//! Drive it with [`Sim::step`] / [`Sim::step_quiet`] (or the `run_*` helpers);
//! between two steps read anything ([`Sim::trace`], [`Sim::hosts`], [`Sim::links`])
//! and apply any fault. Each step pops the earliest event: a frame is delivered to
//! its host (or reported dropped), whose stack receives it at once (smoltcp's
//! ingress; an ARP reply or a RST it answers with leaves now), and that host takes
//! a turn following the app polling order of [`crate::app`]: smoltcp's egress,
//! the socket checks, the apps. When more frames arrive at the same host in the
//! same instant (a window's worth of segments, a burst of SYNs), the turn waits
//! for the last of them, as a NIC hands its stack every frame that came in
//! together: one turn and one ACK for the burst. Frames the turn sends are judged
//! by the link and queued as future events; the host's next wake-up is re-armed.

mod backlog;
pub mod builder;
pub mod builtins;
mod check;
pub mod decode;
mod faults;
mod giveup;
mod host;
mod label;
mod network;
pub mod pcap;
mod queue;
pub mod scenario;
mod sets;
mod sockets;
mod table;
mod timewait;
pub mod trace;
mod tracker;
pub mod view;

use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::net::Ipv4Addr;
use core::time::Duration;

use rand_core::Rng;

/// The simulator's one source of randomness, seeded from the scenario's seed:
/// PCG-XSL-RR 128/64 (`rand_pcg::Pcg64`). Statistically plenty for drawing
/// losses and delays; with it the lab's wasm is 1.9 KB gzip smaller than with
/// ChaCha8, whose block function alone was 4.3 KB.
pub type SimRng = rand_pcg::Pcg64;

pub use builder::{BuildError, Builder};
pub use host::AppFactory;
pub use scenario::{
    Conditions, FaultKind, FaultSpec, HostSpec, PacketFilter, Proto, Reason, Scenario,
    ScenarioError,
};
pub use sockets::{EPHEMERAL, MAX_BACKLOG};
pub use table::BlockedCall;
pub use trace::{
    Analysis, Fate, HostName, IcmpAbout, IcmpHeader, PacketRecord, Preview, Record, TcpState, Text,
    to_text,
};
pub use view::{HostView, LinkView, SocketView};

use crate::keyed::Map;
use decode::{Journey, TcpTracker, check_sums, decode_sent, fill_sums};
use host::{Ctx, Host, Pool, pooled_copy, recycle};
use network::{Flight, Net};
use pcap::Capture;
use queue::{Ev, Queue, What};
use table::SynFate;

/// What one [`Sim::step`] did.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum StepKind {
    /// A packet arrived or was dropped.
    Packet { id: u64, fate: Fate },
    /// A host woke up (a timer: retransmission, delayed ACK, app timer, timeout).
    Wake { host: String },
    /// A scripted fault was applied.
    Fault { index: usize },
}

/// What [`Sim::advance`] did: a [`StepKind`], or a wake of host `.0`, whose
/// name [`Sim::step`] looks up only when a caller asks for it.
enum Advanced {
    Kind(StepKind),
    Wake(usize),
}

/// One event and everything it caused.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Step {
    pub at: Instant,
    pub kind: StepKind,
    pub records: Vec<Record>,
}

pub use crate::time::Instant;

/// A running simulation. See the module docs.
pub struct Sim {
    name: String,
    hosts: Vec<Host>,
    by_ip: Map<Ipv4Addr, usize>,
    now: Instant,
    stop: Instant,
    rng: SimRng,
    queue: Queue,
    flights: Vec<Option<Flight>>,
    free_flights: Vec<usize>,
    net: Net,
    pool: Pool,
    records: Vec<Record>,
    trace: bool,
    capture: Option<Capture>,
    tracker: TcpTracker,
    next_packet: u64,
    faults: Vec<FaultSpec>,
    out: Vec<Vec<u8>>,
    /// Park quiet TIME-WAIT sockets (`timewait.rs`); off only in the test
    /// that checks parking changes no event on a clean network.
    park_time_wait: bool,
    /// Connections parked, and segments that reached one (for those tests).
    parked_total: u64,
    parked_segments: u64,
}

impl Sim {
    /// Build a simulation from a scenario (validated first).
    pub fn new(scenario: &Scenario) -> Result<Sim, BuildError> {
        Builder::from_scenario(scenario.clone()).build()
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Virtual time now.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// When the run stops.
    pub fn stop_time(&self) -> Instant {
        self.stop
    }

    pub fn set_stop_time(&mut self, stop: Instant) {
        self.stop = stop;
    }

    /// Every record so far, in order.
    pub fn trace(&self) -> &[Record] {
        &self.records
    }

    /// The whole trace as tcpdump-like text, one line per record.
    pub fn trace_text(&self) -> String {
        let mut s = String::new();
        for r in &self.records {
            s.push_str(&to_text(r));
            s.push('\n');
        }
        s
    }

    /// The whole trace as JSON lines.
    pub fn trace_json(&self) -> String {
        let mut s = String::new();
        for r in &self.records {
            // Serializing these plain structs cannot fail.
            if let Ok(line) = serde_json::to_string(r) {
                s.push_str(&line);
                s.push('\n');
            }
        }
        s
    }

    /// The frames sent so far as a libpcap file (empty capture if capture is off).
    pub fn pcap(&self) -> Vec<u8> {
        self.capture
            .as_ref()
            .map_or_else(|| Capture::default().to_pcap(), Capture::to_pcap)
    }

    /// The raw bytes of packet `id` as its sender sent them, if captured.
    pub fn frame(&self, id: u64) -> Option<&[u8]> {
        self.capture.as_ref()?.frame(id)
    }

    /// Nothing left to do before the stop time (or at all).
    pub fn is_done(&self) -> bool {
        self.next_event().is_none_or(|at| at > self.stop)
    }

    /// Every app on every host has exited.
    pub fn all_exited(&self) -> bool {
        self.hosts
            .iter()
            .all(|h| h.apps.iter().all(|a| a.exit.is_some()))
    }

    /// When the next event is due, even if past the stop time; `None` when
    /// nothing is left at all. After a run, a time past [`Sim::stop_time`] means
    /// the stop time cut the run short (a timer or packet was still to come).
    pub fn next_event(&self) -> Option<Instant> {
        // Stale wake-ups may sit at the top; they are skipped by `advance`.
        self.queue
            .iter()
            .filter(|e| self.live(e))
            .map(|e| e.at)
            .min()
    }

    fn live(&self, e: &Ev) -> bool {
        match e.what {
            What::Wake(h) => self.hosts.get(h).is_some_and(|h| h.wake_at == Some(e.at)),
            _ => true,
        }
    }

    fn push(&mut self, at: Instant, what: What) {
        self.queue.push(at, what);
    }

    /// Advance exactly one event; `None` when nothing is left before the stop time.
    pub fn step(&mut self) -> Option<Step> {
        let start = self.records.len();
        let (at, kind) = self.step_kind()?;
        Some(Step {
            at,
            kind,
            records: self.records.get(start..).unwrap_or_default().to_vec(),
        })
    }

    /// Like [`Sim::step`] without copying the records (read them from
    /// [`Sim::trace`]): the event's time and what it was.
    pub fn step_kind(&mut self) -> Option<(Instant, StepKind)> {
        let (at, done) = self.advance()?;
        let kind = match done {
            Advanced::Kind(k) => k,
            Advanced::Wake(h) => StepKind::Wake {
                host: self
                    .hosts
                    .get(h)
                    .map(|h| h.name.clone())
                    .unwrap_or_default(),
            },
        };
        Some((at, kind))
    }

    /// Like [`Sim::step`] without copying the records (read them from [`Sim::trace`]);
    /// false when nothing is left before the stop time.
    pub fn step_quiet(&mut self) -> bool {
        self.advance().is_some()
    }

    fn advance(&mut self) -> Option<(Instant, Advanced)> {
        loop {
            let ev = self.queue.peek()?;
            if ev.at > self.stop {
                return None;
            }
            self.queue.pop();
            if !self.live(&ev) {
                continue;
            }
            self.now = self.now.max(ev.at);
            return Some(match ev.what {
                What::Wake(h) => {
                    if let Some(host) = self.hosts.get_mut(h) {
                        host.wake_at = None;
                    }
                    self.run_host(h);
                    (ev.at, Advanced::Wake(h))
                }
                What::Flight(f) => {
                    let Some(flight) = self.flights.get_mut(f).and_then(Option::take) else {
                        continue;
                    };
                    self.free_flights.push(f);
                    let (id, fate) = self.land(flight);
                    (ev.at, Advanced::Kind(StepKind::Packet { id, fate }))
                }
                What::Fault(i) => {
                    self.apply_fault(i);
                    (ev.at, Advanced::Kind(StepKind::Fault { index: i }))
                }
            });
        }
    }

    /// Run until nothing is left to do or the stop time; returns the steps taken.
    pub fn run_until_idle(&mut self) -> usize {
        let mut n = 0;
        while self.advance().is_some() {
            n += 1;
        }
        n
    }

    /// Run for `d` of virtual time (or until idle); returns the steps taken.
    pub fn run_for(&mut self, d: Duration) -> usize {
        let end = self.now + d;
        let stop = self.stop;
        self.stop = self.stop.min(end);
        let n = self.run_until_idle();
        self.stop = stop;
        if self.now < end.min(stop) {
            self.now = end.min(stop);
        }
        n
    }

    /// Step until `pred` holds (checked before each step); true if it came to hold.
    pub fn run_until(&mut self, mut pred: impl FnMut(&Sim) -> bool) -> bool {
        loop {
            if pred(self) {
                return true;
            }
            if self.advance().is_none() {
                return pred(self);
            }
        }
    }

    fn run_host(&mut self, h: usize) {
        let mut out = core::mem::take(&mut self.out);
        if let Some(host) = self.hosts.get_mut(h) {
            let mut ctx = Ctx {
                now: self.now,
                trace: self.trace,
                records: &mut self.records,
                pool: &self.pool,
                out: &mut out,
            };
            host.turn(&mut ctx);
        }
        for frame in out.drain(..) {
            self.send(h, frame);
        }
        self.out = out;
        // With the turn's frames seen by the tracker, TIME-WAIT sockets that
        // have nothing left to send give up their buffers (`timewait.rs`).
        if self.park_time_wait
            && let Some(host) = self.hosts.get_mut(h)
        {
            self.parked_total += host.park_quiet(&self.tracker, self.now);
        }
        self.reschedule(h);
    }

    fn reschedule(&mut self, h: usize) {
        let now = self.now;
        let Some(host) = self.hosts.get_mut(h) else {
            return;
        };
        let Some(at) = host.next_wake(now) else {
            return;
        };
        // A host that wants to run "now" again runs a microsecond later: time moves on.
        let at = at.max(now + Duration::from_micros(1));
        if host.wake_at.is_some_and(|w| w <= at && w > now) {
            return;
        }
        host.wake_at = Some(at);
        self.push(at, What::Wake(h));
    }

    fn route(&self, d: &decode::Decoded) -> Option<usize> {
        if let Some(arp) = &d.arp
            && d.eth.dst == [0xff; 6]
        {
            return self.by_ip.get(&arp.target_ip).copied();
        }
        let idx = view::mac_index(&d.eth.dst)?;
        (idx < self.hosts.len()).then_some(idx)
    }

    /// A frame leaves host `from` now.
    fn send(&mut self, from: usize, mut frame: Vec<u8>) {
        let mut decoded = decode_sent(&frame);
        // Past Linux's ARP and SYN limits the kernel gives up (`giveup.rs`).
        if let Some(host) = self.hosts.get_mut(from)
            && !host.kernel_sends(self.now, &decoded)
        {
            recycle(&self.pool, [frame]);
            return;
        }
        let id = self.next_packet;
        self.next_packet += 1;
        // The sending NIC's checksums, where anyone will see them: in the
        // capture, or (below) in a frame the link corrupts.
        if let Some(c) = &mut self.capture {
            fill_sums(&mut frame);
            c.push(id, self.now, &frame);
        }
        let marks = self.tracker.observe(&mut decoded, id, self.now);
        let to = self.route(&decoded);
        let v = self
            .net
            .judge(&mut self.rng, self.now, from, to, &decoded, frame.len());
        if let Some(bit) = v.flip
            && bit / 8 < frame.len()
        {
            if self.capture.is_none() {
                fill_sums(&mut frame);
            }
            if let Some(b) = frame.get_mut(bit / 8) {
                *b ^= 1 << (bit % 8);
            }
            // The receiver will see what the link made of it: say so.
            check_sums(&mut decoded, &frame);
            decoded.fcs_ok = false;
        }
        let copy = v
            .dup_at
            .map(|at| (at, pooled_copy(&self.pool, &frame), decoded.clone()));
        let flight = Flight {
            id,
            from,
            to,
            sent_at: self.now,
            at: v.at,
            frame,
            decoded,
            marks,
            fate: v.fate,
        };
        self.launch(flight);
        if let Some((at, frame, mut decoded)) = copy {
            let id = self.next_packet;
            self.next_packet += 1;
            if let Some(c) = &mut self.capture {
                c.push(id, self.now, &frame);
            }
            // The copy follows in the capture, and is marked as Wireshark
            // marks it there: a resent segment, a duplicate ACK.
            let marks = self.tracker.observe(&mut decoded, id, self.now);
            self.launch(Flight {
                id,
                from,
                to,
                sent_at: self.now,
                at,
                frame,
                decoded,
                marks,
                fate: Fate::Duplicated,
            });
        }
    }

    /// Put a flight on the wire (or on hold).
    fn launch(&mut self, f: Flight) {
        if f.fate.arrived()
            && let Some(to) = f.to
            && self.net.holds.contains(&(f.from, to))
        {
            self.net.held.push(f);
            return;
        }
        let at = f.at;
        let slot = match self.free_flights.pop() {
            Some(i) => {
                if let Some(s) = self.flights.get_mut(i) {
                    *s = Some(f);
                }
                i
            }
            None => {
                self.flights.push(Some(f));
                self.flights.len() - 1
            }
        };
        self.push(at, What::Flight(slot));
    }

    /// A flight's time has come: deliver it or report its drop.
    fn land(&mut self, f: Flight) -> (u64, Fate) {
        let mut fate = f.fate;
        let to = f.to.unwrap_or(usize::MAX);
        // A new connection attempt's port: its listening socket gets its buffers.
        let mut arm = None;
        if fate.arrived() {
            if self.net.partitions.contains(&(f.from, to)) {
                fate = Fate::Partitioned;
            } else if self.hosts.get(to).is_none_or(|h| !h.up) {
                fate = Fate::HostDown;
            } else if f.decoded.is_syn()
                && let (Some(host), Some((src, sport, _, dport))) =
                    (self.hosts.get_mut(to), f.decoded.tcp_tuple())
            {
                let from = core::net::SocketAddr::from((src, sport));
                match host.table.syn_fate(&host.sockets, dport, from) {
                    SynFate::New => arm = Some((dport, from)),
                    SynFate::BacklogFull => fate = Fate::BacklogFull,
                    SynFate::Known => host.table.mute_listeners(&mut host.sockets, dport),
                }
            }
        }
        if fate.arrived()
            && let Some(host) = self.hosts.get_mut(to)
        {
            host.rx_set = host.table.focus(&host.sockets, &f.decoded);
            if let Some((port, from)) = arm {
                host.arm_listener(port, host.rx_set, from);
            }
            if let Some(a) = &f.decoded.arp
                && f.decoded.fcs_ok
            {
                host.heard_arp_from(a.sender_ip);
            }
        }
        let id = f.id;
        // The receiving NIC checks the frame check sequence (Ethernet's CRC-32
        // catches any one flipped bit) and drops a damaged frame. In an IPv4
        // frame the IP, TCP, UDP or ICMP checksum catches the same flip (the
        // record's verdicts say which; smoltcp checks them too, see `host.rs`).
        // An ARP frame has no checksum of its own: only this check keeps a
        // damaged one from teaching smoltcp a wrong address.
        let intact = f.decoded.sums_ok();
        // A RST may put a half-open socket of a backlog back in LISTEN.
        let reset = f
            .decoded
            .tcp_tuple()
            .filter(|_| f.decoded.tcp.as_ref().is_some_and(|t| t.flags.rst))
            .map(|(src, sport, _, dport)| (dport, core::net::SocketAddr::from((src, sport))));
        if self.trace {
            let name = |i: usize| {
                self.hosts
                    .get(i)
                    .map(|h| h.label.clone())
                    .unwrap_or_default()
            };
            let journey = Journey {
                id,
                sent_at: f.sent_at,
                at: self.now,
                from: name(f.from),
                to: f.to.map_or_else(|| HostName::from("?"), name),
                fate,
                marks: f.marks,
                len: f.frame.len(),
            };
            self.records
                .push(Record::Packet(f.decoded.into_record(journey)));
        }
        let frame = f.frame;
        match self.hosts.get_mut(to) {
            Some(host) if fate.arrived() && intact => {
                host.rx.push_back(frame);
                self.ingest(to);
                if let Some((port, from)) = reset
                    && let Some(host) = self.hosts.get_mut(to)
                    && let Some(pool) = host.table.pool(port)
                {
                    // Free again at once: the next SYN of this instant may take it.
                    pool.reset_by(&host.sockets, from);
                }
            }
            _ => recycle(&self.pool, [frame]),
        }
        // The host takes its turn once the last frame of this instant is in.
        if self.hosts.get(to).is_some_and(|h| h.ingested) && !self.more_for(to) {
            self.run_host(to);
        }
        (id, fate)
    }

    /// Host `h` receives the frame waiting in its `rx` now (smoltcp's ingress,
    /// see [`Host::ingest`]); what that answers at once (an ARP reply, a RST)
    /// leaves now.
    fn ingest(&mut self, h: usize) {
        let mut out = core::mem::take(&mut self.out);
        if let Some(host) = self.hosts.get_mut(h) {
            match host.table.parked_in.take() {
                None => host.ingest(self.now, &self.pool, &mut out),
                // For a parked TIME-WAIT connection (`timewait.rs`).
                Some(p) => {
                    self.parked_segments += 1;
                    host.ingest_parked(self.now, &self.pool, &mut out, &p);
                }
            }
        }
        for frame in out.drain(..) {
            self.send(h, frame);
        }
        self.out = out;
    }

    /// Is the next event another frame arriving at host `h` now? Then `h` takes
    /// its turn after that one (as a NIC hands the stack every frame that came in
    /// together before the stack answers): one turn, and one ACK, for a burst.
    fn more_for(&self, h: usize) -> bool {
        self.queue.peek().is_some_and(|ev| {
            ev.at == self.now
                && match ev.what {
                    What::Flight(f) => self
                        .flights
                        .get(f)
                        .and_then(Option::as_ref)
                        .is_some_and(|f| f.to == Some(h)),
                    _ => false,
                }
        })
    }

    /// A fresh seed for a host's smoltcp interface (ISNs, IP ids).
    fn host_seed(&mut self) -> u64 {
        self.rng.next_u64()
    }
}

/// A `RefCell`'d pool, so hosts and links share frame buffers.
fn new_pool() -> Pool {
    RefCell::new(Vec::new())
}
