//! A simulated host: one smoltcp [`Interface`] (Ethernet, so ARP is visible), its
//! [`SocketSet`], and the apps it runs.
//!
//! The simulator hands a host frames (`rx`) and calls [`Host::turn`] at a virtual
//! time. A turn follows the app polling order of [`crate::app`]: poll the interface,
//! collect the frames it sent, look at the sockets and answer the apps' pending
//! socket calls with events, carry out the actions those events queue, and go
//! again until nothing changes. [`Host::next_wake`] says when the host next needs
//! a turn (smoltcp's `poll_at`, an app timer, a socket timeout).
//!
//! Frames travel in `Vec<u8>`s from one shared pool, so a steady run allocates none.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::net::Ipv4Addr;

use smoltcp::iface::{Config, Interface, SocketSet};
use smoltcp::phy::{self, Checksum, DeviceCapabilities, Medium};
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr};

use super::check::Answer;
use super::sets::{Sock, Sockets};
use super::table::{Entry, Key, Table};
use super::trace::{ConsoleRecord, HostName, Record};
use crate::app::{App, Event, Io};
use crate::keyed::Map;
use crate::time::Instant;

/// Makes a fresh instance of an app (at start and after a restart).
pub type AppFactory = Box<dyn Fn() -> Box<dyn App>>;

/// The frame buffer pool shared by every host and the links.
pub(crate) type Pool = RefCell<Vec<Vec<u8>>>;

/// Give frames that are done with back to `pool`, emptied. Inline, as the
/// loops it replaced were (measured: out of line, 1,000 greets one at a time
/// ran 1% more instructions).
#[inline]
pub(crate) fn recycle(pool: &Pool, frames: impl IntoIterator<Item = Vec<u8>>) {
    let mut p = pool.borrow_mut();
    for mut f in frames {
        f.clear();
        p.push(f);
    }
}

/// A buffer from `pool` holding a copy of `bytes`.
#[inline]
pub(crate) fn pooled_copy(pool: &Pool, bytes: &[u8]) -> Vec<u8> {
    let mut f = pool.borrow_mut().pop().unwrap_or_default();
    f.clear();
    f.extend_from_slice(bytes);
    f
}

pub(crate) fn smol_now(t: Instant) -> smoltcp::time::Instant {
    smoltcp::time::Instant::from_micros(i64::try_from(t.as_micros()).unwrap_or(i64::MAX))
}

pub(crate) fn from_smol(t: smoltcp::time::Instant) -> Instant {
    Instant::from_micros(u64::try_from(t.total_micros()).unwrap_or(0))
}

/// What a turn needs from the simulator.
pub(crate) struct Ctx<'a> {
    pub now: Instant,
    pub trace: bool,
    pub records: &'a mut Vec<Record>,
    pub pool: &'a Pool,
    /// Frames the host sent during the turn, in order.
    pub out: &'a mut Vec<Vec<u8>>,
}

impl Ctx<'_> {
    pub fn record(&mut self, r: impl FnOnce() -> Record) {
        if self.trace {
            self.records.push(r());
        }
    }
}

/// One app on a host.
pub(crate) struct AppSlot {
    pub app: Box<dyn App>,
    pub io: Io,
    pub exit: Option<i32>,
    pub timers: Map<u32, Instant>,
    pub started: bool,
}

pub(crate) struct Host {
    pub name: String,
    /// `name`, shared by every packet record that names this host.
    pub label: HostName,
    pub ip: Ipv4Addr,
    pub mac: [u8; 6],
    pub up: bool,
    pub mtu: usize,
    /// The MTU this host's MSS allows (the link may lower `mtu` below it).
    pub cap_mtu: usize,
    pub rx_buffer: usize,
    pub tx_buffer: usize,
    /// Boxed: smoltcp keeps the neighbor cache inline (1,024 entries, about
    /// 24 KB), and a host moved by value would copy all of it.
    pub iface: Box<Interface>,
    pub sockets: Sockets,
    /// The socket set the frame waiting in `rx` belongs to (and, once it is
    /// ingested, the set the next turn polls first).
    pub rx_set: usize,
    /// A frame was ingested since the last turn: the turn is due.
    pub ingested: bool,
    pub rx: VecDeque<Vec<u8>>,
    pub apps: Vec<AppSlot>,
    pub factories: Vec<AppFactory>,
    pub table: Table,
    /// Events waiting to be handed to apps: (app index, event).
    pub events: VecDeque<(usize, Event)>,
    pub console: Vec<String>,
    /// The wake-up currently scheduled in the simulator's queue.
    pub wake_at: Option<Instant>,
    /// Reused buffers of a socket check: keys, orphan handles, answers, accepted connections.
    pub scratch: Scratch,
}

pub(crate) type Scratch = (Vec<Key>, Vec<(Sock, bool)>, Vec<Answer>, Vec<(Key, Entry)>);

/// The smoltcp device: frames in from `rx`, out to `out`, buffers from the pool.
struct Dev<'a> {
    rx: &'a mut VecDeque<Vec<u8>>,
    out: &'a mut Vec<Vec<u8>>,
    pool: &'a Pool,
    mtu: usize,
}

struct Rx<'a> {
    frame: Vec<u8>,
    pool: &'a Pool,
}

struct Tx<'a> {
    out: &'a mut Vec<Vec<u8>>,
    pool: &'a Pool,
}

impl phy::RxToken for Rx<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let r = f(&self.frame);
        // Written out, not `recycle`: on this per-frame path that call changed
        // what LLVM inlines into `Host::turn` (1.2% more instructions, measured).
        let mut frame = self.frame;
        frame.clear();
        self.pool.borrow_mut().push(frame);
        r
    }
}

impl phy::TxToken for Tx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = self.pool.borrow_mut().pop().unwrap_or_default();
        frame.resize(len, 0);
        let r = f(&mut frame);
        self.out.push(frame);
        r
    }
}

impl phy::Device for Dev<'_> {
    type RxToken<'b>
        = Rx<'b>
    where
        Self: 'b;
    type TxToken<'b>
        = Tx<'b>
    where
        Self: 'b;

    fn receive(&mut self, _t: smoltcp::time::Instant) -> Option<(Rx<'_>, Tx<'_>)> {
        let frame = self.rx.pop_front()?;
        Some((
            Rx {
                frame,
                pool: self.pool,
            },
            Tx {
                out: self.out,
                pool: self.pool,
            },
        ))
    }

    fn transmit(&mut self, _t: smoltcp::time::Instant) -> Option<Tx<'_>> {
        Some(Tx {
            out: self.out,
            pool: self.pool,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        // Checksum offload both ways, as a NIC does it. On send the simulator
        // writes the IPv4, TCP and UDP checksums (`decode::fill_sums`, the
        // same bytes smoltcp writes) only where they are looked at: frames
        // the pcap captures and frames the link is about to corrupt; every
        // other frame crosses the link with them zero, and nothing reads them
        // (the trace records verdicts, not values). On receive the simulator
        // checks the checksums of a frame the link corrupted and drops it if
        // they catch the flip (`Sim::land`), as a NIC that verifies them does.
        // smoltcp still writes and checks ICMP's. (Unlike smoltcp's own check,
        // the dropped frame's intact IPv4 header no longer refreshes the ARP
        // cache.)
        caps.checksum.ipv4 = Checksum::None;
        caps.checksum.tcp = Checksum::None;
        caps.checksum.udp = Checksum::None;
        caps.max_transmission_unit = self.mtu + 14;
        caps
    }
}

/// Settings a host is built (and rebuilt after a crash) from.
pub(crate) struct HostConfig {
    pub name: String,
    pub ip: Ipv4Addr,
    pub mac: [u8; 6],
    pub mtu: usize,
    pub cap_mtu: usize,
    pub rx_buffer: usize,
    pub tx_buffer: usize,
    pub factories: Vec<AppFactory>,
}

/// When smoltcp next wants `set` polled, as of `now`. One copy of smoltcp's
/// `poll_at` for every caller (the lab's wasm size).
#[inline(never)]
pub(crate) fn poll_at(iface: &mut Interface, now: Instant, set: &SocketSet<'_>) -> Option<Instant> {
    iface.poll_at(smol_now(now), set).map(from_smol)
}

fn new_iface(mac: [u8; 6], ip: Ipv4Addr, mtu: usize, seed: u64, now: Instant) -> Box<Interface> {
    let mut config = Config::new(HardwareAddress::Ethernet(EthernetAddress(mac)));
    config.random_seed = seed;
    let mut rx = VecDeque::new();
    let mut out = Vec::new();
    let pool = RefCell::new(Vec::new());
    let mut dev = Dev {
        rx: &mut rx,
        out: &mut out,
        pool: &pool,
        mtu,
    };
    let mut iface = Box::new(Interface::new(config, &mut dev, smol_now(now)));
    iface.update_ip_addrs(|addrs| {
        // Prefix 0: every address is on the one switched segment, reached by ARP.
        let _ = addrs.push(IpCidr::new(ip.into(), 0));
    });
    iface
}

fn new_slot(factory: &AppFactory) -> AppSlot {
    AppSlot {
        app: factory(),
        io: Io::new(),
        exit: None,
        timers: Map::new(),
        started: false,
    }
}

impl Host {
    pub fn new(cfg: HostConfig, seed: u64) -> Host {
        let iface = new_iface(cfg.mac, cfg.ip, cfg.mtu, seed, Instant::ZERO);
        let apps = cfg.factories.iter().map(new_slot).collect();
        Host {
            label: HostName::from(cfg.name.as_str()),
            name: cfg.name,
            ip: cfg.ip,
            mac: cfg.mac,
            up: true,
            mtu: cfg.mtu,
            cap_mtu: cfg.cap_mtu,
            rx_buffer: cfg.rx_buffer,
            tx_buffer: cfg.tx_buffer,
            iface,
            sockets: Sockets::default(),
            rx_set: 0,
            ingested: false,
            rx: VecDeque::new(),
            apps,
            factories: cfg.factories,
            table: Table::default(),
            events: VecDeque::new(),
            console: Vec::new(),
            wake_at: None,
            scratch: Default::default(),
        }
    }

    /// The host dies: sockets vanish without a FIN, apps stop, the ARP cache is lost.
    pub fn crash(&mut self, pool: &Pool) {
        self.up = false;
        self.ingested = false;
        self.sockets = Sockets::default();
        self.table = Table::default();
        self.events.clear();
        self.apps.clear();
        recycle(pool, self.rx.drain(..));
    }

    /// The host boots again with fresh apps.
    pub fn restart(&mut self, seed: u64, now: Instant) {
        self.iface = new_iface(self.mac, self.ip, self.mtu, seed, now);
        self.apps = self.factories.iter().map(new_slot).collect();
        self.up = true;
    }

    /// The link's MTU changed this host's to `mtu`. smoltcp reads a device's
    /// MTU once, when its interface is made, so the interface is made again
    /// (its ISNs from `seed`): new connections announce the MSS the new MTU
    /// allows, and established ones send segments that fit from their next
    /// (re)transmission on, as Linux's do when a NIC's MTU changes. The
    /// interface's ARP cache goes with it, so the next frame to each peer
    /// waits for an ARP exchange (Linux would keep its cache).
    pub fn set_mtu(&mut self, mtu: usize, seed: u64, now: Instant) {
        self.mtu = mtu;
        if self.up {
            self.iface = new_iface(self.mac, self.ip, mtu, seed, now);
        }
    }

    /// Run the host at `now` until it is quiet. Frames sent go to `ctx.out`.
    pub fn turn(&mut self, ctx: &mut Ctx<'_>) {
        if !self.up {
            return;
        }
        let now = ctx.now;
        self.table.gave_up = false;
        // Before smoltcp retransmits a SYN-ACK the kernel no longer would.
        if self.table.handshakes.front().is_some_and(|h| h.0 <= now) {
            self.drop_handshakes(ctx);
        }
        for (i, slot) in self.apps.iter_mut().enumerate() {
            if !slot.started {
                slot.started = true;
                self.events.push_back((i, Event::Start));
            }
            if slot.exit.is_some() {
                continue;
            }
            let due: Vec<u32> = slot
                .timers
                .iter()
                .filter(|&(_, &at)| at <= now)
                .map(|(&id, _)| id)
                .collect();
            for id in due {
                slot.timers.remove(&id);
                self.events.push_back((i, Event::Timer { id }));
            }
        }
        // Bounded: each round either hands an app an event or stops. Each poll
        // visits only the socket sets that need it (see [`super::sets`]).
        for _ in 0..10_000 {
            self.poll(ctx);
            self.check_sockets(ctx);
            if self.events.is_empty() && !self.sockets.any_dirty() {
                break;
            }
            while let Some((i, event)) = self.events.pop_front() {
                self.deliver(ctx, i, event);
            }
        }
    }

    /// smoltcp's ingress of the frame waiting in `rx`, polled with the socket set
    /// it belongs to; the egress, the socket checks and the apps wait for the
    /// turn (see [`Host::turn`]). Frames answered at once go to `out`.
    pub fn ingest(&mut self, now: Instant, pool: &Pool, out: &mut Vec<Vec<u8>>) {
        let k = self.rx_set;
        if let Some(set) = self.sockets.sets.get_mut(k) {
            let mut dev = Dev {
                rx: &mut self.rx,
                out,
                pool,
                mtu: self.mtu,
            };
            self.iface.poll_ingress_single(smol_now(now), &mut dev, set);
            self.after_poll(k, false);
        }
        // Anything left (no set to meet it) is dropped, as smoltcp drops junk.
        recycle(pool, self.rx.drain(..));
        self.sockets.touch(k);
        self.ingested = true;
    }

    /// Poll the socket sets that need it: the one the arrived frame belongs to
    /// first, then those an app or a check touched and those whose time has come.
    fn poll(&mut self, ctx: &mut Ctx<'_>) {
        let now = ctx.now;
        let first = core::mem::take(&mut self.ingested).then_some(self.rx_set);
        let due = self.sockets.due(first, now);
        for &k in &due {
            let Some(set) = self.sockets.sets.get_mut(k) else {
                continue;
            };
            let mut dev = Dev {
                rx: &mut self.rx,
                out: ctx.out,
                pool: ctx.pool,
                mtu: self.mtu,
            };
            self.iface.poll(smol_now(now), &mut dev, set);
            self.after_poll(k, true);
            let Some(set) = self.sockets.sets.get_mut(k) else {
                continue;
            };
            let wake = poll_at(&mut self.iface, now, set);
            self.sockets.polled_set(k, wake);
        }
        self.sockets.done_with(due);
    }

    /// Hand one event to app `i` and carry out the actions it queues.
    fn deliver(&mut self, ctx: &mut Ctx<'_>, i: usize, event: Event) {
        let Some(slot) = self.apps.get_mut(i) else {
            return;
        };
        if slot.exit.is_some() {
            return;
        }
        slot.app.handle(ctx.now, event, &mut slot.io);
        loop {
            let Some(slot) = self.apps.get_mut(i) else {
                return;
            };
            if slot.exit.is_some() {
                // Actions after exit() are never carried out.
                while slot.io.poll_action().is_some() {}
                return;
            }
            let Some(action) = slot.io.poll_action() else {
                return;
            };
            self.act(ctx, i, action);
        }
    }

    pub fn print(&mut self, ctx: &mut Ctx<'_>, app: usize, line: String) {
        let host = &self.label;
        let at = ctx.now;
        ctx.record(|| {
            Record::Console(ConsoleRecord {
                at,
                host: host.clone(),
                app: app as u32,
                line: line.clone(),
            })
        });
        self.console.push(line);
    }

    /// When this host next needs a turn, if ever.
    pub fn next_wake(&mut self, now: Instant) -> Option<Instant> {
        if !self.up {
            return None;
        }
        let mut at = self.sockets.next_wake();
        let mut min = |t: Instant| at = Some(at.map_or(t, |a| a.min(t)));
        for slot in &self.apps {
            if !slot.started {
                min(now);
            }
            if slot.exit.is_none()
                && let Some(&t) = slot.timers.values().min()
            {
                min(t);
            }
        }
        if let Some(t) = self.table.next_deadline() {
            min(t);
        }
        // A connect the kernel gave up on while sending (`giveup.rs`).
        if self.table.gave_up {
            min(now);
        }
        // The kernel gives up on an orphan (`giveup.rs`).
        if let Some(&(t, _)) = self.table.orphan_limits.first() {
            min(t);
        }
        // A parked TIME-WAIT connection's timer (its socket's is gone).
        if let Some(t) = self.table.parked.next_expiry() {
            min(t);
        }
        at
    }
}
