//! What can be wrong with a floodd configuration file, and with the choice of this process's site.

use std::fmt;

use super::{CONFIG_SIZE_MAX, NESTING_MAX};

/// Where something is in the configuration text: 1-based line, and 1-based column counted in
/// characters (a tab is one column).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// Line number, from 1.
    pub line: u32,
    /// Column number, from 1, in characters.
    pub column: u32,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Why a configuration file was refused. Displays as one sentence that starts with the line and
/// column of the problem (the file-size check has none).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ConfigError {
    /// The text is longer than [`CONFIG_SIZE_MAX`]; nothing of it was read.
    #[error("the configuration is {size} bytes long, above the {CONFIG_SIZE_MAX}-byte limit")]
    TooLarge {
        /// Its length in bytes.
        size: usize,
    },
    /// A problem at one place in the text.
    #[error("{at}: {problem}")]
    At {
        /// Where the problem is.
        at: Position,
        /// What it is.
        problem: Problem,
    },
}

impl ConfigError {
    /// Where the problem is, if it has a place.
    pub fn position(&self) -> Option<Position> {
        match self {
            ConfigError::TooLarge { .. } => None,
            ConfigError::At { at, .. } => Some(*at),
        }
    }

    pub(super) fn at(at: Position, problem: Problem) -> ConfigError {
        ConfigError::At { at, problem }
    }
}

/// Which kind of definition a parameter was found in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// `(:site-define ...)`.
    Site,
    /// `(:group-define ...)`.
    Group,
    /// `(:local ...)`.
    Local,
}

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Section::Site => "a site definition",
            Section::Group => "a group definition",
            Section::Local => "the local parameters",
        })
    }
}

/// One problem at one place in a configuration file.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Problem {
    /// A `)` with no list open.
    #[error("unexpected `)` with no list open")]
    UnexpectedClose,
    /// A list still open at the end of the file; the position is its `(`.
    #[error("the list opened here is never closed")]
    Unclosed,
    /// A quoted string still open at the end of the file; the position is its `"`.
    #[error("the quoted string that starts here is never closed")]
    UnclosedString,
    /// A backslash in a quoted string followed by something other than `"` or `\`.
    #[error("unknown escape `\\{0}` in a quoted string (only `\\\"` and `\\\\` are known)")]
    UnknownEscape(char),
    /// A `"` in the middle of a bare word.
    #[error("a `\"` in the middle of the word `{0}`; quote the whole value instead")]
    QuoteInWord(String),
    /// Lists nested deeper than [`NESTING_MAX`].
    #[error("lists are nested deeper than {NESTING_MAX} levels")]
    TooDeep,
    /// Something other than a list at the top level.
    #[error(
        "expected `(` to start a definition, found `{0}` (comments start with `;` or, at the \
         start of a line, `#`)"
    )]
    NotADefinition(String),
    /// A top-level list that is not one of the three kinds.
    #[error("unknown definition `{0}`; expected `:site-define`, `:group-define` or `:local`")]
    UnknownDefinition(String),
    /// A definition's element that is not a `(:name value...)` list.
    #[error("expected a parameter list such as `(:{example} ...)` in {section}, found `{found}`")]
    NotAParameter {
        /// What was found instead.
        found: String,
        /// Where.
        section: Section,
        /// A parameter of that section, for the example.
        example: &'static str,
    },
    /// A parameter name that the section does not have.
    #[error("unknown parameter `{name}` in {section}{}", colon_hint(name))]
    UnknownParameter {
        /// The name as written.
        name: String,
        /// Where.
        section: Section,
    },
    /// A parameter that may appear once, given again.
    #[error("`:{name}` is given twice in {section}; the first is at {first}")]
    Duplicate {
        /// The parameter, without its colon.
        name: &'static str,
        /// Where.
        section: Section,
        /// Where it was first given.
        first: Position,
    },
    /// A parameter with the wrong number of values.
    #[error("`:{name}` takes {expected}, found {found}")]
    ValueCount {
        /// The parameter, without its colon.
        name: &'static str,
        /// What it takes, such as "one value".
        expected: &'static str,
        /// How many values it had.
        found: usize,
    },
    /// A list where a parameter's value should be.
    #[error("`:{name}` takes plain values, not a list")]
    NestedValue {
        /// The parameter, without its colon.
        name: &'static str,
    },
    /// A value that does not parse as what the parameter needs.
    #[error("`:{name}` needs {expected}, found `{found}`")]
    BadValue {
        /// The parameter, without its colon.
        name: &'static str,
        /// What it needs, such as "a port number from 0 to 65535".
        expected: &'static str,
        /// The value as written.
        found: String,
    },
    /// A command given partly quoted and partly as bare words.
    #[error("`:{name}` is either one quoted string or bare words, not a mix of both")]
    MixedCommand {
        /// The parameter, without its colon.
        name: &'static str,
    },
    /// A definition without its required name; the position is the definition's `(`.
    #[error("{section} has no `:{name}`")]
    Missing {
        /// Where.
        section: Section,
        /// The required parameter, without its colon.
        name: &'static str,
    },
    /// A second site with the same name.
    #[error("site `{name}` is defined twice; the first is at {first}")]
    DuplicateSite {
        /// The site name.
        name: String,
        /// Where the first definition starts.
        first: Position,
    },
    /// A second group with the same name.
    #[error("group `{name}` is defined twice; the first is at {first}")]
    DuplicateGroup {
        /// The group name.
        name: String,
        /// Where the first definition starts.
        first: Position,
    },
    /// A group that lists one site twice.
    #[error("site `{0}` is listed twice in this group")]
    DuplicateMember(String),
    /// A group naming a site that the file does not define.
    #[error("site `{name}` is not defined in this file (defined: {})", list(defined))]
    UnknownSite {
        /// The name given.
        name: String,
        /// The sites the file defines, in file order.
        defined: Vec<String>,
    },
}

fn colon_hint(name: &str) -> &'static str {
    if name.starts_with(':') { "" } else { " (parameter names start with `:`)" }
}

/// Text from the file to quote in a message, cut after 40 characters so that one enormous word
/// does not make an enormous message.
pub(super) fn shorten(text: &str) -> String {
    const SHOWN: usize = 40;
    match text.char_indices().nth(SHOWN) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_owned(),
    }
}

/// `a, b, c`, or `none` for an empty list.
pub(super) fn list(names: &[String]) -> String {
    if names.is_empty() { "none".to_owned() } else { names.join(", ") }
}

/// Why no site of the configuration could be taken as this process's own.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SiteChoiceError {
    /// The name asked for is not a site of the file.
    #[error("no site is named `{name}` in the floodd configuration (sites: {})", list(defined))]
    NoSuchName {
        /// The name asked for.
        name: String,
        /// The sites the file defines.
        defined: Vec<String>,
    },
    /// No site's hostname matches this host, and no name was given.
    #[error(
        "no site of the floodd configuration has hostname `{hostname}`; pick one by name \
         (sites: {})",
        list(defined)
    )]
    NoSuchHost {
        /// This host's name.
        hostname: String,
        /// The sites the file defines.
        defined: Vec<String>,
    },
    /// Several sites match this host, and no name was given.
    #[error("sites {} all have hostname `{hostname}`; pick one by name", list(matching))]
    AmbiguousHost {
        /// This host's name.
        hostname: String,
        /// The sites that match it.
        matching: Vec<String>,
    },
}
