//! The configuration file as an operator writes it: defaults, a full file, and the
//! mistakes people make, each rejected with the file, line, key and what was expected.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use callbox::config::{Config, ConfigError, LogLevel};

fn err(text: &str) -> ConfigError {
    Config::parse(text, "callbox.toml").expect_err("this file must be refused")
}

#[test]
fn an_empty_file_means_the_documented_defaults() {
    let c = Config::parse("", "callbox.toml").unwrap();
    assert_eq!(c, Config::default());
    assert_eq!(c.data_dir, PathBuf::from("./var"));
    assert_eq!(c.db_path(), PathBuf::from("./var/callbox.db"));
    assert_eq!(c.recordings_dir(), PathBuf::from("./var/recordings"));
    assert_eq!(c.log_level.filter(), log::LevelFilter::Info);
    assert_eq!(c.sip.listen, "0.0.0.0:5060".parse::<SocketAddr>().unwrap());
    assert_eq!(c.sip.realm, "callbox");
    assert_eq!(c.sip.min_expires, Duration::from_secs(60));
    assert_eq!(c.sip.max_expires, Duration::from_secs(3600));
    assert_eq!(c.sip.nonce_lifetime, Duration::from_secs(300));
    assert_eq!(c.sip.qualify_interval, None);
    assert_eq!(c.sip.session_expires, Some(Duration::from_secs(1800)));
    assert_eq!(c.sip.outbound_prefix, "9");
    assert_eq!((c.rtp.port_min, c.rtp.port_max), (10000, 20000));
    assert_eq!(c.rtp.advertise, None);
    assert_eq!(c.rtp.timeout, Duration::from_secs(60));
    assert_eq!(c.http.listen, "0.0.0.0:8080".parse::<SocketAddr>().unwrap());
    assert!(c.recording.enabled);
    // Auto-detection never advertises an address no peer could send to.
    assert!(!c.rtp.advertise_ip().is_unspecified());
}

#[test]
fn a_full_file_sets_every_key() {
    let text = r#"
# callbox on the office server
data_dir = "/var/lib/callbox"
log_level = "debug"

[sip]
listen = "192.168.1.10:5080"
realm = "office"
user_agent = "callbox-test"
min_expires = 30
max_expires = 600
nonce_lifetime = 120
qualify_interval = 25
session_expires = 0
outbound_prefix = "0"

[rtp]
bind = "192.168.1.10"
advertise = "203.0.113.5"
port_min = 30000
port_max = 30100
timeout = 20

[http]
listen = "127.0.0.1:8081"

[recording]
enabled = false
"#;
    let c = Config::parse(text, "callbox.toml").unwrap();
    assert_eq!(c.data_dir, PathBuf::from("/var/lib/callbox"));
    assert_eq!(c.log_level, LogLevel::Debug);
    assert_eq!(
        c.sip.listen,
        "192.168.1.10:5080".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(c.sip.realm, "office");
    assert_eq!(c.sip.user_agent, "callbox-test");
    assert_eq!(c.sip.min_expires, Duration::from_secs(30));
    assert_eq!(c.sip.max_expires, Duration::from_secs(600));
    assert_eq!(c.sip.nonce_lifetime, Duration::from_secs(120));
    assert_eq!(c.sip.qualify_interval, Some(Duration::from_secs(25)));
    assert_eq!(c.sip.session_expires, None);
    assert_eq!(c.sip.outbound_prefix, "0");
    assert_eq!(c.rtp.bind, "192.168.1.10".parse::<IpAddr>().unwrap());
    assert_eq!(
        c.rtp.advertise_ip(),
        "203.0.113.5".parse::<IpAddr>().unwrap()
    );
    assert_eq!((c.rtp.port_min, c.rtp.port_max), (30000, 30100));
    assert_eq!(c.rtp.timeout, Duration::from_secs(20));
    assert_eq!(
        c.http.listen,
        "127.0.0.1:8081".parse::<SocketAddr>().unwrap()
    );
    assert!(!c.recording.enabled);
}

#[test]
fn a_specific_bind_address_is_advertised_when_advertise_is_empty() {
    let c = Config::parse("[rtp]\nbind = \"127.0.0.2\"\nadvertise = \"\"\n", "x").unwrap();
    assert_eq!(c.rtp.advertise_ip(), "127.0.0.2".parse::<IpAddr>().unwrap());
}

#[test]
fn an_unknown_key_is_named_with_its_line() {
    let e = err("log_level = \"info\"\n\n[sip]\nlisten = \"0.0.0.0:5060\"\nlisten_port = 5060\n");
    assert_eq!(e.line(), Some(5));
    assert_eq!(e.key(), Some("sip.listen_port"));
    let shown = e.to_string();
    assert!(
        shown.starts_with("callbox.toml:5: sip.listen_port: unknown key"),
        "{shown}"
    );
    assert!(
        shown.contains("listen, realm"),
        "names what is allowed: {shown}"
    );

    let e = err("[sipp]\nlisten = \"0.0.0.0:5060\"\n");
    assert_eq!((e.line(), e.key()), (Some(1), Some("sipp")), "{e}");
}

#[test]
fn a_bad_port_says_what_a_port_is() {
    let e = err("data_dir = \"/tmp/x\"\n\n[rtp]\n\nport_min = 70000\n");
    assert_eq!(
        e.to_string(),
        "callbox.toml:5: rtp.port_min = 70000: expected a port number 1024-65535"
    );
    let e = err("[rtp]\nport_max = \"high\"\n");
    assert_eq!(
        e.to_string(),
        "callbox.toml:2: rtp.port_max = \"high\": expected a port number 1024-65535"
    );
    let e = err("[rtp]\nport_min = 80\n");
    assert_eq!(e.key(), Some("rtp.port_min"), "{e}");
}

#[test]
fn port_min_above_port_max_is_refused() {
    let e = err("[rtp]\nport_min = 20000\nport_max = 10000\n");
    assert_eq!(
        e.to_string(),
        "callbox.toml:3: rtp.port_max = 10000: expected a value above rtp.port_min (20000)"
    );
    // Only the lower bound in the file, above the default upper one.
    let e = err("[rtp]\nport_min = 30000\n");
    assert_eq!((e.line(), e.key()), (Some(2), Some("rtp.port_min")), "{e}");
    let e = err("[sip]\nmin_expires = 600\nmax_expires = 60\n");
    assert_eq!(
        (e.line(), e.key()),
        (Some(3), Some("sip.max_expires")),
        "{e}"
    );
}

#[test]
fn a_bad_address_is_named() {
    let e = err("[sip]\nrealm = \"x\"\nlisten = \"0.0.0.0\"\n");
    assert_eq!(
        e.to_string(),
        "callbox.toml:3: sip.listen = \"0.0.0.0\": expected an address and port, such as \"0.0.0.0:5060\""
    );
    let e = err("[rtp]\nadvertise = \"0.0.0.0\"\n");
    assert_eq!((e.line(), e.key()), (Some(2), Some("rtp.advertise")), "{e}");
    let e = err("[http]\nlisten = \"localhost:80800\"\n");
    assert_eq!((e.line(), e.key()), (Some(2), Some("http.listen")), "{e}");
    let e = err("[http]\nlisten = \"0.0.0.0:5060\"\n");
    assert!(e.to_string().contains("same port as sip.listen"), "{e}");
}

#[test]
fn other_mistakes() {
    let e = err("log_level = \"verbose\"\n");
    assert_eq!(e.key(), Some("log_level"), "{e}");
    assert!(e.to_string().contains("\"error\", \"warn\""), "{e}");
    let e = err("[sip]\nrealm = 'a\"b'\n");
    assert_eq!(e.key(), Some("sip.realm"), "{e}");
    let e = err("[sip]\noutbound_prefix = \"9a\"\n");
    assert_eq!(e.key(), Some("sip.outbound_prefix"), "{e}");
    let e = err("[sip]\nsession_expires = 30\n");
    assert_eq!(e.key(), Some("sip.session_expires"), "{e}");
    let e = err("[recording]\nenabled = \"yes\"\n");
    assert_eq!(
        e.to_string(),
        "callbox.toml:2: recording.enabled = \"yes\": expected true or false"
    );
    // Broken TOML syntax still points at its line.
    let e = err("data_dir = \"./var\"\n[sip\n");
    assert_eq!(e.line(), Some(2), "{e}");
}

#[test]
fn load_reads_a_file_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("callbox.toml");
    std::fs::write(&path, "[rtp]\nport_min = 1\n").unwrap();
    let e = Config::load(&path).unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&format!("{}:2: rtp.port_min = 1:", path.display())),
        "{e}"
    );
    let missing = Config::load(&dir.path().join("nope.toml")).unwrap_err();
    assert!(matches!(missing, ConfigError::Read { .. }), "{missing}");
    std::fs::write(&path, "[http]\nlisten = \"127.0.0.1:0\"\n").unwrap();
    assert_eq!(Config::load(&path).unwrap().http.listen.port(), 0);
}
