//! Static checks of what cannot be built here: the container image (no
//! registry is reachable from CI), the compose example, the unit and the
//! Debian metadata. The .deb itself is built and installed by `.ci/run`.

const DOCKERFILE: &str = include_str!("../../packaging/Dockerfile");
const COMPOSE: &str = include_str!("../../packaging/compose.yaml");
const UNIT: &str = include_str!("../../packaging/sessiond.service");
const CARGO: &str = include_str!("../../Cargo.toml");

/// Instructions of the Dockerfile: (keyword, arguments), continuations joined.
fn instructions(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        match l.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(l);
                let (k, v) = current.split_once(' ').unwrap_or((&current, ""));
                out.push((k.to_uppercase(), v.trim().to_owned()));
                current.clear();
            }
        }
    }
    out
}

#[test]
fn the_image_is_multi_stage_non_root_with_a_volume_and_a_health_check() {
    let ins = instructions(DOCKERFILE);
    let froms: Vec<_> = ins.iter().filter(|(k, _)| k == "FROM").collect();
    assert!(froms.len() >= 2, "a build stage and a runtime stage");
    // Everything after the last FROM is the runtime image.
    let last = ins.iter().rposition(|(k, _)| k == "FROM").unwrap();
    let runtime = &ins[last..];
    let get = |k: &str| -> Vec<&str> {
        runtime
            .iter()
            .filter(|(kk, _)| kk == k)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let user = get("USER");
    assert_eq!(user.len(), 1, "one USER in the runtime stage");
    let uid = user[0].split(':').next().unwrap();
    assert!(uid != "root" && uid != "0", "runs as root: {uid}");
    assert!(
        get("VOLUME")
            .iter()
            .any(|v| v.contains("/var/lib/sessiond"))
    );
    assert!(get("EXPOSE").contains(&"8080"));
    let health = get("HEALTHCHECK").join(" ");
    assert!(
        health.contains("/readyz") && health.contains("healthcheck"),
        "{health}"
    );
    let env = get("ENV").join(" ");
    assert!(env.contains("SESSIOND_LISTEN=0.0.0.0:8080"), "{env}");
    assert!(env.contains("SESSIOND_TRUST_FORWARDED_FOR=false"), "{env}");
    assert!(env.contains("SESSIOND_DATA_DIR=/var/lib/sessiond"), "{env}");
    assert!(get("CMD").join(" ").contains("serve"));
    // The health check command exists in this binary.
    let cli = <sessiond::cli::Cli as clap::CommandFactory>::command();
    assert!(cli.find_subcommand("healthcheck").is_some());
}

#[test]
fn compose_puts_a_tls_proxy_in_front_and_publishes_only_it() {
    assert!(COMPOSE.contains("dockerfile: packaging/Dockerfile"));
    assert!(COMPOSE.contains("443:443"));
    let sessiond = COMPOSE
        .split("\n  proxy:")
        .next()
        .expect("a sessiond service before the proxy");
    assert!(
        !sessiond.contains("ports:"),
        "sessiond itself must not be published"
    );
    assert!(COMPOSE.contains("/var/lib/sessiond"));
    assert!(COMPOSE.contains("service_healthy"));
}

#[test]
fn the_unit_runs_as_the_packaged_user_from_the_config_file() {
    for want in [
        "User=sessiond",
        "StateDirectory=sessiond",
        "ExecStart=/usr/bin/sessiond serve",
        "Environment=SESSIOND_CONFIG=/etc/sessiond/sessiond.toml",
        "NoNewPrivileges=yes",
    ] {
        assert!(UNIT.lines().any(|l| l.trim() == want), "{want} missing");
    }
}

#[test]
fn debian_assets_exist_and_the_config_is_a_conffile() {
    let manifest: toml::Table = CARGO.parse().expect("Cargo.toml");
    let deb = &manifest["package"]["metadata"]["deb"];
    let root = env!("CARGO_MANIFEST_DIR");
    for asset in deb["assets"].as_array().expect("assets") {
        let src = asset[0].as_str().unwrap();
        if src.starts_with("target/") {
            continue;
        }
        assert!(
            std::path::Path::new(root).join(src).exists(),
            "asset {src} is missing"
        );
    }
    let conf = deb["conf-files"].as_array().unwrap();
    assert!(
        conf.iter()
            .any(|c| c.as_str() == Some("/etc/sessiond/sessiond.toml"))
    );
    for script in ["postinst", "postrm"] {
        let p = std::path::Path::new(root)
            .join("packaging/debian")
            .join(script);
        let text = std::fs::read_to_string(&p).expect(script);
        assert!(text.contains("#DEBHELPER#"), "{script} lacks #DEBHELPER#");
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&p).unwrap().permissions().mode();
        assert!(mode & 0o111 != 0, "{script} is not executable");
    }
}

#[test]
fn the_version_names_the_git_revision() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sessiond"))
        .arg("--version")
        .output()
        .expect("run");
    let v = String::from_utf8_lossy(&out.stdout);
    assert!(
        v.starts_with(&format!("sessiond {} (git ", env!("CARGO_PKG_VERSION"))),
        "{v}"
    );
}
