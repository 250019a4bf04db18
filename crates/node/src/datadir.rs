//! The data directory: where a node keeps its key, its grid membership and its store.
//!
//! Layout (interface.md, "Data directory"):
//! - `node.key`: the node's Ed25519 seed, mode 0600. Made on first use.
//! - `grid-root.key`: the grid root key, mode 0600, only on the node that created the grid.
//! - `grid-manager.key`: a grid manager's Ed25519 seed, mode 0600, only once `herald manager
//!   create` made it.
//! - `store/`: the redb store (records, issued sequence numbers, and meta values: the grid id,
//!   the membership certificate chain, contacts, name, role, epoch, followed managers). Its lock file keeps a second
//!   process out.
//! - `api.token`: the bearer token for a non-loopback API, mode 0600.
//! - `api.addr`, `listen.addr`: the addresses a running node chose, for the CLI to find it.
//!
//! Nothing is written outside the directory.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use herald_core::admission::CertChain;
use herald_core::{Keypair, NodeId, Role, Version};
use herald_store::{RedbStore, Store};
use serde::{Deserialize, Serialize};

const NODE_KEY_FILE: &str = "node.key";
const ROOT_KEY_FILE: &str = "grid-root.key";
const MANAGER_KEY_FILE: &str = "grid-manager.key";
const STORE_DIR: &str = "store";
/// The file holding the API's bearer token.
pub const API_TOKEN_FILE: &str = "api.token";
/// The file where a running node records its API address.
pub const API_ADDR_FILE: &str = "api.addr";

/// The file that records the floodd client interface's address.
pub const CLIENT_ADDR_FILE: &str = "client.addr";
/// The file where a running node records its peer (QUIC) address.
pub const LISTEN_ADDR_FILE: &str = "listen.addr";

const META_GRID: &str = "grid";
const META_EXPORT_CURSORS: &str = "export_cursors";
const META_CHAIN: &str = "membership";
const META_CONTACTS: &str = "contacts";
const META_PROFILE: &str = "profile";
const META_EPOCH: &str = "epoch";
const META_FOLLOWS: &str = "follows";

/// How long a certificate the grid root gives its first server lasts: ten years. Certificates
/// are not renewed yet (see docs/decisions.md).
pub const ROOT_CERT_VALIDITY_MS: u64 = 10 * 365 * 24 * 3600 * 1000;

/// A server to contact at start: its id and addresses.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// The server's node id.
    pub id: NodeId,
    /// Where it was reachable.
    pub addresses: Vec<SocketAddr>,
}

/// What this node calls itself and which role it holds, as stored at join or grid creation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredProfile {
    /// The petname.
    pub name: String,
    /// Server or client.
    pub role: Role,
    /// The address the admitting server saw this node's join come from, if any.
    pub seen_as: Option<std::net::IpAddr>,
}

/// An opened data directory: the node key, and the store, locked for this process.
pub struct DataDir {
    path: PathBuf,
    keypair: Keypair,
    store: RedbStore,
}

impl DataDir {
    /// Opens (creating it if needed) the data directory at `path`, takes its lock, and loads or
    /// makes the node key.
    pub fn open(path: &Path) -> Result<DataDir> {
        fs::create_dir_all(path)
            .with_context(|| format!("creating data directory {}", path.display()))?;
        restrict_permissions(path, 0o700)?;
        let store = RedbStore::open(&path.join(STORE_DIR))?;
        let keypair = load_or_make_key(&path.join(NODE_KEY_FILE))?;
        Ok(DataDir { path: path.to_owned(), keypair, store })
    }

    /// The node key.
    pub fn keypair(&self) -> &Keypair {
        &self.keypair
    }

    /// The store, for reading and for the node's persist operations.
    pub fn store(&mut self) -> &mut RedbStore {
        &mut self.store
    }

    /// The services named by the announcements in the store (not withdrawn ones), any origin.
    pub fn announced_services(&mut self) -> Result<Vec<String>> {
        let snapshot = self.store.load()?;
        Ok(snapshot
            .records
            .into_iter()
            .filter(|record| record.record.kind == herald_core::RecordKind::Announcement)
            .map(|record| record.record.key)
            .collect())
    }

    /// The petname a node gets when none is given: `node-<short id>`.
    pub fn default_name(&self) -> String {
        format!("node-{}", self.keypair.id().short())
    }

    /// The grid this node belongs to, if it joined or created one.
    pub fn grid(&self) -> Result<Option<NodeId>> {
        self.meta(META_GRID)
    }

    /// The membership certificate chain, if any.
    pub fn chain(&self) -> Result<Option<CertChain>> {
        match self.store.get_meta(META_CHAIN)? {
            None => Ok(None),
            Some(bytes) => CertChain::decode(&bytes).map(Some).with_context(|| {
                format!("reading the membership certificate in {}", self.path.display())
            }),
        }
    }

    /// The contacts stored at join and refreshed while running.
    pub fn contacts(&self) -> Result<Vec<Contact>> {
        Ok(self.meta(META_CONTACTS)?.unwrap_or_default())
    }

    /// The stored name and role.
    pub fn profile(&self) -> Result<Option<StoredProfile>> {
        self.meta(META_PROFILE)
    }

    /// The epoch of this store's sequence space: Unix seconds when the store was first used, so
    /// a node whose store was lost starts a newer epoch.
    pub fn epoch(&mut self) -> Result<u64> {
        if let Some(epoch) = self.meta(META_EPOCH)? {
            return Ok(epoch);
        }
        let epoch = unix_ms() / 1000;
        self.put_meta(META_EPOCH, &epoch)?;
        Ok(epoch)
    }

    /// Records membership of `grid` with `chain`, as `profile`, reachable through `contacts`.
    pub fn set_membership(
        &mut self,
        grid: NodeId,
        chain: &CertChain,
        profile: &StoredProfile,
        contacts: &[Contact],
    ) -> Result<()> {
        // The grid goes last: a directory counts as a member only once it holds the grid, so
        // a crash part-way leaves it a non-member that can join again.
        self.store.put_meta(META_CHAIN, &chain.encode())?;
        self.set_profile(profile)?;
        self.set_contacts(contacts)?;
        self.put_meta(META_GRID, &grid)
    }

    /// Replaces the stored name, role and seen address.
    pub fn set_profile(&mut self, profile: &StoredProfile) -> Result<()> {
        self.put_meta(META_PROFILE, profile)
    }

    /// Replaces the stored contacts.
    pub fn set_contacts(&mut self, contacts: &[Contact]) -> Result<()> {
        self.put_meta(META_CONTACTS, &contacts.to_vec())
    }

    /// Makes a new grid with this node as its first server: a root key (kept in
    /// `grid-root.key`, 0600) and a certificate it signs for this node.
    pub fn create_grid(&mut self, name: &str) -> Result<NodeId> {
        if let Some(grid) = self.grid()? {
            bail!("{} already belongs to grid {grid}", self.path.display());
        }
        let root = load_or_make_key(&self.path.join(ROOT_KEY_FILE))?;
        self.become_server_of(&root, name)
    }

    /// Makes this node a server of the grid whose root is `root`, certified by it.
    fn become_server_of(&mut self, root: &Keypair, name: &str) -> Result<NodeId> {
        let chain = CertChain::issue_by_root(
            root,
            self.keypair.id(),
            Role::Server,
            unix_ms().saturating_add(ROOT_CERT_VALIDITY_MS),
        );
        let profile = StoredProfile { name: name.to_owned(), role: Role::Server, seen_as: None };
        self.set_membership(root.id(), &chain, &profile, &[])?;
        Ok(root.id())
    }

    /// Makes this node a server of the grid whose root is `root` (a grid secret's), unless it
    /// already is; a directory of another grid is refused. The root key is not stored: every
    /// holder of the secret derives it.
    pub fn join_secret_grid(&mut self, root: &Keypair, name: &str) -> Result<NodeId> {
        if let Some(grid) = self.grid()? {
            if grid != root.id() {
                bail!(
                    "{} belongs to grid {grid}, not to the grid the grid-secret names ({}); use \
                     another data directory",
                    self.path.display(),
                    root.id()
                );
            }
            return Ok(grid);
        }
        self.become_server_of(root, name)
    }

    /// Up to where each (group, origin) was exported, as last recorded.
    pub fn export_cursors(&self) -> Result<BTreeMap<(String, NodeId), Version>> {
        Ok(self.meta(META_EXPORT_CURSORS)?.unwrap_or_default())
    }

    /// Records, durably, up to where each (group, origin) was exported.
    pub fn set_export_cursors(
        &mut self,
        cursors: &BTreeMap<(String, NodeId), Version>,
    ) -> Result<()> {
        self.put_meta(META_EXPORT_CURSORS, cursors)
    }

    /// The grid-manager key this node keeps, if `herald manager create` made one.
    pub fn manager_key(&self) -> Result<Option<Keypair>> {
        let path = self.path.join(MANAGER_KEY_FILE);
        if !path.exists() {
            return Ok(None);
        }
        load_or_make_key(&path).map(Some)
    }

    /// Makes this node's grid-manager key (`grid-manager.key`, 0600); refused if it has one.
    pub fn create_manager_key(&mut self) -> Result<Keypair> {
        if let Some(key) = self.manager_key()? {
            bail!("this node keeps grid-manager key {} already", key.id());
        }
        load_or_make_key(&self.path.join(MANAGER_KEY_FILE))
    }

    /// The grid managers whose lists this node follows.
    pub fn follows(&self) -> Result<BTreeSet<NodeId>> {
        Ok(self.meta(META_FOLLOWS)?.unwrap_or_default())
    }

    /// Records, durably, the grid managers this node follows.
    pub fn set_follows(&mut self, follows: &BTreeSet<NodeId>) -> Result<()> {
        self.put_meta(META_FOLLOWS, follows)
    }

    fn meta<T: for<'de> Deserialize<'de>>(&self, key: &str) -> Result<Option<T>> {
        match self.store.get_meta(key)? {
            None => Ok(None),
            Some(bytes) => postcard::from_bytes(&bytes).map(Some).with_context(|| {
                format!("reading the stored {key} in {}: it is damaged", self.path.display())
            }),
        }
    }

    fn put_meta<T: Serialize>(&mut self, key: &str, value: &T) -> Result<()> {
        let bytes = postcard::to_stdvec(value).context("encoding a meta value")?;
        Ok(self.store.put_meta(key, &bytes)?)
    }
}

/// Reads a file the node wrote (`api.addr`, `api.token`), trimmed; `None` if it does not exist
/// or is blank.
pub fn read_small_file(dir: &Path, name: &str) -> Result<Option<String>> {
    match fs::read_to_string(dir.join(name)) {
        Ok(text) => Ok(Some(text.trim().to_owned()).filter(|text| !text.is_empty())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error).with_context(|| format!("reading {}", dir.join(name).display())),
    }
}

/// Writes `contents` to the file `name` in `dir`, replacing it atomically, with `mode`.
pub fn write_file(dir: &Path, name: &str, contents: &[u8], mode: u32) -> Result<()> {
    write_private(&dir.join(name), contents, mode)
}

/// Milliseconds since the Unix epoch, by the wall clock.
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
}

/// Fills `bytes` from the operating system's random source.
pub fn os_random<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0; N];
    getrandom::fill(&mut bytes)
        .map_err(|error| anyhow::anyhow!("reading OS randomness: {error}"))?;
    Ok(bytes)
}

fn load_or_make_key(path: &Path) -> Result<Keypair> {
    match fs::read(path) {
        Ok(bytes) => {
            let secret: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
                anyhow::anyhow!("the key file {} is damaged: it must hold 32 bytes", path.display())
            })?;
            Ok(Keypair::from_secret(secret))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let keypair = Keypair::from_secret(os_random()?);
            write_private(path, &keypair.secret(), 0o600)?;
            Ok(keypair)
        }
        Err(error) => Err(error).with_context(|| format!("reading key file {}", path.display())),
    }
}

/// Writes through a temporary file and a rename, so a crash leaves the old or the new file.
fn write_private(path: &Path, contents: &[u8], mode: u32) -> Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = std::path::PathBuf::from(temporary);
    // A leftover from a crash may have another mode; the mode applies only at creation.
    let _ = fs::remove_file(&temporary);
    let mut file = open_with_mode(&temporary, mode)
        .with_context(|| format!("creating {}", temporary.display()))?;
    file.write_all(contents).with_context(|| format!("writing {}", temporary.display()))?;
    file.sync_all().with_context(|| format!("syncing {}", temporary.display()))?;
    fs::rename(&temporary, path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

#[cfg(unix)]
fn open_with_mode(path: &Path, mode: u32) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new().write(true).create(true).truncate(true).mode(mode).open(path)
}

#[cfg(not(unix))]
fn open_with_mode(path: &Path, _mode: u32) -> std::io::Result<fs::File> {
    fs::OpenOptions::new().write(true).create(true).truncate(true).open(path)
}

#[cfg(unix)]
fn restrict_permissions(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("restricting the permissions of {}", path.display()))
}

#[cfg(not(unix))]
fn restrict_permissions(_path: &Path, _mode: u32) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_node_key_is_made_once_and_kept_private() {
        let dir = tempfile::tempdir().unwrap();
        let first = DataDir::open(dir.path()).unwrap().keypair().id();
        let second = DataDir::open(dir.path()).unwrap().keypair().id();
        assert_eq!(first, second);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(NODE_KEY_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_created_grid_is_remembered_with_a_valid_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let mut data = DataDir::open(dir.path()).unwrap();
        let grid = data.create_grid("first").unwrap();
        let me = data.keypair().id();
        drop(data);
        let data = DataDir::open(dir.path()).unwrap();
        assert_eq!(data.grid().unwrap(), Some(grid));
        let chain = data.chain().unwrap().unwrap();
        chain.verify(grid, unix_ms()).unwrap();
        assert_eq!(chain.subject(), me);
        assert!(dir.path().join(ROOT_KEY_FILE).exists());
    }

    #[test]
    fn creating_a_second_grid_in_one_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut data = DataDir::open(dir.path()).unwrap();
        data.create_grid("first").unwrap();
        let error = data.create_grid("again").unwrap_err();
        assert!(format!("{error:#}").contains("already belongs to grid"), "{error:#}");
    }

    #[test]
    fn a_damaged_key_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(NODE_KEY_FILE), b"short").unwrap();
        let error = DataDir::open(dir.path()).err().unwrap();
        assert!(format!("{error:#}").contains("is damaged"), "{error:#}");
    }
}
