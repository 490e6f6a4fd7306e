//! A stored session as the API shows it (SPEC §5): its user looked up once
//! per page, its activity merged with this node's unflushed activity.

use std::collections::HashMap;

use super::{SessionUser, SessionView, SupportView};
use crate::domain::query::Activity;
use crate::domain::{SessionId, SessionRecord, SessionState, UserId};
use crate::store::{Ns, Reads, StoreError};

pub(crate) struct Lister<'a, R: Reads + ?Sized> {
    pub rx: &'a R,
    pub ns: Ns<'a>,
    pub at: Activity<'a>,
    pub users: HashMap<UserId, Option<(String, String)>>,
    pub current: Option<SessionId>,
}

impl<R: Reads + ?Sized> Lister<'_, R> {
    /// Look up the users of `rows` at once (a page names up to its length).
    pub fn prefetch_users(&mut self, rows: &[SessionRecord]) -> Result<(), StoreError> {
        let mut ids: Vec<UserId> = rows
            .iter()
            .filter(|s| s.support.is_none() && !self.users.contains_key(&s.user_id))
            .map(|s| s.user_id)
            .collect();
        ids.sort_unstable();
        ids.dedup();
        for id in &ids {
            self.users.insert(*id, None);
        }
        for u in self.rx.users_by_ids(self.ns, &ids)? {
            self.users.insert(u.id, Some((u.email, u.display_name)));
        }
        Ok(())
    }

    pub fn view(&mut self, s: &SessionRecord) -> Result<SessionView, StoreError> {
        if let Some(m) = &s.support {
            // A support session's user is a global admin, not a tenant user.
            self.users.insert(
                s.user_id,
                Some((m.admin_email.clone(), "Platform support".to_owned())),
            );
        } else if !self.users.contains_key(&s.user_id) {
            let u = self
                .rx
                .user(self.ns, s.user_id)?
                .map(|u| (u.email, u.display_name));
            self.users.insert(s.user_id, u);
        }
        let (email, display_name) = match self.users.get(&s.user_id).cloned().flatten() {
            Some((e, d)) => (Some(e), Some(d)),
            None => (None, None),
        };
        let last = self.at.last(s);
        let (revoked_at, revoked_by, revoked_reason, revoke_note) = match &s.state {
            SessionState::Active => (None, None, None, None),
            SessionState::Revoked {
                at,
                by,
                reason,
                note,
            } => (Some(*at), *by, Some(*reason), note.clone()),
        };
        Ok(SessionView {
            id: s.id,
            user: SessionUser {
                id: s.user_id,
                email,
                display_name,
            },
            created_at: s.created_at,
            last_activity_at: last,
            expires_at: self.at.expires(s),
            ip: s.ip.clone(),
            user_agent: s.user_agent.clone(),
            device: Default::default(),
            location: None,
            status: self.at.status(s),
            revoked_at,
            revoked_by,
            revoked_reason,
            revoke_note,
            support: s.support.as_ref().map(|m| SupportView {
                grant_id: m.grant_id,
                admin_email: m.admin_email.clone(),
            }),
            current: self.current == Some(s.id),
        })
    }
}
