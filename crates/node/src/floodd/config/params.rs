//! From the s-expression tree to floodd's definitions: which parameters each kind of definition
//! has, how each value is read, and the checks across definitions (names unique, every site a
//! group names defined somewhere in the file, in any order).
//!
//! Parameter and definition names are matched without regard to ASCII case, as a Lisp reader
//! would; values are taken as written. Every value may be a bare word or a quoted string, except
//! that a command is either one quoted string or bare words joined by one space.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::Duration;

use super::error::{ConfigError, Position, Problem, Section, shorten};
use super::sexpr::{Item, Kind};
use super::{FlooddConfig, GridSecret, GroupDef, LocalDef, SiteDef};

/// Builds the configuration from the reader's top-level items.
pub(super) fn definitions(items: Vec<Item>) -> Result<FlooddConfig, ConfigError> {
    let mut config =
        FlooddConfig { sites: Vec::new(), groups: Vec::new(), local: LocalDef::default() };
    let mut local_seen = Seen::new(Section::Local);
    // Every site name a group mentions, with where, checked once all sites are known.
    let mut mentions: Vec<(String, Position)> = Vec::new();
    for item in items {
        let at = item.at;
        let Kind::List(elements) = item.kind else {
            return Err(ConfigError::at(at, Problem::NotADefinition(item.describe())));
        };
        let mut elements = elements.into_iter();
        let Some(head) = elements.next() else {
            return Err(ConfigError::at(at, Problem::UnknownDefinition("()".to_owned())));
        };
        let keyword = match &head.kind {
            Kind::Word(word) => word.to_ascii_lowercase(),
            Kind::Quoted(_) | Kind::List(_) => String::new(),
        };
        match keyword.as_str() {
            ":site-define" => config.sites.push(site(at, elements)?),
            ":group-define" => config.groups.push(group(at, elements, &mut mentions)?),
            ":local" => {
                config.local.position.get_or_insert(at);
                local(&mut config.local, &mut local_seen, elements)?;
            }
            _ => return Err(ConfigError::at(head.at, Problem::UnknownDefinition(head.describe()))),
        }
    }
    check_names(&config, &mentions)?;
    Ok(config)
}

fn check_names(config: &FlooddConfig, mentions: &[(String, Position)]) -> Result<(), ConfigError> {
    let mut sites = BTreeMap::new();
    for site in &config.sites {
        if let Some(first) = sites.insert(site.name.as_str(), site.position) {
            let problem = Problem::DuplicateSite { name: site.name.clone(), first };
            return Err(ConfigError::at(site.position, problem));
        }
    }
    let mut groups = BTreeMap::new();
    for group in &config.groups {
        if let Some(first) = groups.insert(group.name.as_str(), group.position) {
            let problem = Problem::DuplicateGroup { name: group.name.clone(), first };
            return Err(ConfigError::at(group.position, problem));
        }
    }
    for (name, at) in mentions {
        if !sites.contains_key(name.as_str()) {
            let defined = config.sites.iter().map(|site| site.name.clone()).collect();
            return Err(ConfigError::at(*at, Problem::UnknownSite { name: name.clone(), defined }));
        }
    }
    Ok(())
}

fn site(at: Position, elements: impl Iterator<Item = Item>) -> Result<SiteDef, ConfigError> {
    let mut seen = Seen::new(Section::Site);
    let mut name = None;
    let mut site = SiteDef {
        position: at,
        name: String::new(),
        hostname: None,
        inet_address: None,
        client_port: None,
        data_port: None,
        latitude: None,
        longitude: None,
    };
    for param in parameters(Section::Site, "site-name", elements)? {
        match param.key.as_str() {
            "site-name" => name = Some(seen.once("site-name", &param, name_value)?),
            "hostname" => site.hostname = Some(seen.once("hostname", &param, name_value)?),
            "inet-address" => {
                site.inet_address = Some(seen.once("inet-address", &param, |name, param| {
                    parsed(name, "an IP address such as 192.0.2.7", param)
                })?);
            }
            "client-port" => site.client_port = Some(seen.once("client-port", &param, port)?),
            "data-port" => site.data_port = Some(seen.once("data-port", &param, port)?),
            "latitude" | "lattitude" => {
                site.latitude = Some(seen.once("latitude", &param, latitude)?);
            }
            "longitude" => site.longitude = Some(seen.once("longitude", &param, longitude)?),
            "coordinate" => {
                let (lat, lon) = seen.once("coordinate", &param, coordinate)?;
                seen.mark("latitude", &param)?;
                seen.mark("longitude", &param)?;
                (site.latitude, site.longitude) = (Some(lat), Some(lon));
            }
            _ => return Err(param.unknown(Section::Site)),
        }
    }
    let missing = Problem::Missing { section: Section::Site, name: "site-name" };
    site.name = name.ok_or(ConfigError::at(at, missing))?;
    Ok(site)
}

fn group(
    at: Position,
    elements: impl Iterator<Item = Item>,
    mentions: &mut Vec<(String, Position)>,
) -> Result<GroupDef, ConfigError> {
    let mut seen = Seen::new(Section::Group);
    let mut name = None;
    let mut group = GroupDef {
        position: at,
        name: String::new(),
        sites: Vec::new(),
        master_site: None,
        connectivity: None,
        ping_period: None,
        bandwidth_period: None,
        estimates_period: None,
        join_period: None,
        update_period: None,
        topology_generator: None,
        access: None,
    };
    for param in parameters(Section::Group, "group-name", elements)? {
        match param.key.as_str() {
            "group-name" => name = Some(seen.once("group-name", &param, name_value)?),
            "site" => {
                let (member, value_at) = name_at("site", &param)?;
                if group.sites.contains(&member) {
                    return Err(ConfigError::at(value_at, Problem::DuplicateMember(member)));
                }
                mentions.push((member.clone(), value_at));
                group.sites.push(member);
            }
            "master-site" => {
                let (master, value_at) = seen.once("master-site", &param, name_at)?;
                mentions.push((master.clone(), value_at));
                group.master_site = Some(master);
            }
            "connectivity" => {
                group.connectivity = Some(seen.once("connectivity", &param, |name, param| {
                    parsed(name, "a whole number of at least 1", param)
                })?);
            }
            "ping-period" => group.ping_period = Some(seen.once("ping-period", &param, seconds)?),
            "bandwidth-period" => {
                group.bandwidth_period = Some(seen.once("bandwidth-period", &param, seconds)?);
            }
            "estimates-period" => {
                group.estimates_period = Some(seen.once("estimates-period", &param, seconds)?);
            }
            "join-period" => group.join_period = Some(seen.once("join-period", &param, seconds)?),
            "update-period" => {
                group.update_period = Some(seen.once("update-period", &param, seconds)?);
            }
            "topology-generator" => {
                group.topology_generator =
                    Some(seen.once("topology-generator", &param, command)?);
            }
            "access" => {
                group.access =
                    Some(seen.once("access", &param, |name, param| {
                        parsed(name, "open or listed", param)
                    })?);
            }
            _ => return Err(param.unknown(Section::Group)),
        }
    }
    let missing = Problem::Missing { section: Section::Group, name: "group-name" };
    group.name = name.ok_or(ConfigError::at(at, missing))?;
    Ok(group)
}

fn local(
    local: &mut LocalDef,
    seen: &mut Seen,
    elements: impl Iterator<Item = Item>,
) -> Result<(), ConfigError> {
    for param in parameters(Section::Local, "export-command", elements)? {
        match param.key.as_str() {
            "data-storage-max" => {
                local.data_storage_max =
                    Some(seen.once("data-storage-max", &param, |name, p| {
                        parsed(name, "a number of bytes", p)
                    })?);
            }
            "export-command" => {
                local.export_command = Some(seen.once("export-command", &param, command)?);
            }
            "log-purge-period" => {
                local.log_purge_period = Some(seen.once("log-purge-period", &param, seconds)?);
            }
            "site-purge-period" => {
                local.site_purge_period = Some(seen.once("site-purge-period", &param, seconds)?);
            }
            "grid-secret" => {
                let secret = seen.once("grid-secret", &param, |name, param| {
                    let (text, at) = one(name, param)?;
                    non_empty(name, "a secret that is not empty", text, at)
                })?;
                local.grid_secret = Some(GridSecret(secret));
            }
            _ => return Err(param.unknown(Section::Local)),
        }
    }
    Ok(())
}

/// One `(:name value...)` list of a definition.
struct Param {
    /// Where the list starts.
    at: Position,
    /// The name as written, and where.
    name: Item,
    /// The name in lower case, without its colon, for matching.
    key: String,
    values: Vec<Item>,
}

impl Param {
    fn unknown(self, section: Section) -> ConfigError {
        ConfigError::at(
            self.name.at,
            Problem::UnknownParameter { name: self.name.describe(), section },
        )
    }
}

/// The parameter lists of one definition. `example` names a parameter of the section, for the
/// message when an element is not a parameter list.
fn parameters(
    section: Section,
    example: &'static str,
    elements: impl Iterator<Item = Item>,
) -> Result<Vec<Param>, ConfigError> {
    let mut params = Vec::new();
    for element in elements {
        let Kind::List(items) = element.kind else {
            let found = element.describe();
            let problem = Problem::NotAParameter { found, section, example };
            return Err(ConfigError::at(element.at, problem));
        };
        let mut items = items.into_iter();
        let Some(name) = items.next() else {
            let problem = Problem::NotAParameter { found: "()".to_owned(), section, example };
            return Err(ConfigError::at(element.at, problem));
        };
        let key = match &name.kind {
            Kind::Word(word) if word.starts_with(':') => word[1..].to_ascii_lowercase(),
            _ => {
                let problem = Problem::UnknownParameter { name: name.describe(), section };
                return Err(ConfigError::at(name.at, problem));
            }
        };
        params.push(Param { at: element.at, name, key, values: items.collect() });
    }
    Ok(params)
}

/// The parameters already given in one definition, to refuse a second one.
struct Seen {
    section: Section,
    first: BTreeMap<&'static str, Position>,
}

impl Seen {
    fn new(section: Section) -> Seen {
        Seen { section, first: BTreeMap::new() }
    }

    /// Reads `param` with `read`, unless `name` was given before.
    fn once<T>(
        &mut self,
        name: &'static str,
        param: &Param,
        read: impl FnOnce(&'static str, &Param) -> Result<T, ConfigError>,
    ) -> Result<T, ConfigError> {
        self.mark(name, param)?;
        read(name, param)
    }

    fn mark(&mut self, name: &'static str, param: &Param) -> Result<(), ConfigError> {
        match self.first.insert(name, param.at) {
            None => Ok(()),
            Some(first) => {
                let problem = Problem::Duplicate { name, section: self.section, first };
                Err(ConfigError::at(param.at, problem))
            }
        }
    }
}

/// The plain values of `param`, refusing a nested list.
fn plain<'a>(
    name: &'static str,
    param: &'a Param,
) -> Result<Vec<(&'a str, Position)>, ConfigError> {
    param
        .values
        .iter()
        .map(|value| match &value.kind {
            Kind::Word(text) | Kind::Quoted(text) => Ok((text.as_str(), value.at)),
            Kind::List(_) => Err(ConfigError::at(value.at, Problem::NestedValue { name })),
        })
        .collect()
}

fn one<'a>(name: &'static str, param: &'a Param) -> Result<(&'a str, Position), ConfigError> {
    match plain(name, param)?[..] {
        [value] => Ok(value),
        ref values => Err(ConfigError::at(
            param.at,
            Problem::ValueCount { name, expected: "one value", found: values.len() },
        )),
    }
}

fn bad(name: &'static str, expected: &'static str, found: &str, at: Position) -> ConfigError {
    ConfigError::at(at, Problem::BadValue { name, expected, found: shorten(found) })
}

fn non_empty(
    name: &'static str,
    expected: &'static str,
    text: &str,
    at: Position,
) -> Result<String, ConfigError> {
    if text.is_empty() { Err(bad(name, expected, text, at)) } else { Ok(text.to_owned()) }
}

/// A site, group or host name: one value, not empty, without whitespace (the line protocol's
/// `group NAME` could not name it otherwise).
fn name_value(name: &'static str, param: &Param) -> Result<String, ConfigError> {
    name_at(name, param).map(|(text, _)| text)
}

/// [`name_value`] and where it is written.
fn name_at(name: &'static str, param: &Param) -> Result<(String, Position), ConfigError> {
    let (text, at) = one(name, param)?;
    if text.chars().any(char::is_whitespace) {
        return Err(bad(name, "a name without spaces", text, at));
    }
    Ok((non_empty(name, "a name that is not empty", text, at)?, at))
}

fn parsed<T: FromStr>(
    name: &'static str,
    expected: &'static str,
    param: &Param,
) -> Result<T, ConfigError> {
    let (text, at) = one(name, param)?;
    text.parse().map_err(|_| bad(name, expected, text, at))
}

fn port(name: &'static str, param: &Param) -> Result<u16, ConfigError> {
    parsed(name, "a port number from 0 to 65535", param)
}

fn degrees(
    name: &'static str,
    expected: &'static str,
    bound: f64,
    (text, at): (&str, Position),
) -> Result<f64, ConfigError> {
    match text.parse::<f64>() {
        Ok(value) if value.is_finite() && value.abs() <= bound => Ok(value),
        _ => Err(bad(name, expected, text, at)),
    }
}

const LATITUDE: &str = "a latitude in degrees from -90 to 90";
const LONGITUDE: &str = "a longitude in degrees from -180 to 180";

fn latitude(name: &'static str, param: &Param) -> Result<f64, ConfigError> {
    degrees(name, LATITUDE, 90.0, one(name, param)?)
}

fn longitude(name: &'static str, param: &Param) -> Result<f64, ConfigError> {
    degrees(name, LONGITUDE, 180.0, one(name, param)?)
}

fn coordinate(name: &'static str, param: &Param) -> Result<(f64, f64), ConfigError> {
    match plain(name, param)?[..] {
        [lat, lon] => {
            Ok((degrees(name, LATITUDE, 90.0, lat)?, degrees(name, LONGITUDE, 180.0, lon)?))
        }
        ref values => Err(ConfigError::at(
            param.at,
            Problem::ValueCount {
                name,
                expected: "a latitude and a longitude",
                found: values.len(),
            },
        )),
    }
}

/// A period in seconds, whole or not: finite, above zero, and within what a `Duration` holds.
fn seconds(name: &'static str, param: &Param) -> Result<Duration, ConfigError> {
    let (text, at) = one(name, param)?;
    text.parse::<f64>()
        .ok()
        .filter(|seconds| *seconds > 0.0)
        .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
        .ok_or_else(|| bad(name, "a number of seconds above 0", text, at))
}

/// A shell command: one quoted string, or bare words joined by one space.
fn command(name: &'static str, param: &Param) -> Result<String, ConfigError> {
    let words = plain(name, param)?;
    let quoted = param.values.iter().filter(|value| matches!(value.kind, Kind::Quoted(_))).count();
    if words.is_empty() {
        return Err(ConfigError::at(
            param.at,
            Problem::ValueCount { name, expected: "a command", found: 0 },
        ));
    }
    if quoted > 0 && words.len() > 1 {
        return Err(ConfigError::at(param.at, Problem::MixedCommand { name }));
    }
    let text = words.iter().map(|(word, _)| *word).collect::<Vec<_>>().join(" ");
    non_empty(name, "a command that is not empty", &text, words[0].1)
}
