//! How `herald sim` prints its figures as text: one run's report, or the table that compares
//! the algorithms of `--compare`. The JSON form is the report's own serialisation.

use std::io::Write;

use herald_sim::Report;

use crate::commands::sim::Run;

/// The one-line-per-algorithm table of `--compare`.
pub(super) fn print_comparison(out: &mut impl Write, runs: &[Run]) -> std::io::Result<()> {
    let first = &runs[0].report;
    writeln!(
        out,
        "herald sim --compare: {} nodes, seed {}, {} broadcasts to {} live nodes, over a {}",
        first.nodes, first.seed, first.broadcasts, first.alive_at_end, first.overlay
    )?;
    writeln!(
        out,
        "  {:<18} {:>9} {:>9} {:>9} {:>7} {:>9} {:>10} {:>9}",
        "algorithm", "delivered", "p50 ms", "p99 ms", "RMR", "RMR ann.", "msgs/node", "wall ms"
    )?;
    for run in runs {
        let r = &run.report;
        writeln!(
            out,
            "  {:<18} {:>8.2}% {:>9.1} {:>9.1} {:>7.3} {:>9.3} {:>10.1} {:>9}",
            r.broadcast,
            r.delivered_fraction * 100.0,
            r.latency_ms.p50,
            r.latency_ms.p99,
            r.rmr,
            r.rmr_announcements,
            r.messages_per_node,
            r.wall_ms
        )?;
    }
    Ok(())
}

/// The report of one run, one figure a line.
pub(super) fn print_report(
    out: &mut impl Write,
    report: &Report,
    newcomer: bool,
) -> std::io::Result<()> {
    writeln!(
        out,
        "herald sim: {} nodes, seed {}, {} over a {}",
        report.nodes, report.seed, report.broadcast, report.overlay
    )?;
    writeln!(
        out,
        "  delivered   {:.2}% of {} broadcasts at {} live nodes ({:.2}% by broadcast, the rest by anti-entropy)",
        report.delivered_fraction * 100.0,
        report.broadcasts,
        report.alive_at_end,
        report.delivered_by_broadcast_fraction * 100.0
    )?;
    let l = report.latency_ms;
    writeln!(out, "  latency     p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms", l.p50, l.p99, l.max)?;
    let h = report.hops;
    writeln!(out, "  hops        p50 {}, p99 {}, max {}", h.p50, h.p99, h.max)?;
    let ldh = report.last_delivery_hop;
    writeln!(
        out,
        "  LDH         p50 {}, p99 {}, max {} (per broadcast)",
        ldh.p50, ldh.p99, ldh.max
    )?;
    writeln!(
        out,
        "  redundancy  RMR {:.3} (record copies sent per delivery, minus one; {:.3} of it by anti-entropy; {:.3} after the warm-up; {:.3} of the announcements alone); {} grafts, {} prunes",
        report.rmr,
        report.rmr_repair,
        report.rmr_after_warmup,
        report.rmr_announcements,
        report.grafts,
        report.prunes
    )?;
    writeln!(
        out,
        "  overlay     {} piece(s) among the live nodes at the end; {} outside the largest, {} with no live neighbour",
        report.overlay_components, report.overlay_outside_largest, report.overlay_isolated
    )?;
    match (report.membership, report.membership_converged_ms) {
        (false, _) => writeln!(out, "  membership  off"),
        (true, Some(ms)) => writeln!(
            out,
            "  membership  every live node's view correct {ms} ms after the faults healed; {} false suspicions",
            report.false_suspicions
        ),
        (true, None) => writeln!(
            out,
            "  membership  views had not converged when the run ended; {} false suspicions",
            report.false_suspicions
        ),
    }?;
    if let Some(routing) = &report.routing {
        let converged = routing.converged_ms.map_or_else(
            || "never all right".to_owned(),
            |ms| format!("all right {ms} ms after the faults healed"),
        );
        writeln!(
            out,
            "  routing     tables {converged}; at the end (checked {} ms later, once advertisements agreed) {:.2}% of pairs routed, {} loops, {} broken walks, hops p50 {} max {}; {:.1} advertisements and {:.0} B of them sent per node, {:.1} B per node per s after the warm-up",
            routing.checked_after_end_ms,
            routing.check.complete_fraction * 100.0,
            routing.check.loops,
            routing.check.broken,
            routing.check.hops.p50,
            routing.check.hops.max,
            routing.advertisements_per_node,
            routing.link_state_bytes_per_node,
            routing.link_state_bytes_per_node_per_s
        )?;
    }
    match (newcomer, report.newcomer_caught_up_ms) {
        (false, _) => {}
        (true, Some(ms)) => {
            writeln!(out, "  newcomer    held every announcement {ms} ms after it joined")?
        }
        (true, None) => writeln!(out, "  newcomer    had not caught up when the run ended")?,
    }
    writeln!(
        out,
        "  traffic     {:.1} messages and {:.1} KB sent per node",
        report.messages_per_node,
        report.bytes_per_node / 1000.0
    )?;
    writeln!(
        out,
        "  simulated   {} ms of virtual time in {} steps; {} of {} signature checks memoised",
        report.virtual_ms,
        report.steps,
        report.verify_memo_hits,
        report.verify_memo_hits + report.verify_memo_misses
    )?;
    writeln!(out, "  trace       {} (the same seed gives the same hash)", report.trace_hash)?;
    writeln!(out, "  wall        {} ms", report.wall_ms)?;
    Ok(())
}
