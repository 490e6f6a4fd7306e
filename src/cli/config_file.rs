//! `--config FILE`: a TOML file whose keys are the flag names in snake_case.
//! Precedence: flag > `SESSIOND_*` env > file > default. A file value is
//! applied as if it were given as its flag, so it is checked by the same
//! parser; an unknown key or a bad value is one line naming the key.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::Path;

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};

use super::Cli;

/// Where a setting's effective value came from.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Settings taken from the file.
    pub from_file: BTreeSet<String>,
    pub file: Option<String>,
}

/// Arguments that are never settings.
const NOT_SETTINGS: [&str; 3] = ["help", "version", "config"];

/// The subcommand whose flags the file may set: `serve`, or `config print`
/// (which takes the same flags to show what `serve` would run with).
fn settings_matches(m: &ArgMatches) -> Option<(&ArgMatches, Vec<&'static str>)> {
    match m.subcommand()? {
        ("serve", sub) => Some((sub, vec!["serve"])),
        ("config", sub) => match sub.subcommand()? {
            ("print", p) => Some((p, vec!["config", "print"])),
            _ => None,
        },
        _ => None,
    }
}

fn find_sub<'a>(cmd: &'a clap::Command, path: &[&str]) -> Option<&'a clap::Command> {
    path.iter().try_fold(cmd, |c, name| c.find_subcommand(name))
}

/// Parse the command line, then apply the config file (if any) under it.
/// Help, version and usage errors exit as clap does.
pub fn parse(args: Vec<OsString>) -> Result<(Cli, ArgMatches, Sources), String> {
    let cmd = Cli::command();
    let m = cmd
        .clone()
        .try_get_matches_from(&args)
        .unwrap_or_else(|e| e.exit());
    let Some(path) = m.get_one::<std::path::PathBuf>("config").cloned() else {
        let cli = Cli::from_arg_matches(&m).map_err(|e| e.to_string())?;
        return Ok((cli, m, Sources::default()));
    };
    let shown = path.display().to_string();
    let table = read(&path).map_err(|e| format!("config {shown}: {e}"))?;

    let serve = cmd
        .find_subcommand("serve")
        .ok_or("no serve command")?
        .clone();
    let active = settings_matches(&m);
    let mut extra: Vec<OsString> = Vec::new();
    let mut from_file = BTreeSet::new();
    for (key, value) in &table {
        let global = cmd.get_arguments().find(|a| a.get_id() == key.as_str());
        let served = serve.get_arguments().find(|a| a.get_id() == key.as_str());
        let (arg, matches) = match (global, served) {
            (Some(a), _) if !NOT_SETTINGS.contains(&key.as_str()) => (a, &m),
            (None, Some(a)) if !NOT_SETTINGS.contains(&key.as_str()) => {
                // Set for `serve` only; other commands ignore it.
                let Some((sub, _)) = &active else {
                    continue;
                };
                (a, *sub)
            }
            _ => {
                return Err(format!(
                    "config {shown}: unknown key `{key}` (keys are `serve` flag names in snake_case, e.g. listen, activity_flush_secs)"
                ));
            }
        };
        let value = text_of(value, arg).map_err(|e| format!("config {shown}: key `{key}` {e}"))?;
        if matches!(
            matches.value_source(key),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        ) {
            continue;
        }
        let long = arg.get_long().ok_or("a setting without a flag")?;
        match value {
            Setting::Flag(false) => {}
            Setting::Flag(true) => extra.push(format!("--{long}").into()),
            Setting::Value(v) => {
                // The flag's own parser, alone on a `serve` line, names the problem.
                let probe = [
                    OsString::from("sessiond"),
                    "serve".into(),
                    format!("--{long}={v}").into(),
                ];
                if let Err(e) = cmd.clone().try_get_matches_from(probe) {
                    return Err(format!(
                        "config {shown}: key `{key}`: {}",
                        first_line(&e.to_string())
                    ));
                }
                extra.push(format!("--{long}={v}").into());
            }
        }
        from_file.insert(key.clone());
    }
    let mut all = args;
    all.extend(extra);
    let m = cmd
        .try_get_matches_from(all)
        .map_err(|e| format!("config {shown}: {}", first_line(&e.to_string())))?;
    let cli = Cli::from_arg_matches(&m).map_err(|e| e.to_string())?;
    let sources = Sources {
        from_file,
        file: Some(shown),
    };
    Ok((cli, m, sources))
}

fn first_line(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or("")
        .trim_start_matches("error: ")
        .to_owned()
}

fn read(path: &Path) -> Result<toml::Table, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read it: {e}"))?;
    text.parse::<toml::Table>().map_err(|e| {
        // toml's message spans several lines (a source excerpt); keep the gist.
        let msg = e.message().to_owned();
        match e.span() {
            Some(span) => {
                let line = text[..span.start.min(text.len())].lines().count().max(1);
                format!("line {line}: {msg}")
            }
            None => msg,
        }
    })
}

enum Setting {
    Flag(bool),
    Value(String),
}

fn text_of(v: &toml::Value, arg: &clap::Arg) -> Result<Setting, String> {
    let is_flag = !arg.get_action().takes_values();
    match (v, is_flag) {
        (toml::Value::Boolean(b), true) => Ok(Setting::Flag(*b)),
        (_, true) => Err("must be true or false".into()),
        (toml::Value::String(s), false) => Ok(Setting::Value(s.clone())),
        (toml::Value::Integer(i), false) => Ok(Setting::Value(i.to_string())),
        (toml::Value::Float(f), false) => Ok(Setting::Value(f.to_string())),
        _ => Err("must be a string or a number".into()),
    }
}

/// Settings whose values `config print` never shows.
fn is_secret(key: &str) -> bool {
    key.ends_with("_token")
        || key == "database_url"
        || ["password", "secret", "passphrase"]
            .iter()
            .any(|w| key.contains(w))
}

/// `sessiond config print`: every `serve` setting as TOML, with its source.
pub fn print(sources: &Sources, m: &ArgMatches) -> String {
    let cmd = Cli::command();
    let mut out = String::new();
    if let Some(f) = &sources.file {
        out.push_str(&format!("# effective configuration (config file: {f})\n"));
    } else {
        out.push_str("# effective configuration (no config file)\n");
    }
    let Some((sub, path)) = settings_matches(m) else {
        return out;
    };
    let Some(sub_cmd) = find_sub(&cmd, &path) else {
        return out;
    };
    let globals = cmd.get_arguments().map(|a| (a, m));
    let served = sub_cmd.get_arguments().map(|a| (a, sub));
    for (arg, matches) in globals.chain(served) {
        let id = arg.get_id().as_str();
        if NOT_SETTINGS.contains(&id) {
            continue;
        }
        let raw: Option<Vec<String>> = matches.get_raw(id).map(|vals| {
            vals.map(|v| v.to_string_lossy().into_owned())
                .collect::<Vec<_>>()
        });
        let env = arg
            .get_env()
            .map(|e| e.to_string_lossy().into_owned())
            .unwrap_or_default();
        let source = if sources.from_file.contains(id) {
            "config file".to_owned()
        } else {
            match matches.value_source(id) {
                Some(ValueSource::CommandLine) => "flag".to_owned(),
                Some(ValueSource::EnvVariable) => format!("env {env}"),
                Some(ValueSource::DefaultValue) => "default".to_owned(),
                _ => "unset".to_owned(),
            }
        };
        let value = match raw.as_deref() {
            None | Some([]) => {
                out.push_str(&format!("# {id} =   # {source}\n"));
                continue;
            }
            Some(_) if is_secret(id) => "\"<redacted>\"".to_owned(),
            Some([v]) => toml_literal(v, !arg.get_action().takes_values()),
            Some(vs) => format!("{vs:?}"),
        };
        out.push_str(&format!("{id} = {value}   # {source}\n"));
    }
    out
}

fn toml_literal(v: &str, flag: bool) -> String {
    if flag || v.parse::<i64>().is_ok() {
        v.to_owned()
    } else {
        // A JSON string is a valid TOML basic string.
        serde_json::Value::String(v.to_owned()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Command;

    fn file(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        std::io::Write::write_all(&mut f, text.as_bytes()).unwrap();
        f
    }

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    fn serve_of(cli: &Cli) -> &crate::cli::ServeArgs {
        match &cli.command {
            Command::Serve(a) => a,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn file_values_apply_under_flags() {
        let f = file(
            "listen = \"0.0.0.0:9000\"\nactivity_flush_secs = 7\ndemo = true\ndata_dir = \"/srv/s\"\n",
        );
        let path = f.path().to_str().unwrap();
        let (cli, _, sources) = parse(args(&[
            "sessiond",
            "--config",
            path,
            "serve",
            "--activity-flush-secs",
            "9",
        ]))
        .unwrap();
        let a = serve_of(&cli);
        assert_eq!(a.listen, "0.0.0.0:9000");
        assert_eq!(a.activity_flush_secs, 9, "the flag wins");
        assert!(a.demo);
        assert_eq!(cli.data_dir, std::path::PathBuf::from("/srv/s"));
        assert!(sources.from_file.contains("listen"));
        assert!(!sources.from_file.contains("activity_flush_secs"));
    }

    #[test]
    fn the_packaged_config_file_is_valid() {
        let f = file(include_str!("../../packaging/sessiond.toml"));
        let (cli, _, sources) = parse(args(&[
            "sessiond",
            "--config",
            f.path().to_str().unwrap(),
            "serve",
        ]))
        .unwrap();
        assert_eq!(cli.data_dir, std::path::PathBuf::from("/var/lib/sessiond"));
        assert_eq!(serve_of(&cli).listen, "127.0.0.1:8080");
        assert!(sources.from_file.contains("log_format"));
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_key_in_one_line() {
        for (text, want) in [
            ("bogus = 1", "unknown key `bogus`"),
            ("activity_flush_secs = 0", "key `activity_flush_secs`"),
            (
                "activity_flush_secs = \"soon\"",
                "key `activity_flush_secs`",
            ),
            ("demo = \"yes\"", "key `demo` must be true or false"),
            ("listen = [1]", "key `listen` must be a string or a number"),
            ("listen = ", "line 1"),
            ("config = \"x\"", "unknown key `config`"),
        ] {
            let f = file(text);
            let e = parse(args(&[
                "sessiond",
                "--config",
                f.path().to_str().unwrap(),
                "serve",
            ]))
            .unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
            assert_eq!(e.lines().count(), 1, "{text}: {e}");
        }
    }

    #[test]
    fn serve_settings_do_not_break_other_commands() {
        let f = file("listen = \"0.0.0.0:9000\"\ndata_dir = \"/srv/s\"\n");
        let (cli, _, _) = parse(args(&[
            "sessiond",
            "check",
            "--config",
            f.path().to_str().unwrap(),
        ]))
        .unwrap();
        assert!(matches!(cli.command, Command::Check));
        assert_eq!(cli.data_dir, std::path::PathBuf::from("/srv/s"));
    }

    #[test]
    fn print_shows_sources_as_toml_and_redacts_secrets() {
        let f = file("listen = \"0.0.0.0:9000\"\n");
        let (_, m, sources) = parse(args(&[
            "sessiond",
            "config",
            "print",
            "--config",
            f.path().to_str().unwrap(),
            "--issuer",
            "https://id.example",
        ]))
        .unwrap();
        let out = print(&sources, &m);
        assert!(
            out.contains("listen = \"0.0.0.0:9000\"   # config file"),
            "{out}"
        );
        assert!(
            out.contains("issuer = \"https://id.example\"   # flag"),
            "{out}"
        );
        assert!(out.contains("cache_mib = 24   # default"), "{out}");
        let settings: String = out
            .lines()
            .map(|l| l.split("   #").next().unwrap_or(""))
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n");
        settings
            .parse::<toml::Table>()
            .expect("print is valid TOML");
        assert!(is_secret("metrics_token") && !is_secret("token_cache_entries"));
    }
}
