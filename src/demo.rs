//! `serve --demo`: on an empty database, load `fixtures/demo.json` (embedded
//! in the binary) so the UI has something to show.

use serde::Deserialize;

use crate::auth::{Secret, TenantScope};
use crate::domain::{Policy, RevokeReason, Role, SessionId, SessionRecord, SessionState, TenantId};
use crate::service::Service;
use crate::service::tenants::NewTenant;
use crate::service::users::{Acting, NewUser};
use crate::store::{Ns, StoreError};

const DEMO: &str = include_str!("../fixtures/demo.json");

#[derive(Deserialize)]
struct Demo {
    password: String,
    tenants: Vec<DemoTenant>,
}

#[derive(Deserialize)]
struct DemoTenant {
    slug: String,
    name: String,
    policy: Policy,
    users: Vec<DemoUser>,
    sessions: Vec<DemoSession>,
}

#[derive(Deserialize)]
struct DemoUser {
    email: String,
    display_name: String,
    role: Role,
}

#[derive(Deserialize)]
struct DemoSession {
    user: String,
    ip: String,
    user_agent: String,
    age_secs: i64,
    idle_secs: i64,
    revoked: Option<RevokeReason>,
}

pub async fn load_if_empty(svc: &Service, ui: &str) -> Result<(), String> {
    if !svc
        .list_tenants()
        .await
        .map_err(|e| e.to_string())?
        .is_empty()
    {
        tracing::info!("--demo: the database already has tenants; not loading sample data");
        return Ok(());
    }
    let demo: Demo = serde_json::from_str(DEMO).map_err(|e| format!("fixtures/demo.json: {e}"))?;
    let password = Secret::new(demo.password.clone());
    let mut logins = Vec::new();
    for t in demo.tenants {
        let mut users = t.users.iter();
        let Some(first) = users.next() else { continue };
        let new_user = |u: &DemoUser| NewUser {
            email: u.email.clone(),
            display_name: u.display_name.clone(),
            role: u.role,
            password: password.clone(),
        };
        let created = svc
            .create_tenant(
                Acting::operator(),
                NewTenant {
                    slug: t.slug.clone(),
                    name: t.name.clone(),
                    first_admin: new_user(first),
                },
            )
            .await
            .map_err(|e| format!("demo tenant {}: {e}", t.slug))?;
        let scope = TenantScope::operator(created.slug.clone());
        svc.put_policy(&scope, Acting::operator(), t.policy)
            .await
            .map_err(|e| e.to_string())?;
        for u in users {
            svc.create_user(&scope, Acting::operator(), new_user(u))
                .await
                .map_err(|e| format!("demo user {}: {e}", u.email))?;
        }
        logins.extend(
            t.users
                .iter()
                .filter(|u| u.role == Role::OrgAdmin)
                .map(|u| (t.slug.clone(), u.email.clone())),
        );
        seed_sessions(svc, &created.slug, t.sessions)
            .await
            .map_err(|e| e.to_string())?;
    }
    eprintln!(
        "\n  Demo data loaded. Sign in to the admin UI at {ui} as an org admin (password: {}):",
        demo.password
    );
    for (tenant, email) in logins {
        eprintln!("    organization {tenant:<8} email {email}");
    }
    eprintln!();
    Ok(())
}

async fn seed_sessions(
    svc: &Service,
    slug: &TenantId,
    sessions: Vec<DemoSession>,
) -> Result<(), StoreError> {
    let scope = TenantScope::operator(slug.clone());
    let now = svc.now();
    svc.store()
        .write(move |tx| {
            let ns = Ns::from(&scope);
            let policy = tx
                .tenant(scope.tenant())?
                .map(|t| t.policy)
                .unwrap_or_default();
            for s in &sessions {
                let Some(user) = tx.user_by_email(ns, &s.user)? else {
                    continue;
                };
                let created = now.minus_secs(s.age_secs);
                let last = now.minus_secs(s.idle_secs);
                let rec = SessionRecord {
                    id: SessionId::new_v7(),
                    user_id: user.id,
                    created_at: created,
                    last_activity_at: last,
                    expires_at: created.plus_secs(policy.absolute_timeout_secs),
                    ip: Some(s.ip.clone()),
                    user_agent: Some(s.user_agent.clone()),
                    state: match s.revoked {
                        None => SessionState::Active,
                        Some(reason) => SessionState::Revoked {
                            at: last,
                            by: None,
                            reason,
                            note: Some("demo".into()),
                        },
                    },
                    support: None,
                };
                tx.put_session(ns, &rec)?;
            }
            Ok(())
        })
        .await?;
    Ok(())
}
