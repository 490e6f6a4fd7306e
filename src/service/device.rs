//! What a session's user agent names — browser or app, OS, device — by
//! uap-core's patterns (the `ua-parser` crate), so in-app and mobile agents
//! are named. The patterns compile once, at start in the background
//! (≈ 1,200 regexes, ≈ 110 ms and ≈ 25 MiB); answers are cached per
//! distinct agent string.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use serde::Serialize;
use ua_parser::Extractor;

/// uap-core's `regexes.yaml`, as JSON (`assets/uap-core/README.md`).
const REGEXES: &str = include_str!("../../assets/uap-core/regexes.json");
/// Distinct agents remembered; past this the cache starts again.
const CACHE_MAX: usize = 4096;

/// A user agent, as people name it. Every field is null when unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Device {
    /// Browser or app and its major.minor version ("Instagram 300.0", "Mobile Safari 17.1").
    #[schema(required = true)]
    pub browser: Option<String>,
    /// Operating system and version ("iOS 17.1").
    #[schema(required = true)]
    pub os: Option<String>,
    /// Device model ("iPhone", "Samsung SM-G991B"); null for desktops.
    #[schema(required = true)]
    pub device: Option<String>,
}

fn extractor() -> Option<&'static Extractor<'static>> {
    static X: OnceLock<Option<Extractor<'static>>> = OnceLock::new();
    X.get_or_init(|| {
        let built = serde_json::from_str::<ua_parser::Regexes<'static>>(REGEXES)
            .map_err(|e| e.to_string())
            .and_then(|r| Extractor::try_from(r).map_err(|e| e.to_string()));
        match built {
            Ok(x) => Some(x),
            Err(e) => {
                tracing::error!(error = %e, "user agent patterns did not compile: devices go unnamed");
                None
            }
        }
    })
    .as_ref()
}

fn versioned(family: &str, major: Option<&str>, minor: Option<&str>) -> String {
    match (major, minor) {
        (Some(a), Some(b)) if !b.is_empty() => format!("{family} {a}.{b}"),
        (Some(a), _) => format!("{family} {a}"),
        _ => family.to_owned(),
    }
}

/// Parse one agent string (uncached).
fn parse(ua: &str) -> Device {
    let Some(x) = extractor() else {
        return Device::default();
    };
    let (b, o, d) = x.extract(ua);
    let known = |f: &str| f != "Other";
    Device {
        browser: b
            .filter(|b| known(&b.family))
            .map(|b| versioned(&b.family, b.major, b.minor)),
        os: o
            .filter(|o| known(&o.os))
            .map(|o| versioned(&o.os, o.major.as_deref(), o.minor.as_deref())),
        device: d.filter(|d| known(&d.device)).map(|d| {
            match (d.brand.as_deref(), d.model.as_deref()) {
                // "Apple iPhone" reads worse than "iPhone"; generic brands add nothing.
                (Some(b), Some(m)) if !m.starts_with(b) && b != "Apple" && b != "Generic" => {
                    format!("{b} {m}")
                }
                (_, Some(m)) if !m.is_empty() => m.to_owned(),
                _ => d.device.into_owned(),
            }
        }),
    }
}

/// What `ua` names, from the cache when seen before.
pub fn device(ua: Option<&str>) -> Device {
    let Some(ua) = ua.filter(|u| !u.trim().is_empty()) else {
        return Device::default();
    };
    static CACHE: OnceLock<Mutex<HashMap<String, Device>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    // Parsed under the lock (≈ 10 µs): one thread at a time keeps one set
    // of the patterns' match caches, not one per worker thread.
    let Ok(mut c) = cache.lock() else {
        return parse(ua);
    };
    if let Some(d) = c.get(ua) {
        return d.clone();
    }
    let d = parse(ua);
    if c.len() >= CACHE_MAX {
        c.clear();
    }
    c.insert(ua.to_owned(), d.clone());
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_mobile_in_app_and_desktop_agents() {
        let ig = device(Some(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 300.0.0.0.0 (iPhone14,2; iOS 17_1; en_US)",
        ));
        assert_eq!(ig.browser.as_deref(), Some("Instagram 300.0"), "{ig:?}");
        assert_eq!(ig.os.as_deref(), Some("iOS 17.1"));
        assert_eq!(ig.device.as_deref(), Some("iPhone14,2"), "{ig:?}");
        let fb = device(Some(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/430.0.0.30.107;FBBV/1;FBDV/iPhone13,3;FBMD/iPhone;FBSN/iOS;FBSV/16.6]",
        ));
        assert!(
            fb.browser
                .as_deref()
                .is_some_and(|b| b.starts_with("Facebook")),
            "{fb:?}"
        );
        let chrome = device(Some(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        ));
        assert_eq!(chrome.browser.as_deref(), Some("Chrome 120.0"));
        assert_eq!(chrome.os.as_deref(), Some("Windows 10"));
        assert_eq!(chrome.device, None);
        let android = device(Some(
            "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36",
        ));
        assert_eq!(android.os.as_deref(), Some("Android 14"));
        assert!(
            android
                .device
                .as_deref()
                .is_some_and(|d| d.contains("SM-S918B")),
            "{android:?}"
        );
    }

    #[test]
    fn unknown_and_missing_agents_name_nothing() {
        assert_eq!(device(None), Device::default());
        assert_eq!(device(Some("  ")), Device::default());
        let d = device(Some("it-sessions/1.0"));
        assert_eq!((d.os, d.device), (None, None));
    }
}
