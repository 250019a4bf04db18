//! herald: the command-line binary. Parses arguments, calls the library crates, prints results.
//!
//! Errors are printed as one sentence (the anyhow chain joined by `: `) and mapped to exit
//! status 1; usage errors exit 2 (clap's convention), those clap finds and the bad values the
//! commands find after it ([`commands::usage`]). `main` never returns an anyhow error, so
//! `RUST_BACKTRACE=1` does not turn an error into a backtrace.

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

mod commands;
mod plot;
mod progress;

/// herald: signed service announcements, gossip and flooding for a grid with no central
/// introducer.
#[derive(Parser, Debug)]
#[command(name = "herald", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a node in the foreground until SIGINT or SIGTERM.
    Run(commands::run::RunArgs),
    /// Grid administration: `grid create`.
    Grid(commands::grid::GridArgs),
    /// Configuration files: `config check FILE`.
    Config(commands::config::ConfigArgs),
    /// Check the data directory, keys, ports, stored contacts and clock, each problem with what
    /// to do about it.
    Doctor(commands::doctor::DoctorArgs),
    /// Ask the running node for an invitation code.
    Invite(commands::client::InviteArgs),
    /// Join a grid with an invitation code.
    Join(commands::join::JoinArgs),
    /// This node's id, name, role, grid, addresses, uptime and counts.
    Status(commands::client::StatusArgs),
    /// Every node this node knows, with its state.
    Members(commands::client::MembersArgs),
    /// Announce (or replace) a service.
    Announce(commands::client::AnnounceArgs),
    /// Withdraw this node's announcement of a service.
    Withdraw(commands::client::WithdrawArgs),
    /// The announcements this node holds.
    Services(commands::client::ServicesArgs),
    /// Recommend a node for something in this node's grid-control announcement.
    Recommend(commands::client::RecommendArgs),
    /// Withdraw one of this node's recommendations.
    Unrecommend(commands::client::UnrecommendArgs),
    /// The nodes reachable from this one over recommendations of one kind.
    Reachable(commands::client::ReachableArgs),
    /// This node's grid-manager list: create, add, remove, show.
    Manager(commands::client::ManagerArgs),
    /// Follow a grid manager's list of servers (or list those followed).
    Follow(commands::client::FollowArgs),
    /// The node's counters.
    Stats(commands::client::StatsArgs),
    /// The node's overlay: active and passive views, broadcast-tree links, anti-entropy partners.
    Overlay(commands::client::OverlayArgs),
    /// The link-state routing table: destination, next hop, cost, path.
    Routes(commands::client::RoutesArgs),
    /// Ping a node across the mesh; prints the path and the round trip.
    Ping(commands::client::PingArgs),
    /// The known servers by measured round trip, nearest first, with their latency groups.
    Nearest(commands::client::NearestArgs),
    /// The groups this node knows: sites, membership, messages held.
    Groups(commands::client::GroupsArgs),
    /// One group: its parameters, and its member sites with their state.
    Group(commands::client::GroupArgs),
    /// Flood a file's bytes (or standard input) to a group; prints the id once stored.
    Publish(commands::client::PublishArgs),
    /// Print a group's messages as they arrive; --from-start prints those held first.
    Subscribe(commands::client::SubscribeArgs),
    /// A group's overlay: its edges with their cost, as text, JSON or Graphviz dot.
    Topology(commands::client::TopologyArgs),
    /// Start N real nodes on loopback, join them by invitation and measure the grid.
    Demo(commands::demo::DemoArgs),
    /// Run the deterministic simulator of the protocol: N nodes in one process.
    Sim(commands::sim::SimArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish or powershell).
    #[command(after_help = "\
Examples:
  herald completions bash > /etc/bash_completion.d/herald
  herald completions zsh > \"${fpath[1]}/_herald\"")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    use commands::client;
    let done = |result: anyhow::Result<()>| result.map(|()| ExitCode::SUCCESS);
    let result = match cli.command {
        Command::Run(args) => commands::run::run(args),
        Command::Grid(args) => commands::grid::run(args),
        Command::Config(args) => done(commands::config::run(args)),
        Command::Doctor(args) => commands::doctor::run(args),
        Command::Invite(args) => done(client::invite(args)),
        Command::Join(args) => commands::join::run(args),
        Command::Status(args) => done(client::status(args)),
        Command::Members(args) => done(client::members(args)),
        Command::Announce(args) => done(client::announce(args)),
        Command::Withdraw(args) => done(client::withdraw(args)),
        Command::Services(args) => done(client::services(args)),
        Command::Recommend(args) => done(client::recommend(args)),
        Command::Unrecommend(args) => done(client::unrecommend(args)),
        Command::Reachable(args) => done(client::reachable(args)),
        Command::Manager(args) => done(client::manager(args)),
        Command::Follow(args) => done(client::follow(args)),
        Command::Stats(args) => done(client::stats(args)),
        Command::Overlay(args) => done(client::overlay(args)),
        Command::Routes(args) => done(client::routes(args)),
        Command::Ping(args) => done(client::ping(args)),
        Command::Nearest(args) => done(client::nearest(args)),
        Command::Groups(args) => done(client::groups(args)),
        Command::Group(args) => done(client::group(args)),
        Command::Publish(args) => done(client::publish(args)),
        Command::Subscribe(args) => done(client::subscribe(args)),
        Command::Topology(args) => done(client::topology(args)),
        Command::Demo(args) => commands::demo::run(args),
        Command::Sim(args) => commands::sim::run(args),
        Command::Completions { shell } => done(completions(shell)),
    };
    match result {
        Ok(code) => code,
        // A reader that went away (`herald sim | head`) is not an error worth a message.
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) if commands::usage::is_usage(&error) => {
            eprintln!("herald: {error:#}");
            ExitCode::from(2)
        }
        Err(error) => {
            eprintln!("herald: {error:#}");
            ExitCode::from(1)
        }
    }
}

/// `herald completions SHELL`: the completion script of every command and flag, on stdout.
fn completions(shell: clap_complete::Shell) -> anyhow::Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "herald", &mut script);
    std::io::Write::write_all(&mut std::io::stdout().lock(), &script)?;
    Ok(())
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
