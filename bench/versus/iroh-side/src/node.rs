//! One iroh-gossip node on loopback: its own iroh endpoint bound to 127.0.0.1, its own gossip
//! actor, and a router that hands it incoming gossip connections; and the clean shutdown of a
//! set of such nodes. Nothing here may reach beyond loopback: no relays, no DNS or pkarr
//! address lookup, no port mapping, no net-report probes. Peers are found only through a
//! [`MemoryLookup`] holding every node's direct loopback address.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use iroh::{
    Endpoint, EndpointAddr, EndpointId, NetReportConfig, RelayMode,
    address_lookup::memory::MemoryLookup,
    endpoint::{PortmapperConfig, presets},
    protocol::Router,
};
use iroh_gossip::{ALPN, Gossip};

/// How long one node may take to shut down before it counts as a failure.
const SHUTDOWN_LIMIT: Duration = Duration::from_secs(10);

/// A running node.
pub(crate) struct Node {
    /// Accepts incoming connections and routes gossip's ALPN to `gossip`; owns the endpoint.
    pub router: Router,
    /// The node's gossip actor.
    pub gossip: Gossip,
    /// The node's identity, as peers dial it.
    pub id: EndpointId,
}

impl Node {
    /// Binds an endpoint on 127.0.0.1 (port chosen by the system) that resolves peers through
    /// `lookup` only, and starts gossip on it with iroh-gossip's default configuration.
    pub async fn start(lookup: &MemoryLookup) -> Result<Node> {
        // `presets::Minimal` sets only the crypto provider (iroh-1.4.1 src/endpoint/presets.rs);
        // unlike `presets::N0` it adds no pkarr/DNS address lookup and no n0 relays. The rest
        // is said explicitly so that no default can reach the network:
        // - `RelayMode::Disabled`: no relay transport (src/endpoint.rs, `Builder::relay_mode`);
        // - `clear_address_lookup` then our `MemoryLookup` only (src/address_lookup/memory.rs);
        // - `clear_ip_transports` then `bind_addr("127.0.0.1:0")`: only a loopback IPv4 socket
        //   rather than the default 0.0.0.0 and [::] sockets (`Builder::bind_addr`);
        // - `PortmapperConfig::Disabled`: no UPnP/PCP/NAT-PMP gateway probing (src/portmapper.rs);
        // - `NetReportConfig::minimal()`: no HTTPS probes or captive-portal check (src/net_report.rs).
        let endpoint = Endpoint::builder(presets::Minimal)
            .relay_mode(RelayMode::Disabled)
            .clear_address_lookup()
            .address_lookup(lookup.clone())
            .clear_ip_transports()
            .bind_addr("127.0.0.1:0")
            .map_err(|error| anyhow!("choosing the loopback address to bind: {error}"))?
            .portmapper_config(PortmapperConfig::Disabled)
            .net_report_config(NetReportConfig::minimal())
            .bind()
            .await
            .context("binding an iroh endpoint on 127.0.0.1")?;
        let id = endpoint.id();
        let sockets = endpoint.bound_sockets();
        if sockets.is_empty() {
            endpoint.close().await;
            bail!("the endpoint {} bound no socket", id.fmt_short());
        }
        let addr = sockets.into_iter().fold(EndpointAddr::new(id), EndpointAddr::with_ip_addr);
        lookup.add_endpoint_info(addr);

        // iroh-gossip's default configuration: `Gossip::builder()` starts from
        // `proto::Config::default()` (iroh-gossip-0.101.0 src/net.rs, `Gossip::builder`), that is
        // HyParView's defaults (active view 5, passive view 30, shuffle every 60 s;
        // src/proto/hyparview.rs, `impl Default for Config`), PlumTree's defaults (graft
        // timeouts 80 ms and 40 ms, IHave dispatch every 5 ms; src/proto/plumtree.rs,
        // `impl Default for Config`) and a maximum message size of 4096 bytes
        // (src/proto.rs, `DEFAULT_MAX_MESSAGE_SIZE`). The router registers gossip's ALPN on the
        // endpoint and hands it incoming connections, as iroh-gossip's README sets it up.
        let gossip = Gossip::builder().spawn(endpoint.clone());
        let router = Router::builder(endpoint).accept(ALPN, gossip.clone()).spawn();
        Ok(Node { router, gossip, id })
    }
}

/// Shuts every node down at once: each router shuts gossip down (which leaves its topics and
/// tells its neighbors) and then closes the endpoint. Reports the first failure, after every
/// node was given its chance.
pub(crate) async fn shutdown_all(nodes: Vec<Node>) -> Result<()> {
    let shutdowns: Vec<_> = nodes
        .into_iter()
        .map(|node| {
            tokio::spawn(async move {
                let id = node.id;
                let closed = tokio::time::timeout(SHUTDOWN_LIMIT, node.router.shutdown()).await;
                match closed {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(error)) => {
                        Err(anyhow!("shutting down node {}: {error}", id.fmt_short()))
                    }
                    Err(_) => Err(anyhow!(
                        "node {} did not shut down within {SHUTDOWN_LIMIT:?}",
                        id.fmt_short()
                    )),
                }
            })
        })
        .collect();
    let mut first_error = None;
    for shutdown in shutdowns {
        let result = shutdown.await.context("a shutdown task failed").and_then(|done| done);
        if let Err(error) = result {
            first_error.get_or_insert(error);
        }
    }
    first_error.map_or(Ok(()), Err)
}
