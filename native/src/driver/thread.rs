//! A built-in server on its own thread, for benchmarks and tests:
//! [`ServerThread::spawn`] builds the app from an [`AppSpec`] on a listener the
//! caller bound (so the port is known before anything runs) and runs a [`Driver`]
//! until stopped. Dropping the handle stops the driver and joins the thread.
//!
//! The driver is made on the new thread (apps are not `Send`); only the
//! [`StopHandle`] comes back. Console lines are counted, not printed, so a
//! benchmark measures sockets rather than stdout.

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;

use sockbox_core::app::{AppSpec, build};

use super::{Driver, Host, StopHandle};

/// A server running on its own thread.
pub struct ServerThread {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: StopHandle,
    lines: Arc<AtomicU64>,
    join: Option<JoinHandle<io::Result<()>>>,
}

impl ServerThread {
    /// Run the server `spec` names on `listener` (its `port` is ignored).
    pub fn spawn(spec: AppSpec, listener: TcpListener) -> io::Result<ServerThread> {
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let lines = Arc::new(AtomicU64::new(0));
        let counter = lines.clone();
        let (tx, rx) = mpsc::channel();
        let join = std::thread::Builder::new()
            .name(format!("sockbox-server-{}", addr.port()))
            .spawn(move || {
                let started = Driver::new().and_then(|mut driver| {
                    let app = build(&spec)
                        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
                    driver.set_console(Box::new(move |_, _, _| {
                        counter.fetch_add(1, Ordering::Relaxed);
                    }));
                    let host = Host::new(addr.ip()).with_listener(spec.port, listener);
                    let id = driver.add_app(app, host);
                    Ok((driver, id))
                });
                let (mut driver, id) = match started {
                    Ok(ok) => ok,
                    Err(e) => {
                        let _ = tx.send(Err(io::Error::new(e.kind(), e.to_string())));
                        return Err(e);
                    }
                };
                let _ = tx.send(Ok(driver.stop_handle()));
                driver.run(None, |d| d.exit_code(id).is_some()).map(|_| ())
            })?;
        let stop = rx
            .recv()
            .map_err(|_| io::Error::other("server thread ended before starting"))??;
        Ok(ServerThread {
            addr,
            stop,
            lines,
            join: Some(join),
        })
    }

    /// Console lines the server has printed so far.
    pub fn console_lines(&self) -> u64 {
        self.lines.load(Ordering::Relaxed)
    }

    /// Stop the driver and wait for the thread.
    pub fn stop(mut self) -> io::Result<()> {
        self.finish()
    }

    fn finish(&mut self) -> io::Result<()> {
        self.stop.stop();
        match self.join.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other("server thread panicked")),
            None => Ok(()),
        }
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        let _ = self.finish();
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use sockbox_core::app::AppKind;

    #[test]
    fn greet_server_on_a_thread_serves_and_stops() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let spec = AppSpec {
            app: AppKind::Greet,
            backlog: 128,
            ..AppSpec::default()
        };
        let server = ServerThread::spawn(spec, listener).unwrap();
        for _ in 0..20 {
            let mut s = std::net::TcpStream::connect(server.addr).unwrap();
            let mut got = String::new();
            s.read_to_string(&mut got).unwrap();
            assert_eq!(got, "Thank you for connecting");
        }
        // "Server listening" and one "Got connection" per client.
        assert!(server.console_lines() >= 21);
        server.stop().unwrap();
    }

    #[test]
    fn a_bad_spec_is_an_error_not_a_thread_left_running() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let spec = AppSpec {
            app: AppKind::Raw,
            ..AppSpec::default()
        };
        assert!(ServerThread::spawn(spec, listener).is_err());
    }
}
