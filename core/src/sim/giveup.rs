//! Where the simulated kernel gives up on a connection, as Linux does and
//! smoltcp never does (it would send ARP requests, SYNs and retransmissions
//! until the stop time): two limits for a connection attempt, one for an
//! established connection, one for a half-open one a listener took, and two
//! for one its app has closed.
//!
//! - **No route to host.** Linux sends three ARP requests for an address, one
//!   a second (`mcast_solicit`); with no answer by the third second the address
//!   is unreachable and every `connect()` waiting for it fails with
//!   `EHOSTUNREACH` (Python: `OSError: [Errno 113] No route to host`). Here
//!   the fourth request smoltcp would send is not sent, and those connects fail
//!   with [`ConnectError::Unreachable`]. The count is per address, as Linux's
//!   neighbour entry is: an attempt that starts while earlier requests for the
//!   address are still unanswered fails sooner. Any ARP frame from the address
//!   that reaches the host clears the count; so does a pause of more than
//!   [`ARP_RUN_MS`] between requests (nothing wanted the address meanwhile: the
//!   next request starts a new resolution, as it would in Linux). After a
//!   resolution fails, the next one waits a pause that doubles from 1 s up to
//!   128 s ([`ARP_PAUSE_SHIFTS`]), unless a connect wants the address: Linux
//!   starts a resolution for each new packet, so a connection retransmitting
//!   into a partition makes three requests per retransmission, where smoltcp
//!   would make one a second for the segment it cannot send.
//! - **Connection timed out.** Linux sends a SYN and retransmits it 6 times
//!   (`tcp_syn_retries`), at 0, 1, 3, 7, 15, 31 and 63 s, and gives up at
//!   127 s with `ETIMEDOUT` (Python: `TimeoutError: [Errno 110] Connection
//!   timed out`). smoltcp's retransmission timer (1 s, doubling) sends the same
//!   seven, but caps its backoff at 60 s where Linux's cap is 120 s, so it
//!   would send an eighth at 123 s: that one is not sent. Every connecting
//!   socket carries smoltcp's own timeout of [`SYN_GIVE_UP`], counted from
//!   `connect()`, which closes it at 127 s and sends a RST; that RST is not sent
//!   (Linux sends none from SYN-SENT) and the connect fails with
//!   [`ConnectError::Unanswered`]. The timeout is lifted once the connection
//!   is established. A `settimeout` shorter than that ends the attempt first,
//!   with "timed out".
//!
//! The attempt's two act on the frames a host sends ([`Host::kernel_sends`],
//! called by the simulator for every frame before it reaches the wire), so they
//! need no timer of their own: smoltcp's timers are theirs. The failed attempt is marked
//! in its [`Pending::Connect`] and its socket is checked at once (the next turn,
//! a microsecond later); the check closes the smoltcp socket without a RST, as
//! Linux closes a socket in SYN-SENT.
//!
//! - **Connection timed out, once established.** Linux retransmits data nobody
//!   acknowledges 15 times (`tcp_retries2`) and gives up about 924.6 s after
//!   it was first sent, with `ETIMEDOUT`; the call waiting on the socket, or
//!   the next one, fails (Python: `TimeoutError: [Errno 110] Connection timed
//!   out`). smoltcp would retransmit until the stop time. Here a connection its
//!   app still holds carries smoltcp's own timeout of [`RETRIES_GIVE_UP`]
//!   while it has data waiting for an ACK ([`retry_limit`], after each check
//!   of the socket; `close()` lifts it): smoltcp counts it from the peer's last
//!   segment, or from the first send after a quiet spell. When it runs out,
//!   smoltcp closes the socket during a poll; [`Host::after_poll`], right
//!   after each poll, sees that (no frame need leave: in a long partition the
//!   ARP entry has expired and smoltcp's RST would wait for a reply that never
//!   comes), the check that follows replaces the socket with an empty closed
//!   one ([`timed_out`]), and calls fail with
//!   [`crate::app::SockError::Unanswered`]. No RST goes out (Linux sends
//!   none). An idle connection never times out, as in Linux without
//!   keep-alive.
//!
//! - **A handshake nobody completes.** A listener's socket in SYN-RECEIVED
//!   sends the SYN-ACK and retransmits it at 1, 3, 7, 15 and 31 s, as Linux's
//!   does (`tcp_synack_retries`, 5); Linux then drops the half-open connection
//!   without a RST [`SYNACK_GIVE_UP`] after the SYN, where smoltcp would
//!   retransmit (and, once its ARP entry expires, ask for the address) until
//!   the stop time and hold the backlog's slot. Here the check that sees the
//!   SYN taken files the time (`Table::handshakes`, in order); the turn at
//!   that time (smoltcp's sixth retransmission is due then, so the host wakes
//!   anyway) puts the socket back in LISTEN before smoltcp can send, and
//!   traces SYN-RECEIVED -> LISTEN ([`Host::drop_handshakes`]). A handshake
//!   that completed, or was reset, meanwhile is skipped.
//!
//! And two for a connection its app has closed (an orphan, `table.rs`), which
//! smoltcp would keep until the stop time if its peer is gone:
//!
//! - **An unacknowledged FIN.** In FIN-WAIT-1, CLOSING or LAST-ACK, Linux
//!   retransmits `tcp_orphan_retries` times (0, which it reads as 8) and then
//!   drops the connection without a RST, [`ORPHAN_GIVE_UP`] after the FIN
//!   (or the data before it) was first sent. Here the time counts from the
//!   close, or from the peer's last segment since.
//! - **FIN-WAIT-2.** Linux waits `tcp_fin_timeout` ([`FIN_WAIT2_GIVE_UP`])
//!   for the peer's FIN, then drops the connection without a RST.
//!
//! These two need no frame of smoltcp's: the check that sees an orphan files
//! its give-up time ([`orphan_limit`], `Table::orphan_limits`), the host wakes
//! then, and the check drops the smoltcp socket, tracing the state change to
//! CLOSED. A segment from the peer afterwards meets no socket and is answered
//! with a RST, as Linux answers it.

use core::net::{IpAddr, Ipv4Addr, SocketAddr};
use core::time::Duration;

use smoltcp::socket::{AnySocket, tcp};

use super::check::state_record;
use super::decode::Decoded;
use super::host::{Ctx, Host};
use super::table::{Ends, Entry, Key, Kind, Owner, Pending};
use super::trace::TcpState;
use crate::app::ConnectError;
use crate::keyed::Map;
use crate::time::Instant;

/// ARP requests for one address before it is unreachable (Linux's
/// `mcast_solicit`).
pub(crate) const ARP_TRIES: usize = 3;

/// Requests further apart than this (ms) belong to different resolutions
/// (smoltcp repeats one a second while something waits for the address).
pub(crate) const ARP_RUN_MS: usize = 1_500;

/// The pause after a failed resolution doubles up to 1 s << this (128 s,
/// about Linux's longest retransmission timeout, 120 s).
pub(crate) const ARP_PAUSE_SHIFTS: usize = 7;

/// Whether a connect of one of `entries` waits for `ip`.
fn connecting_to(entries: &Map<Key, Entry>, ip: Ipv4Addr) -> bool {
    entries.values().any(|e| {
        matches!(&e.pending, Pending::Connect { addr, fail: None, .. } if addr.ip() == IpAddr::V4(ip))
    })
}

/// SYNs of one attempt: the first and Linux's `tcp_syn_retries` (6)
/// retransmissions.
pub(crate) const SYN_TRIES: u8 = 7;

/// When Linux gives up on a SYN nobody answers, counted from `connect()`
/// (smoltcp starts its timeout at the socket's first attempt to send, as
/// Linux starts its timer when the SYN is queued): 1 + 2 + 4 + 8 + 16 + 32 + 64 s.
pub(crate) const SYN_GIVE_UP: smoltcp::time::Duration = smoltcp::time::Duration::from_secs(127);

/// When Linux gives up retransmitting on an established connection:
/// `tcp_retries2` (15) timeouts from the minimum RTO (200 ms), doubling up to
/// the maximum (120 s): (2^10 - 1) x 0.2 s + 6 x 120 s = 924.6 s.
pub(crate) const RETRIES_GIVE_UP: smoltcp::time::Duration =
    smoltcp::time::Duration::from_millis(924_600);

/// When Linux drops a half-open connection whose SYN-ACK nobody acknowledges:
/// it sends the SYN-ACK at 0 s and `tcp_synack_retries` (5) retransmissions
/// at 1, 3, 7, 15 and 31 s, then waits one more doubled timeout:
/// 1 + 2 + 4 + 8 + 16 + 32 s after the SYN.
pub(crate) const SYNACK_GIVE_UP: Duration = Duration::from_secs(63);

/// When Linux gives up on an orphan whose FIN nobody acknowledges:
/// `tcp_orphan_retries` (8) timeouts from the minimum RTO (200 ms), doubling:
/// (2^9 - 1) x 0.2 s = 102.2 s.
pub(crate) const ORPHAN_GIVE_UP: Duration = Duration::from_millis(102_200);

/// How long Linux keeps an orphan in FIN-WAIT-2 (`tcp_fin_timeout`).
pub(crate) const FIN_WAIT2_GIVE_UP: Duration = Duration::from_secs(60);

/// An orphan's give-up time (see the module doc) after a check saw it go from
/// state `was` to `st` at `now`, `touched` by its close or a segment from its
/// peer; `old` is the time filed before. In FIN-WAIT-1, CLOSING and LAST-ACK
/// each touch restarts it; FIN-WAIT-2's counts from entering the state; the
/// other states have none.
pub(crate) fn orphan_limit(
    (was, st): (TcpState, TcpState),
    touched: bool,
    now: Instant,
    old: Option<Instant>,
) -> Option<Instant> {
    match st {
        TcpState::FinWait1 | TcpState::Closing | TcpState::LastAck if touched => {
            Some(now + ORPHAN_GIVE_UP)
        }
        TcpState::FinWait2 if was != TcpState::FinWait2 => Some(now + FIN_WAIT2_GIVE_UP),
        TcpState::FinWait1 | TcpState::Closing | TcpState::LastAck | TcpState::FinWait2 => old,
        _ => None,
    }
}

/// Set `s`'s give-up timer after a check saw its connection in state `st`:
/// once connected, the connect's [`SYN_GIVE_UP`] is gone, and
/// [`RETRIES_GIVE_UP`] is armed while data waits for an ACK on a connection
/// its app can still send on. (`close()` lifts it.)
pub(crate) fn retry_limit(s: &mut tcp::Socket<'_>, st: TcpState) {
    if !matches!(st, TcpState::Established | TcpState::CloseWait) {
        return;
    }
    let want = (s.send_queue() > 0).then_some(RETRIES_GIVE_UP);
    if s.timeout() != want {
        s.set_timeout(want);
    }
}

/// Whether `s` carries [`retry_limit`]'s timer and is closed.
fn armed_closed(s: &tcp::Socket<'_>) -> bool {
    s.timeout() == Some(RETRIES_GIVE_UP) && s.state() == tcp::State::Closed
}

/// For the check of a connection's socket `s`: whether [`retry_limit`]'s
/// timer ran out and closed it (a socket its peer reset has had the timer
/// lifted by [`Host::after_poll`]). If so, `s` becomes an empty closed
/// socket: no RST, and no ARP request for one, goes out.
pub(crate) fn timed_out(s: &mut tcp::Socket<'_>) -> bool {
    let out = armed_closed(s);
    if out {
        *s = super::sockets::unbuffered();
    }
    out
}

/// ARP's operation code for a request.
const ARP_REQUEST: u16 = 1;

impl Host {
    /// This host's stack is sending a frame: whether it goes out. Not the ARP
    /// request or SYN past Linux's limits: the attempts they were for fail.
    pub(crate) fn kernel_sends(&mut self, now: Instant, d: &Decoded) -> bool {
        if let Some(a) = &d.arp {
            return a.op != ARP_REQUEST || self.arp_request(now, a.target_ip);
        }
        let Some(flags) = d.tcp.as_ref().map(|t| t.flags) else {
            return true;
        };
        let syn = flags.syn && !flags.ack;
        if !syn && !flags.rst {
            return true;
        }
        let Some((_, port, ip, remote)) = d.tcp_tuple() else {
            return true;
        };
        let t = &mut self.table;
        let Some(&Owner::Entry(k)) = t.by_tuple.get(&(port, SocketAddr::from((ip, remote)))) else {
            return true;
        };
        let Some(Entry {
            kind: Kind::Tcp(h, _),
            pending,
            unanswered,
            ..
        }) = t.entries.get_mut(&k)
        else {
            return true;
        };
        // The RST smoltcp sent as `retry_limit`'s timer closed the socket, in
        // the poll before the check found it (`timed_out`).
        if *unanswered {
            return !flags.rst;
        }
        let Pending::Connect { syns, fail, .. } = pending else {
            return true;
        };
        if syn {
            *syns = syns.saturating_add(1);
            return *syns <= SYN_TRIES;
        }
        // smoltcp's timeout closed the attempt. (A RST from SYN-SENT for a
        // SYN-ACK with the wrong ACK leaves the socket in SYN-SENT: it goes out.)
        if self.sockets.tcp_ref(*h).state() != tcp::State::Closed {
            return true;
        }
        if fail.is_none() {
            *fail = Some(ConnectError::Unanswered);
            t.dirty.push(k);
            t.gave_up = true;
        }
        false
    }

    /// One more ARP request for `ip`: whether it goes out.
    fn arp_request(&mut self, now: Instant, ip: Ipv4Addr) -> bool {
        let t = &mut self.table;
        // Packed as `Table::arp_tries` says; ms saturate at 2^29 (6 days of
        // virtual time), after which an address's requests all count as one
        // resolution until it answers.
        let ms = usize::try_from(now.as_millis())
            .unwrap_or(usize::MAX)
            .min(1 << 29);
        // After a failed resolution, the next waits out its pause (see
        // `Table::arp_failed`), unless a connect wants the address: its SYN
        // is a new packet, for which Linux starts a new resolution at once.
        let failed = t.arp_failed.get(&ip).copied();
        if failed.is_some_and(|f| ms < f >> 3) && !connecting_to(&t.entries, ip) {
            return false;
        }
        let tries = match t.arp_tries.get(&ip) {
            Some(&w) if ms < (w >> 2) + ARP_RUN_MS => (w & 3) + 1,
            _ => 1,
        };
        if tries <= ARP_TRIES {
            t.arp_tries.insert(ip, ms << 2 | tries);
            return true;
        }
        t.arp_tries.remove(&ip);
        // The pause before the next resolution: 1 s, doubling with each
        // failure in a row, up to 128 s.
        let shift = failed.map_or(0, |f| ((f & 7) + 1).min(ARP_PAUSE_SHIFTS));
        let until = (ms + (1000 << shift)).min(1 << 29);
        t.arp_failed.insert(ip, until << 3 | shift);
        let dirty = &mut t.dirty;
        let mut unreachable = false;
        t.entries.retain(|k, e| {
            if let Pending::Connect { addr, fail, .. } = &mut e.pending
                && fail.is_none()
                && addr.ip() == IpAddr::V4(ip)
            {
                *fail = Some(ConnectError::Unreachable);
                dirty.push(*k);
                unreachable = true;
            }
            true
        });
        t.gave_up |= unreachable;
        false
    }

    /// After smoltcp polled socket set `k`, what a socket of it that
    /// [`retry_limit`] armed and that is now closed means. After an ingress
    /// (`polled_out` false), its peer's RST closed it: the timer is lifted and
    /// the check reports a reset. After a poll (`polled_out`), its timer ran
    /// out (see the module doc): every connection is marked for the check that
    /// follows the poll, where [`timed_out`] finds it. (Once per connection,
    /// after 15 minutes: no index is kept for it.)
    #[inline(never)]
    pub(crate) fn after_poll(&mut self, k: usize, polled_out: bool) {
        let Some(set) = self.sockets.sets.get_mut(k) else {
            return;
        };
        for (_, s) in set.iter_mut() {
            let Some(s) = tcp::Socket::downcast_mut(s) else {
                continue;
            };
            if !armed_closed(s) {
                continue;
            }
            if polled_out {
                let t = &mut self.table;
                t.dirty.extend(t.entries.keys().copied());
                return;
            }
            s.set_timeout(None);
        }
    }

    /// Drop the handshakes whose time is up (see the module doc): each pool
    /// socket still in SYN-RECEIVED goes back to LISTEN without a word, and
    /// its slot of the backlog is free again.
    #[inline(never)]
    pub(crate) fn drop_handshakes(&mut self, ctx: &mut Ctx<'_>) {
        let now = ctx.now;
        let fallback = SocketAddr::new(IpAddr::V4(self.ip), 0);
        let t = &mut self.table;
        while let Some(&(at, key, slot)) = t.handshakes.front() {
            if at > now {
                break;
            }
            t.handshakes.pop_front();
            let Some(Entry {
                kind: Kind::Listener { port, pool },
                ..
            }) = t.entries.get_mut(&key)
            else {
                continue;
            };
            // Not if it completed, was reset, or took another SYN since.
            let Some(&(h, TcpState::SynReceived)) = pool.slots().get(slot) else {
                continue;
            };
            let s = self.sockets.tcp(h);
            if pool.handshake_drop_at(slot) != Some(at) || s.state() != tcp::State::SynReceived {
                continue;
            }
            let ends = Ends::default().update(s);
            // No poll between the two: the RST `abort` stands for never leaves.
            s.abort();
            pool.relisten(slot, s, *port);
            state_record(
                ctx,
                &self.label,
                ends,
                fallback,
                TcpState::SynReceived,
                TcpState::Listen,
            );
        }
    }

    /// An ARP frame from `ip` reached this host: the address answers, and the
    /// sockets waiting for it may go on, in any set. Only if this host had
    /// asked for it: every ARP request smoltcp makes for a socket that waits
    /// for an address leaves the address in `arp_tries` or `arp_failed`
    /// ([`Host::kernel_sends`]), so if it is in neither, no socket waits for it
    /// (and a server hearing from a thousand new clients does not poll all its
    /// sets a thousand times).
    pub(crate) fn heard_arp_from(&mut self, ip: Ipv4Addr) {
        let asked = self.table.arp_tries.remove(&ip).is_some();
        if self.table.arp_failed.remove(&ip).is_some() || asked {
            self.sockets.touch_all();
        }
    }
}
