//! Record encoding: one version byte, then postcard. Golden-bytes tests pin the format.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::StoreError;

/// Version of every record encoding written today.
pub const RECORD_V1: u8 = 1;

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let out = vec![RECORD_V1];
    // Serialising our plain structs into a Vec cannot fail.
    match postcard::to_extend(value, out) {
        Ok(v) => v,
        Err(_) => vec![RECORD_V1],
    }
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StoreError> {
    match bytes.split_first() {
        Some((&RECORD_V1, body)) => postcard::from_bytes(body)
            .map_err(|e| StoreError::Corrupt(format!("undecodable record: {e}"))),
        Some((v, _)) => Err(StoreError::Corrupt(format!("unknown record version {v}"))),
        None => Err(StoreError::Corrupt("empty record".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::session::RefreshRecord;
    use crate::domain::user::PasswordHash;
    use crate::domain::*;

    // Changing these bytes means changing the on-disk format: add RECORD_V2
    // and a migration instead.
    #[test]
    fn golden_session_record() {
        let s = SessionRecord {
            id: SessionId::from_u128(1),
            user_id: UserId::from_u128(2),
            created_at: Timestamp::from_millis(1000),
            last_activity_at: Timestamp::from_millis(2000),
            expires_at: Timestamp::from_millis(3000),
            ip: Some("10.0.0.1".into()),
            user_agent: None,
            state: SessionState::Revoked {
                at: Timestamp::from_millis(2500),
                by: None,
                reason: RevokeReason::AdminRevoked,
                note: Some("x".into()),
            },
            support: None,
        };
        let bytes = encode(&s);
        assert_eq!(
            hex::encode(&bytes),
            // id 1, user 2, then zigzag varints: 1000 ms → d00f, 2000 → a01f, 3000 → f02e
            "010102d00fa01ff02e0108\
             31302e302e302e31\
             0001882700010101780 0"
                .replace(' ', "")
        );
        assert_eq!(decode::<SessionRecord>(&bytes).unwrap(), s);
    }

    #[test]
    fn golden_user_record() {
        let u = UserRecord {
            id: UserId::from_u128(3),
            email: "a@b.c".into(),
            display_name: "A".into(),
            role: Role::OrgAdmin,
            password_hash: PasswordHash("h".into()),
            disabled: false,
            sessions_valid_after: None,
            created_at: Timestamp::from_millis(1),
            updated_at: Timestamp::from_millis(2),
        };
        let bytes = encode(&u);
        assert_eq!(
            hex::encode(&bytes),
            "010305614062 2e63014101016800000204".replace(' ', "")
        );
        assert_eq!(decode::<UserRecord>(&bytes).unwrap(), u);
    }

    #[test]
    fn golden_refresh_record() {
        let r = RefreshRecord {
            session_id: SessionId::from_u128(5),
            generation: 7,
            created_at: Timestamp::from_millis(10),
            used_at: Some(Timestamp::from_millis(11)),
        };
        let bytes = encode(&r);
        assert_eq!(hex::encode(&bytes), "010507140116");
        assert_eq!(decode::<RefreshRecord>(&bytes).unwrap(), r);
    }

    #[test]
    fn unknown_version_and_garbage_are_corrupt_not_panics() {
        assert!(matches!(
            decode::<RefreshRecord>(&[]),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            decode::<RefreshRecord>(&[9, 1, 2]),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            decode::<RefreshRecord>(&[1, 0xff]),
            Err(StoreError::Corrupt(_))
        ));
    }
}
