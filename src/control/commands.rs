//! The CLI's commands over a [`Service`], written once for both paths: a
//! running server (through the control socket) and a stopped one (the CLI
//! opens the file itself).

use std::io::Write;

use tokio::runtime::Handle;

use super::{Output, Request, Stdout};
use crate::auth::{Secret, TenantScope};
use crate::domain::{Role, TenantId, Timestamp};
use crate::service::admins::{AdminRef, NewAdmin};
use crate::service::audit::{AuditFilter, ExportFormat};
use crate::service::keys::RotateRequest;
use crate::service::tenants::NewTenant;
use crate::service::users::{Acting, NewUser};
use crate::service::{Error, Service};
use crate::store::{CheckReport, Space};

/// Run `req`; `Err` is the one-line failure (its output so far stays written).
pub fn run(rt: &Handle, svc: &Service, req: Request, out: &mut dyn Output) -> Result<(), String> {
    let io = |e: std::io::Error| format!("cannot write the output: {e}");
    match req {
        Request::TenantCreate {
            slug,
            name,
            admin_email,
            admin_name,
            admin_password,
        } => {
            let (password, generated) = password_or_new(admin_password);
            let new = NewTenant {
                slug,
                name,
                first_admin: NewUser {
                    email: admin_email,
                    display_name: admin_name,
                    role: Role::OrgAdmin,
                    password: password.clone(),
                },
            };
            let t = rt
                .block_on(svc.create_tenant(Acting::operator(), new))
                .map_err(describe)?;
            let admin = t
                .first_admin
                .as_ref()
                .map(|u| u.email.clone())
                .unwrap_or_default();
            let line = format!(
                "created tenant {} ({}) with org admin {admin}\n",
                t.slug, t.name
            );
            out.out(line.as_bytes()).map_err(io)?;
            print_generated(out, generated.then_some(&password)).map_err(io)
        }
        Request::UserCreate {
            tenant,
            email,
            name,
            role,
            password,
        } => {
            let role = match role.as_str() {
                "member" => Role::Member,
                "org_admin" => Role::OrgAdmin,
                other => return Err(format!("--role must be member or org_admin, not {other:?}")),
            };
            let (password, generated) = password_or_new(password);
            let scope = TenantScope::operator(parse_tenant(&tenant)?);
            let new = NewUser {
                email,
                display_name: name,
                role,
                password: password.clone(),
            };
            let u = rt
                .block_on(svc.create_user(&scope, Acting::operator(), new))
                .map_err(describe)?;
            let line = format!(
                "created user {} <{}> ({}) in {tenant}\n",
                u.id,
                u.email,
                u.role.as_str()
            );
            out.out(line.as_bytes()).map_err(io)?;
            print_generated(out, generated.then_some(&password)).map_err(io)
        }
        Request::AuditVerify { tenant } => audit_verify(rt, svc, tenant, out),
        Request::AuditExport { tenant, since } => {
            let scope = TenantScope::operator(parse_tenant(&tenant)?);
            let since = since
                .map(|s| {
                    Timestamp::parse_rfc3339(&s)
                        .ok_or_else(|| "--since must be an RFC 3339 time".to_owned())
                })
                .transpose()?;
            let mut w = Stdout(out);
            let f = AuditFilter {
                since,
                ..AuditFilter::default()
            };
            svc.export_audit_blocking(&scope, &f, ExportFormat::Ndjson, &mut w)
                .map_err(describe)?;
            w.flush().map_err(io)
        }
        Request::KeysList => {
            let keys = rt.block_on(svc.list_keys()).map_err(describe)?;
            let mut text = format!(
                "{:<18} {:<8} {:<25} {:<25} {:<25} {}\n",
                "KID", "STATE", "CREATED", "SIGNS FROM", "RETIRES", "REMOVED FROM JWKS"
            );
            let at = |t: Option<Timestamp>| t.map_or("-".to_owned(), Timestamp::to_rfc3339);
            for k in keys.items {
                let state = serde_json::to_value(k.state).unwrap_or_default();
                text.push_str(&format!(
                    "{:<18} {:<8} {:<25} {:<25} {:<25} {}\n",
                    k.kid,
                    state.as_str().unwrap_or("?"),
                    k.created_at.to_rfc3339(),
                    k.activates_at.to_rfc3339(),
                    at(k.retires_at),
                    at(k.removed_at),
                ));
            }
            out.out(text.as_bytes()).map_err(io)
        }
        Request::KeysRotate { activate_in_secs } => {
            let req = RotateRequest { activate_in_secs };
            let k = rt
                .block_on(svc.rotate_keys(Acting::operator(), req))
                .map_err(describe)?;
            let line = format!(
                "new signing key {} is in the JWKS now and signs from {}\n",
                k.kid,
                k.activates_at.to_rfc3339()
            );
            out.out(line.as_bytes()).map_err(io)
        }
        Request::AdminList => {
            let mut text = String::new();
            let mut after = None;
            loop {
                let page = rt.block_on(svc.list_admins(after, 200)).map_err(describe)?;
                for u in &page.items {
                    let state = if u.disabled { "disabled" } else { "enabled" };
                    text.push_str(&format!(
                        "{} {:<8} {} ({})\n",
                        u.id, state, u.email, u.display_name
                    ));
                }
                match (page.next_cursor, page.items.last()) {
                    (Some(_), Some(u)) => after = Some(u.id),
                    _ => break,
                }
            }
            out.out(text.as_bytes()).map_err(io)
        }
        Request::AdminCreate {
            email,
            name,
            password,
        } => {
            let (password, generated) = password_or_new(password);
            let new = NewAdmin {
                email,
                display_name: name.unwrap_or_else(|| "Global admin".to_owned()),
                password: password.clone(),
            };
            let u = rt
                .block_on(svc.create_admin(Acting::operator(), new))
                .map_err(describe)?;
            let line = format!("created global admin {} <{}>\n", u.id, u.email);
            out.out(line.as_bytes()).map_err(io)?;
            print_generated(out, generated.then_some(&password)).map_err(io)
        }
        Request::AdminSetDisabled { email, disabled } => {
            let who = AdminRef::Email(email);
            let u = rt
                .block_on(svc.set_admin_disabled(Acting::operator(), who, disabled))
                .map_err(describe_admin)?;
            let state = if u.disabled { "disabled" } else { "enabled" };
            out.out(format!("global admin {} is {state}\n", u.email).as_bytes())
                .map_err(io)
        }
        Request::AdminResetPassword { email } => {
            let who = AdminRef::Email(email);
            let (u, password) = rt
                .block_on(svc.reset_admin_password(Acting::operator(), who, None))
                .map_err(describe_admin)?;
            let line = format!(
                "reset the password of global admin {}; every session of theirs has ended\n",
                u.email
            );
            out.out(line.as_bytes()).map_err(io)?;
            print_generated(out, password.as_ref()).map_err(io)
        }
        Request::Backup => {
            let file = rt
                .block_on(svc.backup(Acting::operator()))
                .map_err(describe)?;
            let mut src = std::fs::File::open(&file.path)
                .map_err(|e| format!("cannot read the backup copy: {e}"))?;
            std::io::copy(&mut src, &mut Stdout(out)).map_err(io)?;
            Ok(())
        }
        Request::Check => {
            let r = svc
                .store()
                .check_online()
                .map_err(|e| format!("check failed: {e}"))?;
            let line = format!(
                "{} (online: page checksums are verified at start-up and by `sessiond check` on a stopped server)\n",
                summary(&r)
            );
            out.out(line.as_bytes()).map_err(io)
        }
    }
}

/// `sessiond check`'s success line.
pub fn summary(r: &CheckReport) -> String {
    format!(
        "ok: {} tables, {} records, {} audit entries verified{}",
        r.tables,
        r.records,
        r.audit_entries,
        if r.pages_checked {
            ", every page checksum verified"
        } else {
            ""
        }
    )
}

fn audit_verify(
    rt: &Handle,
    svc: &Service,
    tenant: Option<String>,
    out: &mut dyn Output,
) -> Result<(), String> {
    let spaces = match tenant {
        Some(t) => vec![Space::Tenant(TenantScope::operator(parse_tenant(&t)?))],
        None => {
            let mut all = vec![Space::Platform];
            let tenants = rt.block_on(svc.list_tenants()).map_err(describe)?;
            all.extend(
                tenants
                    .into_iter()
                    .map(|t| Space::Tenant(TenantScope::operator(t.slug))),
            );
            all
        }
    };
    let mut bad = None;
    for space in spaces {
        let label = crate::service::sessions::space_tid(&space).to_owned();
        let r = rt.block_on(svc.verify_audit(&space)).map_err(describe)?;
        let line = match r.error {
            None => format!("{label}: ok, {} entries, head {}\n", r.entries, r.head_hash),
            Some(e) => {
                bad.get_or_insert(format!("audit chain of {label} is broken: {e}"));
                format!("{label}: BROKEN at {e}\n")
            }
        };
        out.out(line.as_bytes())
            .map_err(|e| format!("cannot write the output: {e}"))?;
    }
    bad.map_or(Ok(()), Err)
}

fn parse_tenant(t: &str) -> Result<TenantId, String> {
    TenantId::parse(t).map_err(|e| format!("--tenant {e}"))
}

fn password_or_new(given: Option<Secret>) -> (Secret, bool) {
    match given {
        Some(p) => (p, false),
        None => (Secret::random(18), true),
    }
}

fn print_generated(out: &mut dyn Output, password: Option<&Secret>) -> std::io::Result<()> {
    match password {
        Some(p) => out.out(format!("password (shown once): {}\n", p.expose()).as_bytes()),
        None => Ok(()),
    }
}

/// [`describe`], where "not found" means the admin.
fn describe_admin(e: Error) -> String {
    match e {
        Error::NotFound => "no global admin with that email".to_owned(),
        e => describe(e),
    }
}

/// A service error as the CLI's one line.
pub fn describe(e: Error) -> String {
    match e {
        Error::Validation(fields) => {
            let parts: Vec<_> = fields.iter().map(|(f, m)| format!("{f} {m}")).collect();
            format!("invalid input: {}", parts.join("; "))
        }
        Error::NotFound => "no such tenant".to_owned(),
        Error::Internal(cause) => format!("internal error: {cause}"),
        other => other.to_string(),
    }
}
