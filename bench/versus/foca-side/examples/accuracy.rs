//! Runs foca's accuracy workload once and prints what it saw.
//!
//! `cargo run --release -p versus-foca --example accuracy -- [members loss virtual_s kills seed]`
//! (defaults: the run, 1000 0.2 3600 10 1). A sixth argument, `no-notify-down`, turns
//! off foca's `notify_down_members` (an experiment on foca, not the comparison's configuration).

use versus_common::AccuracyParams;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |index: usize, default: &str| args.get(index).cloned().unwrap_or(default.to_owned());
    let params = AccuracyParams {
        members: arg(0, "1000").parse()?,
        loss: arg(1, "0.2").parse()?,
        virtual_s: arg(2, "3600").parse()?,
        kills: arg(3, "10").parse()?,
        seed: arg(4, "1").parse()?,
    };
    let quiet = match arg(5, "").as_str() {
        "" => false,
        "no-notify-down" => true,
        other => anyhow::bail!("unknown option {other}"),
    };
    let started = std::time::Instant::now();
    let details = versus_foca::accuracy_details_with(&params, |mut config| {
        if quiet {
            config.notify_down_members = false;
        }
        config
    })?;
    let wall = started.elapsed().as_secs_f64();
    println!("params: {params:?}{}", if quiet { ", notify_down_members off" } else { "" });
    println!("outcome: {:?}", details.outcome);
    println!(
        "{} stale deaths, {} resurrections, {} rejoins, {} never joined; datagrams {} ({:.1} B \
         each), {:.2} per member per s after the warm-up; {} events, foca errors {:?}, trace \
         {:016x}",
        details.stale_deaths,
        details.resurrections,
        details.rejoins,
        details.never_joined,
        details.datagrams,
        details.bytes as f64 / details.datagrams.max(1) as f64,
        details.outcome.messages_per_member_s,
        details.events,
        details.foca_errors,
        details.trace,
    );
    println!("wall time: {wall:.1} s");
    Ok(())
}
