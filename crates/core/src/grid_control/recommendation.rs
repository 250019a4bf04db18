//! Recommendation Records, as seed 000 puts them in a node's `grid-control` announcement:
//!
//! ```json
//! { "recommendations": [ {"who": "NODE-ID", "petname": "Bob", "what": "send-shares-to"} ] }
//! ```
//!
//! `what` is free text; [`KNOWN_KINDS`] are the two the seed names. This node's own list is
//! checked strictly, so that a user learns at once what is wrong with an entry. Another node's
//! list is read leniently: an entry that does not parse is no edge, and the rest still count,
//! because a signed record must be kept and forwarded whatever its payload says.

use serde_json::{Map, Value, json};

use crate::id::NodeId;

/// The most recommendations one announcement carries (guess: a few hundred servers and
/// clients per grid, twice each, stays well inside a record's 64 KiB payload).
pub const RECOMMENDATIONS_MAX: usize = 256;
/// Longest petname, in bytes.
pub const PETNAME_LEN_MAX: usize = 64;
/// Longest `what`, in bytes.
pub const WHAT_LEN_MAX: usize = 64;
/// The kinds seed 000 names. Any other non-empty text is accepted too.
pub const KNOWN_KINDS: [&str; 2] = ["send-shares-to", "accept-shares-from"];

/// The payload key that holds the list.
const LIST_KEY: &str = "recommendations";

/// One Recommendation Record: `who` is recommended for `what`, under the name `petname`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Recommendation {
    /// The node recommended.
    pub who: NodeId,
    /// What the recommender calls it (may be empty).
    pub petname: String,
    /// What it is recommended for.
    pub what: String,
}

/// Why a recommendation, or a `grid-control` payload, was refused. Each says what to change.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecommendationError {
    /// The payload is not a JSON object.
    #[error("a grid-control announcement is a JSON object")]
    NotAnObject,
    /// `recommendations` is not an array.
    #[error("\"recommendations\" must be a list of {{who, petname, what}} objects")]
    NotAList,
    /// The list is longer than [`RECOMMENDATIONS_MAX`].
    #[error(
        "a grid-control announcement carries at most {RECOMMENDATIONS_MAX} recommendations, this one would carry {0}"
    )]
    TooMany(usize),
    /// One entry is wrong; `index` counts from 1.
    #[error("recommendation {index}: {reason}")]
    Entry {
        /// Which entry, counting from 1.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// `who` is not a node id.
    #[error(
        "who {0:?} is not a node id (52 lowercase base32 characters, as `herald members` shows them)"
    )]
    BadWho(String),
    /// `what` is empty or too long.
    #[error(
        "what must be 1 to {WHAT_LEN_MAX} bytes of text, such as send-shares-to or accept-shares-from"
    )]
    BadWhat,
    /// `petname` is too long.
    #[error("a petname has at most {PETNAME_LEN_MAX} bytes")]
    BadPetname,
    /// An unrecommend named a pair the list does not hold.
    #[error("{who} is not recommended for {what:?}")]
    NotRecommended {
        /// The node named.
        who: NodeId,
        /// The kind named.
        what: String,
    },
}

impl Recommendation {
    /// A recommendation, checked.
    pub fn new(
        who: NodeId,
        petname: impl Into<String>,
        what: impl Into<String>,
    ) -> Result<Recommendation, RecommendationError> {
        let recommendation = Recommendation { who, petname: petname.into(), what: what.into() };
        check_what(&recommendation.what)?;
        if recommendation.petname.len() > PETNAME_LEN_MAX {
            return Err(RecommendationError::BadPetname);
        }
        Ok(recommendation)
    }

    /// The entry as JSON, in the seed's field names.
    pub fn to_json(&self) -> Value {
        json!({"who": self.who.to_string(), "petname": self.petname, "what": self.what})
    }

    /// Reads one entry strictly.
    fn from_json(value: &Value) -> Result<Recommendation, RecommendationError> {
        let text = |key: &str| value.get(key).and_then(Value::as_str);
        if !value.is_object() {
            return Err(RecommendationError::NotAList);
        }
        let who_text =
            text("who").ok_or_else(|| RecommendationError::BadWho(field(value, "who")))?;
        let who = who_text.parse().map_err(|_| RecommendationError::BadWho(who_text.to_owned()))?;
        let what = text("what").ok_or(RecommendationError::BadWhat)?;
        let petname = match value.get("petname") {
            None | Some(Value::Null) => "",
            Some(Value::String(petname)) => petname,
            Some(_) => return Err(RecommendationError::BadPetname),
        };
        Recommendation::new(who, petname, what)
    }
}

/// A field shown in an error: its JSON text, or "nothing" when absent.
fn field(value: &Value, key: &str) -> String {
    value.get(key).map_or_else(|| "nothing".to_owned(), Value::to_string)
}

/// Whether `what` can name a kind of recommendation: 1 to [`WHAT_LEN_MAX`] bytes.
pub fn check_what(what: &str) -> Result<(), RecommendationError> {
    if what.is_empty() || what.len() > WHAT_LEN_MAX {
        return Err(RecommendationError::BadWhat);
    }
    Ok(())
}

/// The recommendations of a `grid-control` payload this node is about to publish, checked
/// strictly: every entry must be valid, and there may be at most [`RECOMMENDATIONS_MAX`].
/// A payload without the key has none.
pub fn parse_strict(payload: &[u8]) -> Result<Vec<Recommendation>, RecommendationError> {
    let object = object_of(payload)?;
    list_of(&object)
}

/// The recommendations of another node's `grid-control` payload that can be read; entries that
/// cannot are skipped, and so is anything past [`RECOMMENDATIONS_MAX`].
pub fn parse_lenient(payload: &[u8]) -> Vec<Recommendation> {
    let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(payload) else {
        return Vec::new();
    };
    let Some(Value::Array(entries)) = object.get(LIST_KEY) else {
        return Vec::new();
    };
    entries
        .iter()
        .take(RECOMMENDATIONS_MAX)
        .filter_map(|entry| Recommendation::from_json(entry).ok())
        .collect()
}

/// `payload` with `recommendation` added, or put in place of the entry with the same `who`
/// and `what` (a new petname). Other keys of the payload are kept. An empty payload is an
/// announcement with no keys yet.
pub fn with_added(
    payload: &[u8],
    recommendation: Recommendation,
) -> Result<Vec<u8>, RecommendationError> {
    let mut object = object_of(payload)?;
    let mut list = list_of(&object)?;
    let held =
        list.iter().position(|held| same_edge(held, &recommendation.who, &recommendation.what));
    match held {
        Some(at) => list[at] = recommendation,
        None if list.len() >= RECOMMENDATIONS_MAX => {
            return Err(RecommendationError::TooMany(list.len() + 1));
        }
        None => list.push(recommendation),
    }
    Ok(encode(&mut object, &list))
}

/// `payload` without the entry for `who` and `what`; other keys are kept.
pub fn with_removed(
    payload: &[u8],
    who: NodeId,
    what: &str,
) -> Result<Vec<u8>, RecommendationError> {
    let mut object = object_of(payload)?;
    let mut list = list_of(&object)?;
    let before = list.len();
    list.retain(|held| !same_edge(held, &who, what));
    if list.len() == before {
        return Err(RecommendationError::NotRecommended { who, what: what.to_owned() });
    }
    Ok(encode(&mut object, &list))
}

fn same_edge(held: &Recommendation, who: &NodeId, what: &str) -> bool {
    held.who == *who && held.what == what
}

fn object_of(payload: &[u8]) -> Result<Map<String, Value>, RecommendationError> {
    if payload.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice(payload) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(RecommendationError::NotAnObject),
    }
}

fn list_of(object: &Map<String, Value>) -> Result<Vec<Recommendation>, RecommendationError> {
    let entries = match object.get(LIST_KEY) {
        None => return Ok(Vec::new()),
        Some(Value::Array(entries)) => entries,
        Some(_) => return Err(RecommendationError::NotAList),
    };
    if entries.len() > RECOMMENDATIONS_MAX {
        return Err(RecommendationError::TooMany(entries.len()));
    }
    entries
        .iter()
        .enumerate()
        .map(|(at, entry)| {
            Recommendation::from_json(entry).map_err(|error| RecommendationError::Entry {
                index: at + 1,
                reason: error.to_string(),
            })
        })
        .collect()
}

fn encode(object: &mut Map<String, Value>, list: &[Recommendation]) -> Vec<u8> {
    let entries = list.iter().map(Recommendation::to_json).collect();
    object.insert(LIST_KEY.to_owned(), Value::Array(entries));
    serde_json::to_vec(object).expect("a JSON map always serialises")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::Keypair;

    fn id(seed: u8) -> NodeId {
        Keypair::from_secret([seed; 32]).id()
    }

    fn seed_document(bob: NodeId) -> Vec<u8> {
        format!(
            r#"{{"grid-control-FURL": "pb://x", "recommendations": [
                {{"who": "{bob}", "petname": "Bob", "what": "send-shares-to"}},
                {{"who": "{bob}", "petname": "Bob", "what": "accept-shares-from"}}]}}"#
        )
        .into_bytes()
    }

    #[test]
    fn the_seeds_list_reads_strictly_and_leniently_alike() {
        let payload = seed_document(id(2));
        let strict = parse_strict(&payload).unwrap();
        assert_eq!(strict.len(), 2);
        assert_eq!(strict[0], Recommendation::new(id(2), "Bob", "send-shares-to").unwrap());
        assert_eq!(parse_lenient(&payload), strict);
    }

    #[test]
    fn strict_reading_names_the_entry_and_the_fault() {
        let bad_who = br#"{"recommendations": [{"who": "BOB-PUBKEY", "what": "send-shares-to"}]}"#;
        let error = parse_strict(bad_who).unwrap_err().to_string();
        assert!(
            error.starts_with("recommendation 1: who \"BOB-PUBKEY\" is not a node id"),
            "{error}"
        );
        let empty_what = format!(r#"{{"recommendations": [{{"who": "{}", "what": ""}}]}}"#, id(1));
        assert!(parse_strict(empty_what.as_bytes()).unwrap_err().to_string().contains("what must"));
        assert_eq!(parse_strict(br#"{"recommendations": 3}"#), Err(RecommendationError::NotAList));
        assert_eq!(parse_strict(b"[1]"), Err(RecommendationError::NotAnObject));
        assert_eq!(parse_strict(br#"{"other": 1}"#), Ok(Vec::new()));
    }

    #[test]
    fn lenient_reading_skips_what_it_cannot_read() {
        let payload = format!(
            r#"{{"recommendations": [{{"who": "nobody", "what": "x"}}, {{"who": "{}", "what": "x"}}, 7]}}"#,
            id(4)
        );
        assert_eq!(
            parse_lenient(payload.as_bytes()),
            [Recommendation::new(id(4), "", "x").unwrap()]
        );
        assert!(parse_lenient(b"not json").is_empty());
    }

    #[test]
    fn adding_replaces_the_same_edge_and_keeps_other_keys() {
        let payload = seed_document(id(2));
        let renamed = Recommendation::new(id(2), "Robert", "send-shares-to").unwrap();
        let edited = with_added(&payload, renamed.clone()).unwrap();
        let list = parse_strict(&edited).unwrap();
        assert_eq!(list.len(), 2, "the same who and what is replaced, not repeated");
        assert_eq!(list[0], renamed);
        let object: Value = serde_json::from_slice(&edited).unwrap();
        assert_eq!(object["grid-control-FURL"], "pb://x");

        let carol = Recommendation::new(id(3), "", "send-shares-to").unwrap();
        assert_eq!(parse_strict(&with_added(&edited, carol).unwrap()).unwrap().len(), 3);
        assert_eq!(parse_strict(&with_added(b"", renamed.clone()).unwrap()).unwrap(), [renamed]);
    }

    #[test]
    fn removing_takes_one_edge_and_refuses_an_absent_one() {
        let payload = seed_document(id(2));
        let edited = with_removed(&payload, id(2), "send-shares-to").unwrap();
        let list = parse_strict(&edited).unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].what, "accept-shares-from");
        let absent = with_removed(&edited, id(2), "send-shares-to").unwrap_err();
        assert!(matches!(absent, RecommendationError::NotRecommended { .. }));
    }

    #[test]
    fn the_list_is_bounded() {
        let mut payload = Vec::new();
        for seed in 0..RECOMMENDATIONS_MAX {
            let who = id((seed % 250) as u8);
            let recommendation = Recommendation::new(who, "", format!("kind-{seed}")).unwrap();
            payload = with_added(&payload, recommendation).unwrap();
        }
        let one_more = Recommendation::new(id(1), "", "one-more").unwrap();
        assert_eq!(
            with_added(&payload, one_more),
            Err(RecommendationError::TooMany(RECOMMENDATIONS_MAX + 1))
        );
        assert!(Recommendation::new(id(1), "p".repeat(PETNAME_LEN_MAX + 1), "x").is_err());
        assert!(Recommendation::new(id(1), "", "w".repeat(WHAT_LEN_MAX + 1)).is_err());
    }
}
