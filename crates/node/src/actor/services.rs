//! The live announcements as the API shows them, kept up to date as records are stored and
//! deleted, so that `GET /v1/services` neither scans every record nor parses a payload.

use std::collections::BTreeMap;

use herald_core::{NodeId, PersistOp, RecordKind, SignedRecord};

use crate::api::model::ServiceView;

/// Every live announcement by (origin, service), parsed once.
#[derive(Debug, Default)]
pub(super) struct ServiceIndex {
    by_slot: BTreeMap<(NodeId, String), ServiceView>,
}

impl ServiceIndex {
    /// The index of the announcements among `records`.
    pub(super) fn of<'a>(records: impl IntoIterator<Item = &'a SignedRecord>) -> ServiceIndex {
        let mut index = ServiceIndex::default();
        for record in records {
            index.stored(record);
        }
        index
    }

    /// A record was stored: an announcement enters or replaces its slot, a tombstone empties it.
    pub(super) fn stored(&mut self, record: &SignedRecord) {
        let slot = (record.record.origin, record.record.key.clone());
        match record.record.kind {
            RecordKind::Announcement => {
                self.by_slot.insert(slot, view(record));
            }
            RecordKind::Tombstone => {
                self.by_slot.remove(&slot);
            }
            _ => {}
        }
    }

    /// A persist operation went by: an announcement's slot that is deleted (its origin departed
    /// long ago) leaves the index.
    pub(super) fn persisted(&mut self, op: &PersistOp) {
        if let PersistOp::DeleteRecord(slot) = op
            && slot.family == RecordKind::Announcement
        {
            self.by_slot.remove(&(slot.origin, slot.key.clone()));
        }
    }

    /// The live announcements, by origin then service, optionally of one service only.
    pub(super) fn list<'a>(
        &'a self,
        service: Option<&'a str>,
    ) -> impl Iterator<Item = &'a ServiceView> + 'a {
        self.by_slot
            .iter()
            .filter(move |((_, name), _)| service.is_none_or(|wanted| name == wanted))
            .map(|(_, view)| view)
    }

    /// Whether `origin` announces `service`.
    pub(super) fn announces(&self, origin: NodeId, service: &str) -> bool {
        self.by_slot.contains_key(&(origin, service.to_owned()))
    }

    /// How many live announcements there are.
    pub(super) fn len(&self) -> usize {
        self.by_slot.len()
    }
}

/// One announcement (or withdrawal, with a null payload) as the API shows it.
pub(crate) fn view(record: &SignedRecord) -> ServiceView {
    let payload = if record.record.kind == RecordKind::Announcement {
        serde_json::from_slice(&record.record.payload).unwrap_or(serde_json::Value::Null)
    } else {
        serde_json::Value::Null
    };
    ServiceView {
        origin: record.record.origin.to_string(),
        service: record.record.key.clone(),
        seq: record.record.version.seq,
        issued_at: record.record.issued_at_ms,
        payload,
    }
}

#[cfg(test)]
mod tests {
    use herald_core::{Keypair, Record, SlotKey, Version};

    use super::*;

    fn signed(kind: RecordKind, key: &str, seq: u64) -> SignedRecord {
        let keypair = Keypair::from_secret([3; 32]);
        let payload =
            if kind == RecordKind::Announcement { br#"{"port":80}"#.to_vec() } else { vec![] };
        let record = Record {
            origin: keypair.id(),
            kind,
            key: key.to_owned(),
            version: Version::new(0, seq),
            issued_at_ms: 1,
            payload,
        };
        record.sign(&keypair).unwrap()
    }

    fn names(index: &ServiceIndex, service: Option<&str>) -> Vec<String> {
        index.list(service).map(|view| view.service.clone()).collect()
    }

    #[test]
    fn announcements_enter_tombstones_and_deletions_leave() {
        let web = signed(RecordKind::Announcement, "web", 1);
        let mut index = ServiceIndex::of([&web, &signed(RecordKind::Announcement, "storage", 2)]);
        index.stored(&signed(RecordKind::Profile, "", 3));
        assert_eq!(names(&index, None), ["storage", "web"], "a profile is no service");
        assert_eq!(names(&index, Some("web")), ["web"]);
        assert_eq!(index.list(Some("web")).next().unwrap().payload["port"], 80);

        index.stored(&signed(RecordKind::Announcement, "web", 4));
        assert_eq!(index.list(Some("web")).next().unwrap().seq, 4, "a newer one replaces");

        index.stored(&signed(RecordKind::Tombstone, "storage", 5));
        assert_eq!(names(&index, None), ["web"], "a tombstone withdraws");

        index.persisted(&PersistOp::DeleteRecord(SlotKey::of(&web)));
        assert_eq!(index.len(), 0, "an expired slot leaves the index");
        assert!(!index.announces(web.record.origin, "web"));
    }
}
