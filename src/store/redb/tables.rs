//! Every table of the database, and the one function that names a
//! namespace's tables.
//!
//! Layout: global tables are bare names; a tenant's tables are `t/{slug}/{kind}`;
//! the platform's (global admins, their sessions, the platform audit) are
//! `p/{kind}`. A slug never contains `/`, so no two namespaces share a table.

use redb::TableDefinition;

use crate::auth::TenantScope;
pub use crate::store::ns::{KEYRING_META, Ns};

/// The version this build writes; older files are migrated at open (`migrate.rs`).
pub const SCHEMA_VERSION: u32 = 7;

/// `schema_version` → u32 LE, [`KEYRING_META`] → record, and a few counters.
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// slug → TenantRecord
pub const TENANTS: TableDefinition<&str, &[u8]> = TableDefinition::new("tenants");
/// grant id → tenant slug: the platform's index of the grants, whose records
/// live in their tenant's namespace (since schema 5).
pub const GRANT_TENANT: TableDefinition<u128, &str> = TableDefinition::new("grant_tenant");
/// client id → owning tenant slug (so introspection can find the client).
pub const CLIENT_TENANT: TableDefinition<u128, &str> = TableDefinition::new("client_tenant");

/// The kinds of table every namespace has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// user id → UserRecord
    Users,
    /// email → user id
    UsersByEmail,
    /// (trigram, user id) → (): the `q` search index (`search.rs`); since schema 2
    UserTrigrams,
    /// session id → SessionRecord (UUIDv7 ids: key order is creation order)
    Sessions,
    /// (user id, session id) → last activity ms: a user's sessions in
    /// activity order without reading them (a revocation leaves it as it
    /// is); since schema 7
    SessionsByUser,
    /// (0 active | 1 revoked, last activity ms, session id) → ()
    SessionsByActivity,
    /// SHA-256(refresh token) → RefreshRecord
    Refresh,
    /// (session id, SHA-256(refresh token)) → (): a session's whole chain, for purging
    RefreshBySession,
    /// client id → ClientRecord
    Clients,
    /// seq → AuditEntry
    Audit,
    /// grant id → GrantRecord (tenants only); since schema 5
    Grants,
    /// seq → OutboxEvent: the revocation outbox (tenants only)
    Events,
    /// webhook id → EndpointRecord
    Webhooks,
    /// (webhook id, seq) → DeliveryRecord
    Deliveries,
    /// (next attempt ms, webhook id, seq) → (): pending deliveries only
    DeliveriesDue,
}

impl Kind {
    pub const ALL: [Kind; 15] = [
        Kind::Users,
        Kind::UsersByEmail,
        Kind::UserTrigrams,
        Kind::Sessions,
        Kind::SessionsByUser,
        Kind::SessionsByActivity,
        Kind::Refresh,
        Kind::RefreshBySession,
        Kind::Clients,
        Kind::Audit,
        Kind::Grants,
        Kind::Events,
        Kind::Webhooks,
        Kind::Deliveries,
        Kind::DeliveriesDue,
    ];

    fn as_str(self) -> &'static str {
        match self {
            Kind::Users => "users",
            Kind::UsersByEmail => "users_by_email",
            Kind::UserTrigrams => "user_trigrams",
            Kind::Sessions => "sessions",
            Kind::SessionsByUser => "sessions_by_user",
            Kind::SessionsByActivity => "sessions_by_activity",
            Kind::Refresh => "refresh",
            Kind::RefreshBySession => "refresh_by_session",
            Kind::Clients => "clients",
            Kind::Audit => "audit",
            Kind::Grants => "grants",
            Kind::Events => "events",
            Kind::Webhooks => "webhooks",
            Kind::Deliveries => "deliveries",
            Kind::DeliveriesDue => "deliveries_due",
        }
    }
}

/// The only place a table name is built.
pub fn table_name(ns: Ns<'_>, kind: Kind) -> String {
    match ns {
        Ns::Tenant(scope) => format!("t/{}/{}", scope.tenant(), kind.as_str()),
        Ns::Platform => format!("p/{}", kind.as_str()),
    }
}

/// What a table's values are, for code that walks every table (backup, check).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    /// An index or lookup table: no record to decode.
    None,
    Tenant,
    Grant,
    User,
    Session,
    Refresh,
    Client,
    Audit,
    Event,
    Webhook,
    Delivery,
}

/// Something done to every table, with its key and value types.
pub(crate) trait EachTable {
    fn table<K: redb::Key + 'static, V: redb::Value + 'static>(
        &mut self,
        def: TableDefinition<'_, K, V>,
        record: Record,
    ) -> Result<(), super::StoreError>;
}

/// Every table of the snapshot: the global ones, the platform's, then each tenant's.
pub(crate) fn each_table(
    snapshot: &redb::ReadTransaction,
    t: &mut impl EachTable,
) -> Result<(), super::StoreError> {
    use redb::ReadableTable;
    each_global_table(t)?;
    each_namespace_table(Ns::Platform, t)?;
    let slugs: Vec<crate::domain::TenantId> = match snapshot.open_table(TENANTS) {
        Ok(table) => table
            .iter()?
            // The key is the slug: no record decoding, so this also walks
            // files whose tenant records predate this build (migration).
            .map(|r| {
                let key = r?.0;
                crate::domain::TenantId::parse(key.value()).map_err(|e| {
                    super::StoreError::Corrupt(format!("tenant key {:?}: {e}", key.value()))
                })
            })
            .collect::<Result<_, super::StoreError>>()?,
        Err(redb::TableError::TableDoesNotExist(_)) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    for slug in slugs {
        let scope = TenantScope::system(slug);
        each_namespace_table(Ns::from(&scope), t)?;
    }
    Ok(())
}

/// The global tables (`meta` first).
fn each_global_table(t: &mut impl EachTable) -> Result<(), super::StoreError> {
    t.table(META, Record::None)?;
    t.table(TENANTS, Record::Tenant)?;
    t.table(GRANT_TENANT, Record::None)?;
    t.table(CLIENT_TENANT, Record::None)
}

/// One namespace's tables, typed as the views open them.
fn each_namespace_table(ns: Ns<'_>, t: &mut impl EachTable) -> Result<(), super::StoreError> {
    for kind in Kind::ALL {
        let name = table_name(ns, kind);
        match kind {
            Kind::Users => t.table(TableDefinition::<u128, &[u8]>::new(&name), Record::User)?,
            Kind::Sessions => {
                t.table(TableDefinition::<u128, &[u8]>::new(&name), Record::Session)?
            }
            Kind::Clients => t.table(TableDefinition::<u128, &[u8]>::new(&name), Record::Client)?,
            Kind::UsersByEmail => {
                t.table(TableDefinition::<&str, u128>::new(&name), Record::None)?
            }
            Kind::UserTrigrams => {
                t.table(TableDefinition::<(u32, u128), ()>::new(&name), Record::None)?
            }
            Kind::SessionsByUser => t.table(
                TableDefinition::<(u128, u128), i64>::new(&name),
                Record::None,
            )?,
            Kind::SessionsByActivity => t.table(
                TableDefinition::<(u8, i64, u128), u128>::new(&name),
                Record::None,
            )?,
            Kind::Refresh => t.table(
                TableDefinition::<&[u8; 32], &[u8]>::new(&name),
                Record::Refresh,
            )?,
            Kind::RefreshBySession => t.table(
                TableDefinition::<(u128, &[u8; 32]), ()>::new(&name),
                Record::None,
            )?,
            Kind::Audit => t.table(TableDefinition::<u64, &[u8]>::new(&name), Record::Audit)?,
            Kind::Grants => t.table(TableDefinition::<u128, &[u8]>::new(&name), Record::Grant)?,
            Kind::Events => t.table(TableDefinition::<u64, &[u8]>::new(&name), Record::Event)?,
            Kind::Webhooks => {
                t.table(TableDefinition::<u128, &[u8]>::new(&name), Record::Webhook)?
            }
            Kind::Deliveries => t.table(
                TableDefinition::<(u128, u64), &[u8]>::new(&name),
                Record::Delivery,
            )?,
            Kind::DeliveriesDue => t.table(
                TableDefinition::<(i64, u128, u64), ()>::new(&name),
                Record::None,
            )?,
        }
    }
    Ok(())
}

/// The slug a tenant table name belongs to, if it is one.
pub fn tenant_of_table(name: &str) -> Option<&str> {
    name.strip_prefix("t/")?.split('/').next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TenantId;
    use std::collections::HashSet;

    const KINDS: [Kind; 15] = Kind::ALL;

    #[test]
    fn no_two_namespaces_share_a_table() {
        let slugs = ["acme", "acme-users", "users", "t-acme", "a-b", "ab-", "abc"];
        let mut seen = HashSet::new();
        for slug in slugs {
            let Ok(t) = TenantId::parse(slug) else {
                continue;
            };
            let scope = TenantScope::operator(t);
            for k in KINDS {
                let name = table_name(Ns::Tenant(&scope), k);
                assert_eq!(tenant_of_table(&name), Some(slug));
                assert!(seen.insert(name.clone()), "{name} built twice");
            }
        }
        for k in KINDS {
            let name = table_name(Ns::Platform, k);
            assert_eq!(tenant_of_table(&name), None);
            assert!(seen.insert(name));
        }
        assert_eq!(seen.len(), 7 * KINDS.len());
    }

    #[test]
    fn tenant_table_names_are_prefixed() {
        let scope = TenantScope::operator(TenantId::parse("acme").unwrap());
        assert_eq!(
            table_name(Ns::Tenant(&scope), Kind::Sessions),
            "t/acme/sessions"
        );
        assert_eq!(table_name(Ns::Platform, Kind::Audit), "p/audit");
    }
}
