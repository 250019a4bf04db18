//! `quic-stream`: the baseline of issue 17's throughput goal, one QUIC stream's throughput on
//! loopback.
//!
//! It opens two quinn endpoints on 127.0.0.1 in one process, a server and a client, with the
//! QUIC and TLS configuration a herald node uses (`herald_node::tls::configs`: mutual TLS 1.3
//! with Ed25519 node certificates, the ring provider, and the node's `quinn::TransportConfig`,
//! whose flow-control windows and congestion controller are quinn's defaults). The client
//! opens one unidirectional stream and writes `--bytes` bytes on it in `--write-kib` pieces
//! (64 KiB by default, the most a node's writer gathers into one write); the server reads the
//! stream to its end. The time runs from the stream's first write to the moment the server
//! has read the last byte. It prints one JSON object: `{bytes, seconds, mib_per_s}`.
//!
//! `bench/group-throughput.py` runs it before and after its flood, so that the flood's
//! throughput is quoted as a ratio to this figure measured on the same machine at the same time.
//!
//! Usage: `cargo build --release -p herald-bench && target/release/quic-stream --bytes 1073741824`.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Parser;
use herald_bench::exit_code;
use herald_core::Keypair;
use herald_node::policy::AcceptAnyPeer;
use herald_node::tls;

/// How long the whole transfer may take before the run is abandoned.
const TRANSFER_TIMEOUT: Duration = Duration::from_secs(600);

/// Measures one QUIC stream's throughput on loopback.
#[derive(Parser, Debug)]
struct Args {
    /// Bytes to send on the stream.
    #[arg(long, default_value_t = 1 << 30)]
    bytes: u64,
    /// Size of each write, in KiB.
    #[arg(long, default_value_t = 64)]
    write_kib: usize,
}

fn main() -> std::process::ExitCode {
    exit_code("quic-stream", run(Args::parse()))
}

fn run(args: Args) -> Result<()> {
    if args.bytes == 0 || args.write_kib == 0 {
        bail!("--bytes and --write-kib must be above 0");
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let seconds = runtime.block_on(async {
        tokio::time::timeout(TRANSFER_TIMEOUT, transfer(args.bytes, args.write_kib * 1024))
            .await
            .context("the transfer did not finish in time")?
    })?;
    let mib_per_s = args.bytes as f64 / (1024.0 * 1024.0) / seconds;
    let figures =
        serde_json::json!({ "bytes": args.bytes, "seconds": seconds, "mib_per_s": mib_per_s });
    println!("{figures}");
    Ok(())
}

/// Sends `bytes` from a client endpoint to a server endpoint on one stream, in writes of
/// `write_len`; returns the seconds from the first write to the last byte read.
async fn transfer(bytes: u64, write_len: usize) -> Result<f64> {
    let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let server_key = Keypair::from_secret([1; 32]);
    let client_key = Keypair::from_secret([2; 32]);
    let (server_config, _) = tls::configs(&server_key, None, Arc::new(AcceptAnyPeer))?;
    let (_, client_config) = tls::configs(&client_key, None, Arc::new(AcceptAnyPeer))?;
    let server = quinn::Endpoint::server(server_config, loopback).context("binding the server")?;
    let mut client = quinn::Endpoint::client(loopback).context("binding the client")?;
    client.set_default_client_config(client_config);
    let server_addr = server.local_addr()?;

    let receiver = tokio::spawn(async move {
        let incoming = server.accept().await.context("the server endpoint closed")?;
        let connection = incoming.await.context("accepting the connection")?;
        let mut stream = connection.accept_uni().await.context("accepting the stream")?;
        let mut read = 0u64;
        while let Some(chunk) =
            stream.read_chunk(usize::MAX, true).await.context("reading the stream")?
        {
            read += chunk.bytes.len() as u64;
        }
        let done = Instant::now();
        connection.close(0u32.into(), b"done");
        anyhow::Ok((read, done))
    });

    let connection = client
        .connect(server_addr, &tls::server_name(&server_key.id()))?
        .await
        .context("connecting to the server")?;
    let mut stream = connection.open_uni().await.context("opening the stream")?;
    let buffer = vec![0x5a_u8; write_len];
    let started = Instant::now();
    let mut left = bytes;
    while left > 0 {
        let piece = left.min(write_len as u64) as usize;
        stream.write_all(&buffer[..piece]).await.context("writing the stream")?;
        left -= piece as u64;
    }
    stream.finish().context("finishing the stream")?;
    let (read, done) = receiver.await.context("the server task failed")??;
    if read != bytes {
        bail!("the server read {read} bytes of {bytes}");
    }
    client.wait_idle().await;
    Ok(done.duration_since(started).as_secs_f64())
}
