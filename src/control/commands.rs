//! The CLI's commands over a [`Service`], written once for both paths: a
//! running server (through the control socket) and a stopped one (the CLI
//! opens the file itself).

use std::io::Write;

use tokio::runtime::Handle;

use super::{Output, Request, Stdout};
use crate::auth::{Secret, TenantScope};
use crate::domain::{Role, TenantId, Timestamp};
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
            svc.export_audit_blocking(&scope, since, &mut w)
                .map_err(describe)?;
            w.flush().map_err(io)
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
