//! What the line protocol's server asks of the node: [`FlooddService`], with boxed futures so
//! that it can be used as `Arc<dyn FlooddService>` without a macro crate.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A future that a [`FlooddService`] method returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The node as the line protocol sees it. Each method answers one command; none may block the
/// caller's thread. Lines returned are sent one a reply line, as they are.
pub trait FlooddService: Send + Sync {
    /// The groups this node knows, one name each.
    fn groups(&self) -> BoxFuture<'_, Vec<String>>;

    /// The members of `group`, one a line; `None` when there is no such group.
    fn members(&self, group: String) -> BoxFuture<'_, Option<Vec<String>>>;

    /// Floods `body` to `group`, or to this node's only group when `group` is `None`. Returns
    /// the message's id once it is stored.
    fn publish(
        &self,
        group: Option<String>,
        body: Vec<u8>,
    ) -> BoxFuture<'_, Result<String, PublishError>>;

    /// The node's counters, one a line, such as `messages_flooded 12`.
    fn statistics(&self) -> BoxFuture<'_, Vec<String>>;

    /// The edges of `group`'s topology with their costs, one a line; `None` when there is no
    /// such group.
    fn topology(&self, group: String) -> BoxFuture<'_, Option<Vec<String>>>;

    /// The nearest node whose round-trip time is known, if any.
    fn nearest(&self) -> BoxFuture<'_, Option<Nearest>>;

    /// Asks the daemon to stop. The server has already answered the client when it calls this.
    fn exit(&self) -> BoxFuture<'_, ()>;
}

/// The answer to `nearest`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nearest {
    /// The node's id.
    pub node: String,
    /// Its measured round-trip time.
    pub rtt: Duration,
}

/// Why a message was not flooded. The display is the reply's text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PublishError {
    /// The group named does not exist.
    #[error("no group is named `{0}`")]
    NoSuchGroup(String),
    /// No group was named and this node is in none.
    #[error("this node is in no group")]
    NoGroup,
    /// No group was named and this node is in several.
    #[error("this node is in several groups ({}); name one", groups.join(", "))]
    Ambiguous {
        /// The groups it is in.
        groups: Vec<String>,
    },
    /// The node cannot take the message now (a full queue or store); the client may retry.
    #[error("the node is busy; try again later")]
    Busy,
    /// The message is larger than the node floods.
    #[error("the message is above the {limit}-byte limit")]
    TooLarge {
        /// The largest body the node floods, in bytes.
        limit: usize,
    },
}
