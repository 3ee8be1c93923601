//! `Builder::app_fn`: apps of your own run on the hosts they were added to,
//! after the host's built-in apps, in the order they were added.

use sockbox_core::app::{App, Event, Io};
use sockbox_core::sim::{Builder, Scenario};
use sockbox_core::time::Instant;

/// Prints its word when it starts, then exits.
struct Say(&'static str);

impl App for Say {
    fn handle(&mut self, _now: Instant, event: Event, io: &mut Io) {
        if let Event::Start = event {
            io.print(self.0);
            io.exit(0);
        }
    }
}

#[test]
fn custom_apps_run_on_their_hosts_in_order() {
    let scenario = Scenario::builtin("hello").unwrap();
    let mut sim = Builder::from_scenario(scenario)
        .app_fn("client", || Say("first"))
        .app_fn("server", || Say("on the server"))
        .app_fn("client", || Say("second"))
        .build()
        .unwrap();
    sim.run_until_idle();
    let client = sim.console("client");
    let first = client.iter().position(|l| l == "first").unwrap();
    let second = client.iter().position(|l| l == "second").unwrap();
    assert!(first < second, "{client:?}");
    assert!(!client.iter().any(|l| l == "on the server"), "{client:?}");
    assert!(sim.console("server").iter().any(|l| l == "on the server"));
}

#[test]
fn a_custom_app_on_an_unknown_host_is_an_error() {
    let scenario = Scenario::builtin("hello").unwrap();
    let err = Builder::from_scenario(scenario)
        .app_fn("nobody", || Say("x"))
        .build()
        .err()
        .unwrap();
    assert!(err.to_string().contains("nobody"), "{err}");
}
