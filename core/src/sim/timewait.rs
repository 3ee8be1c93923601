//! TIME-WAIT without smoltcp's socket, as Linux keeps it without a full socket.
//!
//! A connection in TIME-WAIT only waits out its timer and answers stray
//! segments, yet its smoltcp socket keeps both buffers (8 KiB to 512 KiB) and
//! a slot in a socket set for the 10 s it lasts: a server closing a connection
//! a millisecond holds ten thousand of them, spread over five thousand sets
//! (see `sets.rs`), and every new connection lands in a set nobody has touched
//! for a while. So once such a socket has nothing left to send (smoltcp wants
//! it polled only when its timer runs out: no ACK is due, nothing is to be
//! resent), the host *parks* the connection: the socket leaves its set and is
//! dropped, and a [`Parked`] record of a few words keeps what the connection
//! still does, in a slot of [`Parking`] that the table's index by addresses
//! names ([`Owner::Parked`]). Linux swaps a socket for a small
//! `tcp_timewait_sock` the same way.
//!
//! A parked connection answers what reaches it exactly as smoltcp 0.14's
//! socket in TIME-WAIT does (`Socket::process`, in its order): a segment
//! smoltcp cannot parse or without ACK is dropped; an ACK behind SND.NXT is a
//! duplicate and dropped, one beyond it gets a challenge ACK; a segment outside
//! the receive window restarts the 10 s timer and gets an ACK (a challenge ACK,
//! at most one a second, unless it carries data); an RST in the window closes
//! the connection, one outside it is dropped; anything else in the window is
//! dropped. The ACK carries SND.NXT and RCV.NXT (from the [`TcpTracker`]) and
//! the socket's window, as smoltcp's would (nothing changes them in
//! TIME-WAIT), byte for byte as smoltcp builds it. The frame itself still
//! goes through smoltcp's ingress, with no socket to meet it, so the interface
//! sees it as before (the sender's neighbor entry is refreshed); smoltcp's
//! answer to a frame no socket takes (RST) is discarded. When the timer runs
//! out (or an RST closes it) the trace shows TIME-WAIT -> CLOSED at the time
//! smoltcp would have closed it, and the port is free again.
//!
//! What changes against keeping the socket: smoltcp's one-a-second limit on
//! challenge ACKs starts afresh, and as sockets leave their sets earlier, later
//! sockets may get other sets and slots, so frames sent in the same instant
//! may leave in another order. Runs stay deterministic, but a scenario with
//! many connections can give another trace than before this change (on a
//! lossy link, another order draws other losses); on a clean link the same
//! events happen at the same times (a test checks every built-in scenario).

use alloc::collections::BinaryHeap;
use alloc::vec::Vec;
use core::cmp::Reverse;
use core::net::{SocketAddr, SocketAddrV4};
use core::time::Duration;

use smoltcp::wire::TcpControl;

use super::check::state_record;
use super::decode::TcpTracker;
use super::host::{Ctx, Host, Pool, pooled_copy, recycle};
use super::sets::Sock;
use super::table::{Ends, Owner, TIME_WAIT, Table};
use super::trace::{HostName, TcpHeader, TcpState};
use crate::keyed::vacant;
use crate::time::Instant;

/// smoltcp's limit on challenge ACKs: one a second per socket.
const CHALLENGE_EVERY: Duration = Duration::from_secs(1);

/// Park only a socket smoltcp wants nothing of for at least this long: its
/// close timer, not a delayed ACK (10 ms) or a retransmission.
const QUIET_FOR: Duration = Duration::from_secs(1);

/// A connection in TIME-WAIT without its smoltcp socket.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Parked {
    pub local: SocketAddrV4,
    pub remote: SocketAddrV4,
    /// The ephemeral port to free once it is CLOSED.
    pub port: Option<u16>,
    /// SND.NXT, RCV.NXT and the window field of every ACK it sends.
    snd_nxt: u32,
    rcv_nxt: u32,
    window: u16,
    /// The right edge of the receive window that window announced.
    window_end: u32,
    /// When its timer runs out (10 s after the last segment that restarted it).
    pub expires: Instant,
    /// No challenge ACK before this.
    challenge_at: Instant,
    /// What its socket showed when parked, for the views.
    pub rx_queued: usize,
    pub rx_capacity: usize,
    pub tx_capacity: usize,
}

/// A host's parked connections: in slots (a connection's [`Owner::Parked`]
/// in the table's index by addresses names its slot), with their timers in a
/// min-heap. A heap entry whose slot has since been freed, or whose timer has
/// since been restarted, is stale and skipped.
#[derive(Default)]
pub(crate) struct Parking {
    slots: Vec<Option<Parked>>,
    free: Vec<usize>,
    timers: BinaryHeap<Reverse<(u64, usize)>>,
}

impl Parking {
    fn add(&mut self, p: Parked) -> u32 {
        let slot = vacant(&mut self.slots, &mut self.free);
        if let Some(s) = self.slots.get_mut(slot) {
            *s = Some(p);
        }
        self.timers.push(Reverse((p.expires.as_micros(), slot)));
        slot as u32
    }

    /// Run `act` on the connection in `slot`; a timer it restarted is filed
    /// anew here (the old heap entry goes stale).
    fn with<R>(&mut self, slot: u32, act: impl FnOnce(&mut Parked) -> R) -> Option<R> {
        let p = self.slots.get_mut(slot as usize)?.as_mut()?;
        let was = p.expires;
        let r = act(p);
        let at = p.expires;
        if at != was {
            self.timers.push(Reverse((at.as_micros(), slot as usize)));
        }
        Some(r)
    }

    fn take(&mut self, slot: u32) -> Option<Parked> {
        let p = self.slots.get_mut(slot as usize)?.take()?;
        self.free.push(slot as usize);
        Some(p)
    }

    fn is_due(&self, (at, slot): (u64, usize)) -> bool {
        self.slots
            .get(slot)
            .and_then(Option::as_ref)
            .is_some_and(|p| p.expires.as_micros() == at)
    }

    /// The earliest time a parked connection's timer runs out.
    pub fn next_expiry(&mut self) -> Option<Instant> {
        while let Some(&Reverse(head)) = self.timers.peek() {
            if self.is_due(head) {
                return Some(Instant::from_micros(head.0));
            }
            self.timers.pop();
        }
        None
    }

    /// The next connection whose timer has run out by `now`, taken out.
    fn pop_expired(&mut self, now: Instant) -> Option<Parked> {
        while let Some(&Reverse((at, slot))) = self.timers.peek() {
            if at > now.as_micros() {
                return None;
            }
            self.timers.pop();
            if self.is_due((at, slot)) {
                return self.take(slot as u32);
            }
        }
        None
    }

    /// Every parked connection, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = &Parked> {
        self.slots.iter().flatten()
    }

    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }
}

/// What a parked connection does with a segment.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Verdict {
    Drop,
    Ack,
    Close,
}

/// `a < b` in sequence space (smoltcp's `TcpSeqNumber` order).
fn before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

/// smoltcp's window shift for a receive buffer of `capacity` bytes (every
/// host of the simulator is smoltcp, so window scaling is always agreed).
fn window_shift(capacity: usize) -> u32 {
    (usize::BITS - capacity.leading_zeros()).saturating_sub(16)
}

impl Parked {
    /// What smoltcp's socket in TIME-WAIT does with segment `t` carrying
    /// `payload` bytes at `now` (see the module doc); restarts the timer where
    /// smoltcp does.
    pub fn judge(&mut self, now: Instant, t: &TcpHeader, payload: usize) -> Verdict {
        let f = t.flags;
        // What `TcpRepr::parse` refuses never reaches a socket.
        let control = match (f.syn, f.fin, f.rst) {
            (false, false, false) => TcpControl::None,
            (true, false, false) => TcpControl::Syn,
            (false, true, false) => TcpControl::Fin,
            (false, false, true) => TcpControl::Rst,
            _ => return Verdict::Drop,
        };
        if t.src_port == 0 || t.dst_port == 0 {
            return Verdict::Drop;
        }
        if control != TcpControl::Rst {
            if !f.ack || before(t.raw_ack, self.snd_nxt) {
                return Verdict::Drop;
            }
            if t.raw_ack != self.snd_nxt {
                return self.challenge(now);
            }
        }
        let (start, end) = (t.raw_seq, t.raw_seq.wrapping_add(payload as u32));
        let (w_start, w_end) = (self.rcv_nxt, self.window_end);
        let inside = |s: u32| !before(s, w_start) && before(s, w_end);
        let in_window = match (payload == 0, w_start == w_end) {
            (true, _) if end == w_start.wrapping_sub(1) => false,
            (true, true) => start == w_start,
            (true, false) => inside(start),
            (false, true) => false,
            (false, false) => inside(start) || (before(w_start, end) && !before(w_end, end)),
        };
        match (in_window, control) {
            (true, TcpControl::Rst) => Verdict::Close,
            (true, _) | (false, TcpControl::Rst) => Verdict::Drop,
            (false, _) => {
                self.expires = now + TIME_WAIT;
                if payload > 0 && control != TcpControl::Syn {
                    Verdict::Ack
                } else {
                    self.challenge(now)
                }
            }
        }
    }

    fn challenge(&mut self, now: Instant) -> Verdict {
        if now < self.challenge_at {
            return Verdict::Drop;
        }
        self.challenge_at = now + CHALLENGE_EVERY;
        Verdict::Ack
    }
}

/// The ACK parked connection `p` sends, from `mac` to `peer_mac`, in a buffer
/// from `pool`: the 54 bytes smoltcp builds (Ethernet; IPv4 with DF, TTL 64,
/// identification 0; TCP without options), checksums left zero as the
/// simulated NIC offloads them. Written out here rather than through
/// smoltcp's `emit`, which would add 850 B (gzip) to the lab's wasm; a test
/// checks the bytes against smoltcp's own ACK.
fn ack_frame(p: &Parked, (mac, peer_mac): ([u8; 6], [u8; 6]), pool: &Pool) -> Vec<u8> {
    let mut b = [0u8; 54];
    b[0..6].copy_from_slice(&peer_mac);
    b[6..12].copy_from_slice(&mac);
    // IPv4 (ethertype 0x0800): version 4, 20-byte header, total length 40,
    // identification 0, DF, TTL 64, TCP, checksum 0.
    b[12..24].copy_from_slice(&[0x08, 0x00, 0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6]);
    b[26..30].copy_from_slice(&p.local.ip().octets());
    b[30..34].copy_from_slice(&p.remote.ip().octets());
    b[34..36].copy_from_slice(&p.local.port().to_be_bytes());
    b[36..38].copy_from_slice(&p.remote.port().to_be_bytes());
    b[38..42].copy_from_slice(&p.snd_nxt.to_be_bytes());
    b[42..46].copy_from_slice(&p.rcv_nxt.to_be_bytes());
    // Data offset 5 words, ACK only; then the window; checksum, urgent 0.
    b[46] = 0x50;
    b[47] = 0x10;
    b[48..50].copy_from_slice(&p.window.to_be_bytes());
    pooled_copy(pool, &b)
}

fn closed_record(ctx: &mut Ctx<'_>, host: &HostName, p: &Parked) {
    let (local, remote) = (SocketAddr::V4(p.local), SocketAddr::V4(p.remote));
    let ends = Ends {
        local: Some(local),
        remote: Some(remote),
    };
    state_record(ctx, host, ends, local, TcpState::TimeWait, TcpState::Closed);
}

impl Table {
    /// Forget parked connection `p`, free its port and trace it CLOSED.
    fn close_parked(&mut self, ctx: &mut Ctx<'_>, host: &HostName, p: &Parked) {
        if let Some(port) = p.port {
            self.tcp_ports.remove(&port);
        }
        self.by_tuple
            .remove(&(p.local.port(), SocketAddr::V4(p.remote)));
        closed_record(ctx, host, p);
    }

    /// Close the parked connections whose timer has run out by `ctx.now`.
    #[inline(never)]
    pub fn expire_parked(&mut self, ctx: &mut Ctx<'_>, host: &HostName) {
        while let Some(p) = self.parked.pop_expired(ctx.now) {
            self.close_parked(ctx, host, &p);
        }
    }
}

impl Host {
    /// Park every TIME-WAIT socket of this host that has nothing left to send
    /// (see the module doc); the others are looked at again after the next
    /// turn. Answers how many it parked.
    pub fn park_quiet(&mut self, tracker: &TcpTracker, now: Instant) -> u64 {
        if self.table.tw_candidates.is_empty() {
            return 0;
        }
        let before = self.table.parked.len();
        let mut waiting = core::mem::take(&mut self.table.tw_candidates);
        waiting.retain(|&h| !self.park(tracker, h, now));
        // Keep the buffer: candidates come one by one, a new one almost every turn.
        if self.table.tw_candidates.is_empty() {
            self.table.tw_candidates = waiting;
        } else {
            self.table.tw_candidates.append(&mut waiting);
        }
        self.table.parked.len().saturating_sub(before) as u64
    }

    /// Park orphan `h` if it is in TIME-WAIT with nothing left to send; tell
    /// whether it is done with (parked, or no longer a candidate).
    fn park(&mut self, tracker: &TcpTracker, h: Sock, now: Instant) -> bool {
        let Some(o) = self.table.orphans.get(&h) else {
            return true;
        };
        let s = self.sockets.tcp_ref(h);
        if TcpState::from(s.state()) != TcpState::TimeWait || o.state != TcpState::TimeWait {
            return true;
        }
        let (Some(SocketAddr::V4(local)), Some(SocketAddr::V4(remote))) =
            (o.ends.local, o.ends.remote)
        else {
            return true;
        };
        let port = o.port;
        let Some((snd_nxt, rcv_nxt)) =
            tracker.next_seqs((*local.ip(), local.port()), (*remote.ip(), remote.port()))
        else {
            return true;
        };
        // smoltcp's window field: the free receive buffer, scaled.
        let (rx_queued, rx_capacity, tx_capacity) =
            (s.recv_queue(), s.recv_capacity(), s.send_capacity());
        let shift = window_shift(rx_capacity);
        let window =
            u16::try_from(rx_capacity.saturating_sub(rx_queued) >> shift).unwrap_or(u16::MAX);
        // Nothing left to send (no ACK due, nothing to resend) when smoltcp
        // wants the socket only for its close timer, which is then the
        // connection's timer.
        let expires = match self.sockets.own_poll_at(&mut self.iface, h, now) {
            Some(at) if at >= now + QUIET_FOR => at,
            Some(_) => return false,
            None => return true,
        };
        // Its set's filed wake-up stays: if it was this timer, the host wakes
        // then all the same, for the parked connection's timer.
        self.sockets.remove(h);
        self.table.orphans.remove(&h);
        // Its smoltcp timer's entry: the handle may soon name another socket.
        self.table.time_wait.remove(&(expires, h));
        let slot = self.table.parked.add(Parked {
            local,
            remote,
            port,
            snd_nxt,
            rcv_nxt,
            window,
            window_end: rcv_nxt.wrapping_add(u32::from(window) << shift),
            expires,
            challenge_at: Instant::ZERO,
            rx_queued,
            rx_capacity,
            tx_capacity,
        });
        self.table
            .by_tuple
            .insert((local.port(), SocketAddr::V4(remote)), Owner::Parked(slot));
        true
    }

    /// Segment `p`, waiting in `rx`, reached a parked connection at `now`:
    /// smoltcp's ingress sees it with the strays' socket set (`Table::focus`
    /// gave set 0), where no socket takes it, and its RST is dropped; the
    /// connection answers it into `out`. One an RST closed is traced CLOSED by
    /// the socket check of the turn that follows, as any expired one.
    #[inline(never)]
    pub fn ingest_parked(
        &mut self,
        now: Instant,
        pool: &Pool,
        out: &mut Vec<Vec<u8>>,
        p: &ParkedIn,
    ) {
        let mut rst = Vec::new();
        self.ingest(now, pool, &mut rst);
        recycle(pool, rst);
        let mac = self.mac;
        self.table
            .parked
            .with(p.slot, |c| match c.judge(now, &p.tcp, p.payload) {
                Verdict::Drop => {}
                Verdict::Ack => out.push(ack_frame(c, (mac, p.peer_mac), pool)),
                Verdict::Close => c.expires = now,
            });
    }
}

/// A segment for a parked connection, as [`Table::focus`] saw it.
#[derive(Clone, Debug)]
pub(crate) struct ParkedIn {
    pub slot: u32,
    pub tcp: TcpHeader,
    pub payload: usize,
    pub peer_mac: [u8; 6],
}

#[cfg(test)]
mod tests;
