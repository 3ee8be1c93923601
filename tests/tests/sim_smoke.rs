use sockbox_core::app::{AppSpec, Role};
use sockbox_core::sim::Builder;

#[test]
fn hello_prints_trace() {
    let client = AppSpec {
        role: Role::Client,
        server: Some("10.0.0.1:12345".parse().unwrap()),
        ..AppSpec::default()
    };
    let mut sim = Builder::new()
        .host("server", [10, 0, 0, 1])
        .app("server", AppSpec::default())
        .host("client", [10, 0, 0, 2])
        .app("client", client)
        .build()
        .unwrap();
    sim.run_until_idle();
    print!("{}", sim.trace_text());
    println!("{:?}", sim.now());
    assert!(
        sim.console("client")
            .iter()
            .any(|l| l.contains("Thank you"))
    );
}

#[test]
fn builtins_print() {
    use sockbox_core::sim::{Scenario, Sim};
    for (name, _) in Scenario::builtins() {
        let sc = Scenario::builtin(name).unwrap();
        let mut sim = Sim::new(&sc).unwrap();
        sim.run_until_idle();
        println!("=== {name} at {}", sim.now());
        for h in sim.hosts() {
            for l in &h.console {
                println!("{} | {l}", h.name);
            }
            println!("{} exit {:?}", h.name, h.exit_codes);
        }
    }
}

#[test]
fn dump_one() {
    use sockbox_core::sim::{Scenario, Sim};
    let name = std::env::var("SC").unwrap_or("hello".into());
    let sc = Scenario::builtin(&name).unwrap();
    let mut sim = Sim::new(&sc).unwrap();
    sim.run_until_idle();
    print!("{}", sim.trace_text());
    for h in sim.hosts() {
        println!("{h:?}");
    }
}
