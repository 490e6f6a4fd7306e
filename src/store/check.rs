//! The engine-neutral part of `check`: through the store API, every record
//! decodes and every audit chain verifies. (redb adds its page check.)

use super::{CheckReport, Ns, Rx, StoreError};
use crate::auth::TenantScope;
use crate::domain::audit::ChainVerifier;

pub(crate) fn check_reads(rx: &Rx<'_>) -> Result<CheckReport, StoreError> {
    let mut report = CheckReport::default();
    let tenants = rx.tenants()?;
    report.records += tenants.len() as u64 + rx.all_grants()?.len() as u64;
    let scopes: Vec<TenantScope> = tenants
        .into_iter()
        .map(|t| TenantScope::system(t.slug))
        .collect();
    let spaces = std::iter::once(Ns::Platform).chain(scopes.iter().map(Ns::from));
    for ns in spaces {
        report.tables += 1;
        let name = ns.tenant().map_or("platform".to_owned(), |t| t.to_string());
        let mut after = None;
        loop {
            let page = rx.users(ns, after, 1024)?;
            report.records += page.len() as u64;
            match page.last() {
                Some(u) if page.len() == 1024 => after = Some(u.id),
                _ => break,
            }
        }
        let mut before = None;
        loop {
            let page = rx.sessions_page(ns, before, 1024)?;
            for s in &page {
                report.records += 1 + rx.refresh_chain(ns, s.id)?.len() as u64;
            }
            match page.last() {
                Some(s) if page.len() == 1024 => before = Some(s.id),
                _ => break,
            }
        }
        report.records += rx.clients(ns)?.len() as u64;
        let mut chain = ChainVerifier::default();
        let mut broken = None;
        rx.audit_scan(ns, 1..=u64::MAX, false, &mut |e| {
            let fed = match e {
                Ok(e) => {
                    report.last_change = report.last_change.max(Some(e.at));
                    chain.feed(&e).map_err(|c| c.to_string())
                }
                Err(seq) => Err(format!("entry {seq} does not decode")),
            };
            broken = fed.err();
            broken.is_none()
        })?;
        if let Some(why) = broken {
            return Err(StoreError::Corrupt(format!("audit chain of {name}: {why}")));
        }
        let head = rx.audit_head(ns)?;
        if chain.head.unwrap_or((0, crate::domain::audit::GENESIS)) != head {
            return Err(StoreError::Corrupt(format!(
                "audit chain of {name}: the head does not match the last entry"
            )));
        }
        report.audit_entries += chain.entries;
        report.records += chain.entries;
    }
    Ok(report)
}
