//! The Debian package (`debian/`, `make deb`): built, linted, installed, upgraded,
//! removed and purged in a throwaway Debian 12 root.
//!
//! It owns nothing in the tree: every build happens in a copy under
//! `target/tmp/`, the tree's `debian/changelog` is never edited (the upgrade's
//! bumped version is written into a copy), and the Debian root is a copy of a
//! cached `debootstrap --variant=minbase bookworm` (`target/debootstrap-bookworm`,
//! made on the first run). The package reuses the test build's binary
//! (`CALLBOX_BIN`), so `make test` does not build release a second time.
//! The tricky parts: `systemd-analyze verify` insists that `ExecStart=` exists, so
//! it checks a temporary copy of the unit whose `ExecStart=` points at the test
//! binary; `/proc` is mounted in the root while it is used and unmounted before the
//! root is deleted (never delete through a live mount); and where no chroot can be
//! had (not root, no debootstrap, no network) the test says so on stderr and falls
//! back to `dpkg-deb -x` checks instead of passing quietly.
//!
//! The second test runs the installed service under a real systemd: a copy of a
//! second cached root (`target/debootstrap-bookworm-systemd`: the first plus systemd
//! and the check tools) is booted by `systemd-nspawn` (private network, under
//! `timeout`), and a oneshot unit inside kills and hangs the daemon and stops it,
//! writing its findings to `/root/result` before it powers off. Where nspawn cannot
//! boot, it says why on stderr and runs the chroot checks instead
//! (`CALLBOX_REQUIRE_NSPAWN=1` makes that a failure).

use std::fs;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const SRC: &str = env!("CARGO_MANIFEST_DIR");
const TEST_BIN: &str = env!("CARGO_BIN_EXE_callbox");
const VERSION: &str = env!("CARGO_PKG_VERSION");
const UPGRADE_SUFFIX: &str = "+upgradetest1";
const SOUND_DIRS: [&str; 3] = ["zh-CN", "en", "moh"];

/// `<target>/tmp`, the scratch space cargo gives integration tests.
fn scratch() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

fn target_dir() -> PathBuf {
    scratch()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(SRC).join("target"))
}

/// Said on stderr even when the test passes (cargo captures only the print macros).
fn notice(message: &str) {
    let _ = writeln!(std::io::stderr(), "tests/package.rs: {message}");
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Runs `cmd` with no standard input (a prompt fails instead of hanging).
fn output(cmd: &mut Command) -> Output {
    match cmd.stdin(Stdio::null()).output() {
        Ok(out) => out,
        Err(e) => panic!("cannot run `{}`: {e}", describe(cmd)),
    }
}

/// Runs `cmd` and returns its stdout; panics with both outputs if it fails.
fn run(cmd: &mut Command) -> String {
    let out = output(cmd);
    if !out.status.success() {
        panic!(
            "`{}` failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
            describe(cmd),
            out.status,
            text(&out.stdout),
            text(&out.stderr)
        );
    }
    text(&out.stdout)
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn is_root() -> bool {
    run(Command::new("id").arg("-u")).trim() == "0"
}

fn arch() -> String {
    run(Command::new("dpkg").arg("--print-architecture"))
        .trim()
        .to_string()
}

/// `target/tmp/<name>-<pid>`, empty: runs side by side never share one.
fn fresh_dir(name: &str) -> PathBuf {
    let dir = scratch().join(format!("{name}-{}", std::process::id()));
    if dir.exists() {
        run(Command::new("rm").arg("-rf").arg(&dir));
    }
    fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// The packaging sources: what `make deb` copies (debian/, sounds/, the docs).
fn stage_sources(stage: &Path) {
    fs::create_dir_all(stage.join("docs")).expect("stage dir");
    let mut cp = Command::new("cp");
    cp.arg("-r");
    for item in ["debian", "sounds", "README.md"] {
        cp.arg(Path::new(SRC).join(item));
    }
    run(cp.arg(stage));
    run(Command::new("cp")
        .arg(Path::new(SRC).join("docs/configuration.md"))
        .arg(stage.join("docs")));
}

/// The .deb the way a developer makes it: `make deb`, with the test's binary.
fn build_with_make(out: &Path) -> PathBuf {
    run(Command::new("make")
        .arg("-C")
        .arg(SRC)
        .arg("deb")
        .arg(format!("CALLBOX_BIN={TEST_BIN}"))
        .arg(format!("DEB_OUT={}", out.display()))
        .env_remove("MAKEFLAGS")
        .env_remove("MAKELEVEL")
        .env_remove("MFLAGS"));
    let deb = out.join(format!("callbox_{VERSION}_{}.deb", arch()));
    assert!(deb.is_file(), "make deb made no {}", deb.display());
    deb
}

/// The same sources with a newer changelog entry on top, built by
/// dpkg-buildpackage in a copy: the upgrade's package.
fn build_bumped(dir: &Path) -> PathBuf {
    let stage = dir.join("callbox");
    stage_sources(&stage);
    let changelog = stage.join("debian/changelog");
    let old = fs::read_to_string(&changelog).expect("changelog");
    let first = old.lines().next().unwrap_or_default();
    let trailer = old
        .lines()
        .find(|l| l.starts_with(" -- "))
        .expect("changelog trailer");
    assert!(
        first.starts_with(&format!("callbox ({VERSION})")),
        "debian/changelog's version is not Cargo.toml's {VERSION}: {first}"
    );
    let bumped = format!(
        "callbox ({VERSION}{UPGRADE_SUFFIX}) unstable; urgency=medium\n\n  * Upgrade test build.\n\n{trailer}\n\n{old}"
    );
    fs::write(&changelog, bumped).expect("write changelog copy");
    run(Command::new("dpkg-buildpackage")
        .args(["--no-sign", "-b"])
        .current_dir(&stage)
        .env("CALLBOX_BIN", TEST_BIN)
        .env_remove("MAKEFLAGS")
        .env_remove("MAKELEVEL")
        .env_remove("MFLAGS"));
    let deb = dir.join(format!("callbox_{VERSION}{UPGRADE_SUFFIX}_{}.deb", arch()));
    assert!(deb.is_file(), "dpkg-buildpackage made no {}", deb.display());
    deb
}

/// The prompts in the tree, as `usr/share/callbox/sounds/<dir>/<file>`.
fn tree_sounds() -> Vec<String> {
    let mut all = Vec::new();
    for dir in SOUND_DIRS {
        let entries = fs::read_dir(Path::new(SRC).join("sounds").join(dir)).expect("sounds dir");
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".wav") {
                all.push(format!("usr/share/callbox/sounds/{dir}/{name}"));
            }
        }
    }
    assert!(all.len() > 50, "too few prompts in sounds/: {}", all.len());
    all
}

/// The files every install must have (relative to the root).
fn expected_files() -> Vec<String> {
    let mut files = vec![
        "usr/bin/callbox".to_string(),
        "lib/systemd/system/callbox.service".to_string(),
        "etc/callbox/callbox.toml".to_string(),
        "usr/share/doc/callbox/copyright".to_string(),
    ];
    files.extend(tree_sounds());
    files
}

fn check_control(deb: &Path) {
    let info = run(Command::new("dpkg-deb").arg("-I").arg(deb));
    let field = |name: &str| -> String {
        info.lines()
            .find_map(|l| l.trim_start().strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no {name} in dpkg-deb -I:\n{info}"))
            .to_string()
    };
    assert_eq!(field("Package"), "callbox");
    assert_eq!(field("Version"), VERSION);
    assert_eq!(field("Architecture"), arch());
    let depends = field("Depends");
    for needed in ["libsofia-sip-ua0", "libc6", "adduser"] {
        assert!(
            depends.contains(needed),
            "Depends lacks {needed}: {depends}"
        );
    }
    assert!(
        !depends.contains("-dev"),
        "Depends names a -dev package: {depends}"
    );
    let conffiles = run(Command::new("dpkg-deb")
        .args(["--info"])
        .arg(deb)
        .arg("conffiles"));
    assert_eq!(conffiles.trim(), "/etc/callbox/callbox.toml");
    for script in ["postinst", "postrm", "prerm"] {
        let body = run(Command::new("dpkg-deb").arg("--info").arg(deb).arg(script));
        assert!(body.starts_with("#!/bin/sh"), "{script}: {body}");
    }
    let postinst = run(Command::new("dpkg-deb")
        .arg("--info")
        .arg(deb)
        .arg("postinst"));
    assert!(
        postinst.contains("deb-systemd-invoke"),
        "postinst starts no service"
    );
    assert!(postinst.contains("journalctl -u callbox"));

    let listing = run(Command::new("dpkg-deb").arg("-c").arg(deb));
    let paths: Vec<&str> = listing
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .map(|p| p.trim_start_matches("./"))
        .collect();
    for f in expected_files() {
        assert!(paths.contains(&f.as_str()), "{} lacks {f}", deb.display());
    }
    assert!(
        !paths.iter().any(|p| p.starts_with("var/lib/callbox")),
        "the package ships /var/lib/callbox; postinst makes it"
    );
    let bin = listing
        .lines()
        .find(|l| l.ends_with("./usr/bin/callbox"))
        .unwrap_or_default();
    assert!(bin.starts_with("-rwxr-xr-x root/root"), "{bin}");
}

/// The README's "The Debian package" section.
fn readme_section() -> String {
    let readme = fs::read_to_string(Path::new(SRC).join("README.md")).expect("README.md");
    let start = readme
        .find("## The Debian package")
        .expect("README.md has no \"## The Debian package\" section");
    let rest = &readme[start + 3..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    rest[..end].to_string()
}

/// lintian: no error; each warning's tag explained in the README section.
fn check_lintian(deb: &Path) {
    let out = output(
        Command::new("lintian")
            .args(["--fail-on", "error", "--no-tag-display-limit"])
            .arg(deb),
    );
    let report = text(&out.stdout);
    let section = readme_section();
    let mut unexplained = Vec::new();
    for line in report.lines() {
        let mut parts = line.splitn(3, ": ");
        let (Some(kind), Some(_pkg), Some(rest)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let tag = rest.split_whitespace().next().unwrap_or_default();
        match kind {
            "E" => panic!("lintian error: {line}\n{report}"),
            "W" if !section.contains(&format!("`{tag}`")) => unexplained.push(line.to_string()),
            _ => {}
        }
    }
    assert!(
        out.status.success(),
        "lintian failed ({}):\n{report}\n{}",
        out.status,
        text(&out.stderr)
    );
    assert!(
        unexplained.is_empty(),
        "lintian warnings not explained in README.md's \"The Debian package\": {unexplained:#?}"
    );
}

fn unit_value(unit: &str, key: &str) -> String {
    unit.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("callbox.service has no {key}="))
        .to_string()
}

/// The unit's settings, and `systemd-analyze verify` on a copy whose `ExecStart=`
/// names the test binary (verify refuses a command that does not exist here; the
/// package's `/usr/bin/callbox` is not installed on this machine).
fn check_unit() {
    let path = Path::new(SRC).join("debian/callbox.service");
    let unit = fs::read_to_string(&path).expect("debian/callbox.service");
    for (key, want) in [
        ("Type", "notify"),
        ("NotifyAccess", "main"),
        ("WatchdogSec", "30"),
        ("Restart", "on-failure"),
        ("User", "callbox"),
        (
            "ExecStart",
            "/usr/bin/callbox serve --config /etc/callbox/callbox.toml",
        ),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ReadWritePaths", "/var/lib/callbox"),
        ("PrivateTmp", "yes"),
        ("ProtectHome", "yes"),
        ("CapabilityBoundingSet", "CAP_NET_BIND_SERVICE"),
        ("AmbientCapabilities", "CAP_NET_BIND_SERVICE"),
    ] {
        assert_eq!(unit_value(&unit, key), want, "callbox.service {key}=");
    }
    let families = unit_value(&unit, "RestrictAddressFamilies");
    for f in ["AF_INET", "AF_INET6", "AF_UNIX", "AF_NETLINK"] {
        assert!(families.split_whitespace().any(|x| x == f), "{families}");
    }
    // Stopping must outlast the drain the shipped configuration asks for.
    let stop: u64 = unit_value(&unit, "TimeoutStopSec")
        .trim_end_matches('s')
        .parse()
        .expect("TimeoutStopSec in seconds");
    let toml = fs::read_to_string(Path::new(SRC).join("debian/callbox.toml")).expect("conffile");
    let drain: u64 = toml
        .lines()
        .find_map(|l| l.trim().strip_prefix("drain_secs = "))
        .expect("drain_secs in debian/callbox.toml")
        .parse()
        .expect("drain_secs");
    assert!(
        stop > drain,
        "TimeoutStopSec={stop} is not above drain_secs = {drain}"
    );

    let dir = fresh_dir("package-unit");
    let copy = dir.join("callbox.service");
    let rewritten = unit.replace(
        "ExecStart=/usr/bin/callbox ",
        &format!("ExecStart={TEST_BIN} "),
    );
    fs::write(&copy, rewritten).expect("unit copy");
    let out = output(Command::new("systemd-analyze").arg("verify").arg(&copy));
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    let about_us: Vec<&str> = said.lines().filter(|l| l.contains("callbox")).collect();
    assert!(
        out.status.success() && about_us.is_empty(),
        "systemd-analyze verify (on a copy with ExecStart={TEST_BIN}):\n{said}"
    );
}

/// A copy of the cached Debian 12 root with `/proc` mounted; unmounted and deleted
/// on drop (kept, and said so, if the unmount fails).
struct Chroot {
    root: PathBuf,
    proc_mounted: bool,
}

impl Chroot {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("chroot");
        c.arg(&self.root)
            .args(args)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("HOME", "/root")
            .env("LC_ALL", "C")
            .env("DEBIAN_FRONTEND", "noninteractive");
        c
    }

    fn run(&self, args: &[&str]) -> String {
        run(&mut self.cmd(args))
    }

    fn path(&self, inside: &str) -> PathBuf {
        self.root.join(inside.trim_start_matches('/'))
    }

    /// apt-get in the root; on failure once more after `apt-get update` (the
    /// cached package lists may be older than the mirror).
    fn apt(&self, args: &[&str]) -> String {
        let mut full = vec!["apt-get", "-y", "-q", "--no-install-recommends"];
        full.extend_from_slice(args);
        let out = output(&mut self.cmd(&full));
        if out.status.success() {
            return text(&out.stdout);
        }
        notice(&format!(
            "apt-get {args:?} failed, retrying after apt-get update: {}",
            text(&out.stderr)
        ));
        self.run(&["apt-get", "update", "-q"]);
        self.run(&full)
    }

    /// `(uid, gid, home, shell)` of `name`, or None.
    fn user(&self, name: &str) -> Option<(u32, u32, String, String)> {
        let out = output(&mut self.cmd(&["getent", "passwd", name]));
        if !out.status.success() {
            return None;
        }
        let line = text(&out.stdout);
        let f: Vec<&str> = line.trim().split(':').collect();
        Some((
            f[2].parse().ok()?,
            f[3].parse().ok()?,
            f[5].to_string(),
            f[6].to_string(),
        ))
    }

    fn has_group(&self, name: &str) -> bool {
        output(&mut self.cmd(&["getent", "group", name]))
            .status
            .success()
    }

    fn status(&self) -> String {
        let out = output(&mut self.cmd(&[
            "dpkg-query",
            "-W",
            "-f=${db:Status-Abbrev} ${Version}",
            "callbox",
        ]));
        text(&out.stdout).trim().to_string()
    }

    /// Unmounts `/proc` (before a boot, or before the root is renamed); false if
    /// it stays mounted.
    fn unmount_proc(&mut self) -> bool {
        if self.proc_mounted {
            let ok = Command::new("umount")
                .arg(self.root.join("proc"))
                .status()
                .is_ok_and(|s| s.success())
                || Command::new("umount")
                    .arg("-l")
                    .arg(self.root.join("proc"))
                    .status()
                    .is_ok_and(|s| s.success());
            if !ok {
                return false;
            }
            self.proc_mounted = false;
        }
        true
    }
}

impl Drop for Chroot {
    fn drop(&mut self) {
        if !self.unmount_proc() {
            notice(&format!(
                "cannot unmount {}/proc; left the root in place",
                self.root.display()
            ));
            return;
        }
        if std::env::var_os("CALLBOX_KEEP_TEST_DIRS").is_none() {
            let _ = Command::new("rm").arg("-rf").arg(&self.root).status();
        }
    }
}

/// Held while a cached root is made: the tests in this file run side by side.
fn cache_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The cached minbase bookworm root, made by debootstrap if missing. Err says why
/// it cannot be had.
fn debootstrap_cache() -> Result<PathBuf, String> {
    let _made_by_one = cache_lock();
    let cache = target_dir().join("debootstrap-bookworm");
    if cache.join(".complete").is_file() {
        return Ok(cache);
    }
    if !is_root() {
        return Err("not root: debootstrap and chroot need root".into());
    }
    if !have("debootstrap") {
        return Err("debootstrap is not installed (make test-deps installs it)".into());
    }
    let partial = target_dir().join(format!(
        "debootstrap-bookworm.partial-{}",
        std::process::id()
    ));
    let _ = Command::new("rm").arg("-rf").arg(&partial).status();
    let started = std::time::Instant::now();
    let out = output(
        Command::new("debootstrap")
            .args(["--variant=minbase", "bookworm"])
            .arg(&partial)
            .arg("http://deb.debian.org/debian"),
    );
    if !out.status.success() {
        let _ = Command::new("rm").arg("-rf").arg(&partial).status();
        return Err(format!(
            "debootstrap failed (no network to deb.debian.org?): {}{}",
            text(&out.stdout).lines().last().unwrap_or_default(),
            text(&out.stderr)
        ));
    }
    fs::write(partial.join(".complete"), "").expect("mark cache");
    if fs::rename(&partial, &cache).is_err() {
        // Another run made it meanwhile.
        let _ = Command::new("rm").arg("-rf").arg(&partial).status();
    }
    notice(&format!(
        "made {} in {:.0?}",
        cache.display(),
        started.elapsed()
    ));
    Ok(cache)
}

/// A copy of `cache` as `target/tmp/<name>-<pid>`, `/proc` mounted, services
/// barred by a policy-rc.d.
fn chroot_from(cache: &Path, name: &str) -> Chroot {
    let root = scratch().join(format!("{name}-{}", std::process::id()));
    if root.exists() {
        assert!(
            !fs::read_to_string("/proc/self/mountinfo")
                .unwrap_or_default()
                .contains(&root.display().to_string()),
            "{} has a mount in it",
            root.display()
        );
        run(Command::new("rm").arg("-rf").arg(&root));
    }
    run(Command::new("cp").arg("-a").arg(cache).arg(&root));
    let mut chroot = Chroot {
        root,
        proc_mounted: false,
    };
    run(Command::new("mount")
        .args(["-t", "proc", "proc"])
        .arg(chroot.root.join("proc")));
    chroot.proc_mounted = true;
    let _ = fs::copy("/etc/resolv.conf", chroot.path("/etc/resolv.conf"));
    // Services never start in the test root, whatever init it believes in.
    let policy = chroot.path("/usr/sbin/policy-rc.d");
    fs::write(&policy, "#!/bin/sh\nexit 101\n").expect("policy-rc.d");
    fs::set_permissions(&policy, fs::Permissions::from_mode(0o755)).expect("chmod");
    chroot
}

/// Keeps the .debs apt fetched, so the next run needs no network for them.
fn save_downloads(chroot: &Chroot, cache: &Path) {
    let from = chroot.path("/var/cache/apt/archives");
    let to = cache.join("var/cache/apt/archives");
    if let Ok(entries) = fs::read_dir(from) {
        for e in entries.flatten() {
            let name = e.file_name();
            if name.to_string_lossy().ends_with(".deb") && !to.join(&name).exists() {
                let _ = fs::copy(e.path(), to.join(&name));
            }
        }
    }
}

fn check_installed(c: &Chroot, version: &str) {
    assert_eq!(c.status(), format!("ii  {version}"));
    for f in expected_files() {
        assert!(c.path(&f).is_file(), "installed root lacks /{f}");
    }
    let (uid, gid, home, shell) = c.user("callbox").expect("no callbox user");
    assert!(uid < 1000, "callbox is not a system user (uid {uid})");
    assert_eq!(home, "/var/lib/callbox");
    assert_eq!(shell, "/usr/sbin/nologin");
    assert!(c.has_group("callbox"));
    let data = fs::metadata(c.path("/var/lib/callbox")).expect("/var/lib/callbox");
    assert!(data.is_dir());
    assert_eq!(
        (data.uid(), data.gid()),
        (uid, gid),
        "/var/lib/callbox owner"
    );
    assert_eq!(data.mode() & 0o777, 0o750, "/var/lib/callbox mode");
    let conffiles = c.run(&["dpkg-query", "-W", "-f=${Conffiles}", "callbox"]);
    assert!(
        conffiles.contains("/etc/callbox/callbox.toml"),
        "not a conffile: {conffiles}"
    );
    // The binary runs there: its libraries resolve from the package's Depends.
    assert_eq!(
        c.run(&["/usr/bin/callbox", "version"]).trim(),
        format!("callbox {VERSION}")
    );
    let checked = c.run(&["/usr/bin/callbox", "check-config"]);
    assert!(
        checked.contains("/etc/callbox/callbox.toml: ok (data in /var/lib/callbox)"),
        "{checked}"
    );
    // As the service's user, through the unit's own command line.
    c.run(&[
        "setpriv",
        "--reuid=callbox",
        "--regid=callbox",
        "--init-groups",
        "/usr/bin/callbox",
        "check-config",
        "--config",
        "/etc/callbox/callbox.toml",
    ]);
    // Enabled for the next boot where systemd runs.
    if c.path("/usr/bin/deb-systemd-helper").exists() {
        // A link to /lib/systemd/system/callbox.service: absolute, so not followed.
        let wants = c.path("/etc/systemd/system/multi-user.target.wants/callbox.service");
        assert!(
            fs::symlink_metadata(&wants).is_ok_and(|m| m.file_type().is_symlink()),
            "callbox.service not enabled"
        );
    }
}

/// A port free for both UDP and TCP on 127.0.0.1 (SIP listens on both).
fn free_sip_port() -> u16 {
    for _ in 0..50 {
        let Ok(udp) = std::net::UdpSocket::bind("127.0.0.1:0") else {
            continue;
        };
        let Ok(addr) = udp.local_addr() else { continue };
        if std::net::TcpListener::bind(addr).is_ok() {
            return addr.port();
        }
    }
    panic!("no free UDP+TCP port on 127.0.0.1");
}

fn free_tcp_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("free TCP port");
    l.local_addr().expect("local addr").port()
}

/// `callbox serve` as the service runs it (user callbox, the installed
/// configuration), until it has made its database; then SIGTERM. Proves the user
/// can write /var/lib/callbox and the daemon starts from the package's files.
fn serve_once(c: &Chroot) {
    let log = c.root.with_extension("serve.log");
    let file = fs::File::create(&log).expect("serve log");
    let mut cmd = Command::new("chroot");
    cmd.arg("--userspec=callbox:callbox")
        .arg(&c.root)
        .args([
            "/usr/bin/callbox",
            "serve",
            "--config",
            "/etc/callbox/callbox.toml",
        ])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(Stdio::null())
        .stdout(file.try_clone().expect("log fd"))
        .stderr(file);
    let mut child = cmd.spawn().expect("start callbox serve in the root");
    let db = c.path("/var/lib/callbox/callbox.db");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut exited = None;
    while std::time::Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            exited = Some(status);
            break;
        }
        let said = fs::read_to_string(&log).unwrap_or_default();
        if db.is_file() && said.contains("1001") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let stop_deadline = std::time::Instant::now() + std::time::Duration::from_secs(45);
    while exited.is_none() && std::time::Instant::now() < stop_deadline {
        exited = child.try_wait().ok().flatten();
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    if exited.is_none() {
        let _ = child.kill();
    }
    let _ = child.wait();
    let said = fs::read_to_string(&log).unwrap_or_default();
    assert!(
        db.is_file(),
        "callbox serve (as callbox, in the root) made no {}:\n{said}",
        db.display()
    );
    assert!(said.contains("1001"), "no demo logins printed:\n{said}");
    let owner = fs::metadata(&db).expect("db").uid();
    assert_eq!(Some(owner), c.user("callbox").map(|u| u.0), "db owner");
    let _ = fs::remove_file(log);
}

fn chroot_route(cache: &Path, first: &Path, bumped: &Path) {
    let c = chroot_from(cache, "package-root");
    for deb in [first, bumped] {
        let name = deb.file_name().expect("deb name");
        fs::copy(deb, c.path("/tmp").join(name)).expect("copy deb");
    }
    let first_in = format!(
        "/tmp/{}",
        first.file_name().unwrap_or_default().to_string_lossy()
    );
    let bumped_in = format!(
        "/tmp/{}",
        bumped.file_name().unwrap_or_default().to_string_lossy()
    );

    // Install.
    let said = c.apt(&["install", &first_in]);
    save_downloads(&c, cache);
    assert!(
        said.contains("journalctl -u callbox"),
        "postinst said:\n{said}"
    );
    assert!(
        said.contains("http://"),
        "postinst gave no web address:\n{said}"
    );
    check_installed(&c, VERSION);

    // An admin's edit (free ports on loopback, so the daemon can start here) and
    // the database the daemon makes: an upgrade keeps both.
    let conf = c.path("/etc/callbox/callbox.toml");
    let edited = fs::read_to_string(&conf)
        .expect("conffile")
        .replace("log_level = \"info\"", "log_level = \"debug\"")
        .replace("0.0.0.0:5060", &format!("127.0.0.1:{}", free_sip_port()))
        .replace("0.0.0.0:8080", &format!("127.0.0.1:{}", free_tcp_port()))
        .replace("bind = \"0.0.0.0\"", "bind = \"127.0.0.1\"")
        .replace("drain_secs = 30", "drain_secs = 1")
        + "# edited by tests/package.rs\n";
    fs::write(&conf, &edited).expect("edit conffile");
    serve_once(&c);
    let db = c.path("/var/lib/callbox/callbox.db");
    let db_before = fs::read(&db).expect("db");
    let uid = c.user("callbox").expect("callbox user").0;

    c.apt(&["install", &bumped_in]);
    let bumped_version = format!("{VERSION}{UPGRADE_SUFFIX}");
    check_installed(&c, &bumped_version);
    assert_eq!(
        fs::read_to_string(&conf).expect("conffile"),
        edited,
        "upgrade lost the edit"
    );
    assert!(
        fs::read(&db).expect("db after upgrade") == db_before,
        "the upgrade changed callbox.db"
    );
    assert_eq!(
        c.user("callbox").map(|u| u.0),
        Some(uid),
        "upgrade changed the user"
    );
    assert!(
        c.run(&["/usr/bin/callbox", "check-config"]).contains("ok"),
        "edited conffile no longer accepted"
    );

    // Remove keeps the user, the data and the configuration.
    c.apt(&["remove", "callbox"]);
    assert!(
        c.status().starts_with("rc "),
        "after remove: {}",
        c.status()
    );
    assert!(!c.path("/usr/bin/callbox").exists());
    assert!(c.user("callbox").is_some(), "remove deleted the user");
    assert!(db.is_file(), "remove deleted the database");
    assert_eq!(
        fs::read_to_string(&conf).expect("conffile after remove"),
        edited
    );

    // Purge deletes them.
    c.apt(&["purge", "callbox"]);
    assert_eq!(c.status(), "", "callbox still known to dpkg after purge");
    assert!(
        !c.path("/var/lib/callbox").exists(),
        "purge left /var/lib/callbox"
    );
    assert!(!c.path("/etc/callbox").exists(), "purge left /etc/callbox");
    assert!(c.user("callbox").is_none(), "purge left the callbox user");
    assert!(!c.has_group("callbox"), "purge left the callbox group");
}

/// Without a chroot: the package's files unpacked with dpkg-deb, and its binary run.
fn fallback_route(deb: &Path) {
    let dir = fresh_dir("package-extract");
    run(Command::new("dpkg-deb").arg("-x").arg(deb).arg(&dir));
    for f in expected_files() {
        assert!(dir.join(&f).is_file(), "extracted package lacks /{f}");
    }
    let bin = dir.join("usr/bin/callbox");
    assert_eq!(
        run(Command::new(&bin).arg("version")).trim(),
        format!("callbox {VERSION}")
    );
    run(Command::new(&bin)
        .arg("check-config")
        .arg("--config")
        .arg(dir.join("etc/callbox/callbox.toml")));
}

#[test]
fn debian_package_builds_installs_upgrades_and_purges() {
    for tool in [
        "dpkg-buildpackage",
        "dh",
        "lintian",
        "systemd-analyze",
        "fakeroot",
    ] {
        assert!(
            have(tool),
            "{tool} is missing: `make test` installs it (TEST_PKGS in the Makefile)"
        );
    }
    let started = std::time::Instant::now();
    check_unit();

    let first_dir = fresh_dir("package-deb");
    let bumped_dir = fresh_dir("package-deb-bumped");
    let first = build_with_make(&first_dir);
    let bumped = build_bumped(&bumped_dir);
    check_control(&first);
    check_lintian(&first);

    match debootstrap_cache() {
        Ok(cache) => chroot_route(&cache, &first, &bumped),
        Err(why) => {
            notice(&format!(
                "NOT INSTALLED IN A DEBIAN ROOT: {why}. Only the dpkg-deb -x checks ran; \
                 install, upgrade, remove and purge were NOT tested."
            ));
            fallback_route(&first);
        }
    }
    for dir in [
        first_dir,
        bumped_dir,
        scratch().join(format!("package-unit-{}", std::process::id())),
    ] {
        let _ = Command::new("rm").arg("-rf").arg(dir).status();
    }
    notice(&format!("package test took {:.0?}", started.elapsed()));
}

// The service under a real systemd: the package installed in a Debian 12 root that
// systemd-nspawn boots (systemd as the container's PID 1), with checks run inside by
// a oneshot unit ordered after callbox.service.

/// What the systemd root adds to the cached minbase root: systemd as init, the bus
/// systemctl talks over, and the tools the checks use (curl, ss, ps).
const SYSTEMD_PKGS: [&str; 6] = [
    "systemd",
    "systemd-sysv",
    "dbus",
    "curl",
    "iproute2",
    "procps",
];
/// The whole container run: boot, checks, poweroff (about 10 s when all is well).
const BOOT_TIMEOUT_SECS: u64 = 150;

/// For the test only: a quick watchdog and quick restarts.
const TEST_DROPIN: &str = "[Service]\nWatchdogSec=4s\nRestartSec=1s\n";

const CHECK_UNIT: &str = "[Unit]
Description=tests/package.rs: callbox under systemd
After=callbox.service

[Service]
Type=oneshot
ExecStart=/bin/sh /root/check.sh
StandardOutput=journal+console
";

/// Run in the container by callbox-check.service. Every wait is a poll with a
/// deadline. One finding a line in /root/result (moved there at the end; a partial
/// run leaves /root/result.tmp), echoed on the console; then it powers off.
const CHECK_SH: &str = r##"#!/bin/sh
out=/root/result.tmp
: > "$out"
say() { echo "$*" >> "$out"; echo "check: $*"; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }
# until_ok SECONDS COMMAND...: COMMAND every 0.2 s until it succeeds, for at most SECONDS.
until_ok() {
    end=$(( $(date +%s) + $1 )); shift
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$end" ] || return 1
        sleep 0.2
    done
}
prop() { systemctl show -p "$1" --value callbox.service; }
state() { systemctl is-active callbox.service; }
is() { [ "$(state)" = "$1" ]; }
health() { curl -fsS --max-time 2 http://127.0.0.1:8080/health | tr -d '\n'; }
# restarted N OLDPID: active again, restarted N times, with another main process.
restarted() {
    is active && [ "$(prop NRestarts)" = "$1" ] && p=$(prop MainPID) &&
        [ "$p" != 0 ] && [ "$p" != "$2" ]
}
unit_log() { journalctl -u callbox.service -o cat --no-pager; }
say booted

# (1) Up: READY=1 arrived (Type=notify), the web answers, SIP is bound by callbox.
until_ok 30 is active
say "active $(state)"
until_ok 15 health
say "health $(health)"
say "interfaces $(ls /sys/class/net | tr '\n' ' ')"
say "loopback $(ip -o -4 addr show dev lo | awk '{ print $4 }')"
pid=$(prop MainPID)
say "user $(ps -o user= -p "$pid")"
say "caps $(grep -E '^(CapEff|NoNewPrivs):' /proc/"$pid"/status | tr -s '\t\n' '  ')"
say "udp5060 $(ss -Hlunp 'sport = :5060' | tr -s ' \n' '  ')"
say "tcp5060 $(ss -Hltnp 'sport = :5060' | tr -s ' \n' '  ')"
# (2) The watchdog the drop-in asks for.
say "props $(systemctl show -p WatchdogUSec -p NRestarts -p MainPID callbox.service | sort | tr '\n' ' ')"
inode=$(stat -c %i /var/lib/callbox/callbox.db)

# (3) A crash.
n=$(prop NRestarts)
kill -9 "$pid"
t=$(ms)
until_ok 15 restarted $((n + 1)) "$pid"
say "kill9 $(( $(ms) - t ))ms $(state) NRestarts=$(prop NRestarts) MainPID=$(prop MainPID) was=$pid"
until_ok 10 health
say "kill9-health $(health)"

# (4) A hang: the process lives on, only the watchdog can tell.
pid=$(prop MainPID)
n=$(prop NRestarts)
kill -STOP "$pid"
t=$(ms)
until_ok 20 restarted $((n + 1)) "$pid"
say "hang $(( $(ms) - t ))ms $(state) NRestarts=$(prop NRestarts) MainPID=$(prop MainPID) was=$pid"
until_ok 10 health
say "hang-health $(health)"
say "results $(unit_log | grep -o "Failed with result '[a-z-]*'" | cut -d"'" -f2 | tr '\n' ' ')"
[ "$(stat -c %i /var/lib/callbox/callbox.db)" = "$inode" ] && kept=yes || kept=no
say "database same-file=$kept seeded=$(unit_log | grep -c 'A demo call center was set up')"
say "agents $(setpriv --reuid=callbox --regid=callbox --init-groups /usr/bin/callbox agents 2>&1 | awk '{ print $1 }' | tr '\n' ' ')"

# (5) A clean stop, logged to the journal with the daemon's fields.
t=$(ms)
systemctl stop --no-block callbox.service
until_ok 20 is inactive
say "stop $(( $(ms) - t ))ms $(state) Result=$(prop Result)"
say "stopping $(journalctl -u callbox.service -o export --no-pager | awk -v RS= '/(^|\n)MESSAGE=[^\n]*stopping/ && /\nCALLBOX_ROOM=/ { n++ } END { print n + 0 }')"
say "fields $(journalctl -u callbox.service -o verbose --no-pager | grep -c '^ *CALLBOX_ROOM=')"
say "failed-units $(systemctl --failed --plain --no-legend | awk '{ print $1 }' | tr '\n' ' ')"
say end
journalctl -u callbox.service -o short-monotonic --no-pager > /root/journal.txt 2>&1
mv "$out" /root/result
sync
systemctl poweroff --no-block
"##;

/// The cached root plus [`SYSTEMD_PKGS`] (`target/debootstrap-bookworm-systemd`),
/// made from `base` if missing. Err says why it cannot be had.
fn systemd_cache(base: &Path) -> Result<PathBuf, String> {
    let _made_by_one = cache_lock();
    let cache = target_dir().join("debootstrap-bookworm-systemd");
    if cache.join(".complete").is_file() {
        return Ok(cache);
    }
    let started = std::time::Instant::now();
    // Deleted on drop if anything below fails.
    let mut c = chroot_from(base, "debootstrap-bookworm-systemd.partial");
    let _ = fs::remove_file(c.path("/.complete"));
    let mut install = vec!["apt-get", "-y", "-q", "--no-install-recommends", "install"];
    install.extend_from_slice(&SYSTEMD_PKGS);
    let mut out = output(&mut c.cmd(&install));
    if !out.status.success() {
        let _ = output(&mut c.cmd(&["apt-get", "update", "-q"]));
        out = output(&mut c.cmd(&install));
    }
    if !out.status.success() {
        return Err(format!(
            "apt-get install {} failed in the root (no network?): {}",
            SYSTEMD_PKGS.join(" "),
            text(&out.stderr)
        ));
    }
    fs::remove_file(c.path("/usr/sbin/policy-rc.d")).expect("remove policy-rc.d");
    if !c.unmount_proc() {
        return Err(format!("cannot unmount {}/proc", c.root.display()));
    }
    fs::write(c.path("/.complete"), "").expect("mark cache");
    if fs::rename(&c.root, &cache).is_ok() {
        notice(&format!(
            "made {} in {:.0?}",
            cache.display(),
            started.elapsed()
        ));
    }
    Ok(cache)
}

/// `(ppid, starttime)` of a process, from /proc/PID/stat.
fn proc_stat(pid: u32) -> Option<(u32, u64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After "pid (comm) ": state ppid ...; starttime is field 22.
    let rest: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    Some((rest.get(1)?.parse().ok()?, rest.get(19)?.parse().ok()?))
}

fn children_of(parent: u32) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|&pid| proc_stat(pid).is_some_and(|(ppid, _)| ppid == parent))
        .collect()
}

/// What a container run left.
struct Boot {
    /// The complete findings (/root/result), if the checks got to the end.
    result: Option<String>,
    /// The findings so far (/root/result.tmp) when they did not.
    partial: String,
    console: String,
    journal: String,
    exit: std::process::ExitStatus,
    took: std::time::Duration,
}

impl Boot {
    fn booted(&self) -> bool {
        self.result.is_some() || self.partial.starts_with("booted")
    }

    fn findings(&self) -> &str {
        self.result.as_deref().unwrap_or(&self.partial)
    }

    fn report(&self) -> String {
        let tail: Vec<&str> = self.console.lines().rev().take(40).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!(
            "systemd-nspawn: {} after {:.0?}\n--- findings\n{}\n--- journalctl -u callbox\n{}\n--- console (last 40 lines)\n{}",
            self.exit,
            self.took,
            self.findings(),
            self.journal,
            tail.join("\n")
        )
    }
}

/// Boots `root` with systemd-nspawn (systemd as its PID 1, no network but its own
/// loopback) under `timeout`; returns when it has powered off or been killed. Every
/// process it started is gone by then: the container's init is killed by pid if
/// nspawn leaves it behind.
fn boot(root: &Path) -> Boot {
    let console_path = root.with_extension("console.log");
    let console = fs::File::create(&console_path).expect("console log");
    let mut cmd = Command::new("timeout");
    cmd.arg("--kill-after=10")
        .arg(BOOT_TIMEOUT_SECS.to_string())
        .args([
            "systemd-nspawn",
            "--register=no",
            "--keep-unit",
            "--private-network",
            "--boot",
            "--directory",
        ])
        .arg(root)
        .stdin(Stdio::null())
        .stdout(console.try_clone().expect("console fd"))
        .stderr(console);
    // Under cgroup v1 (no cgroup2 at /sys/fs/cgroup) nspawn must be told, or the
    // container's systemd cannot start its bus ("Failed to open system bus").
    if !Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        cmd.env("SYSTEMD_NSPAWN_UNIFIED_HIERARCHY", "0");
    }
    let started = std::time::Instant::now();
    let mut child = cmd.spawn().expect("start timeout systemd-nspawn");
    let hard_deadline = started + std::time::Duration::from_secs(BOOT_TIMEOUT_SECS + 30);
    // The container's init (nspawn's child): it outlives a SIGKILLed nspawn.
    let mut init: Option<(u32, u64)> = None;
    let exit = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        if init.is_none() {
            init = children_of(child.id())
                .into_iter()
                .flat_map(children_of)
                .find_map(|pid| proc_stat(pid).map(|(_, start)| (pid, start)));
        }
        if std::time::Instant::now() > hard_deadline {
            // timeout itself is stuck: its process group holds it and nspawn.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            break child.wait().expect("wait for timeout");
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    if let Some((pid, start)) = init
        && proc_stat(pid).is_some_and(|(_, s)| s == start)
    {
        notice(&format!(
            "the container's init ({pid}) outlived nspawn: killing it"
        ));
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
    }
    let took = started.elapsed();
    let read = |inside: &str| fs::read_to_string(root.join(inside)).ok();
    let mut journal = read("root/journal.txt").unwrap_or_default();
    if journal.is_empty() && have("journalctl") {
        // The checks did not get to the end: the container's persistent journal.
        journal = text(
            &output(
                Command::new("journalctl")
                    .arg("--directory")
                    .arg(root.join("var/log/journal"))
                    .args(["-u", "callbox.service", "--no-pager"]),
            )
            .stdout,
        );
    }
    let boot = Boot {
        result: read("root/result"),
        partial: read("root/result.tmp").unwrap_or_default(),
        console: fs::read_to_string(&console_path).unwrap_or_default(),
        journal,
        exit,
        took,
    };
    let _ = fs::remove_file(console_path);
    boot
}

/// The finding `key`: the rest of its line.
fn finding<'a>(boot: &'a Boot, key: &str) -> &'a str {
    boot.findings()
        .lines()
        .find_map(|l| match l.strip_prefix(key)? {
            "" => Some(""),
            rest => rest.strip_prefix(' '),
        })
        .unwrap_or_else(|| panic!("no finding \"{key}\"\n{}", boot.report()))
}

/// `NAME=value` in a finding.
fn word<'a>(line: &'a str, name: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_default()
}

/// The milliseconds a finding starts with (`1234ms ...`).
fn millis(line: &str) -> u64 {
    line.split_whitespace()
        .next()
        .and_then(|w| w.strip_suffix("ms"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX)
}

fn check_findings(boot: &Boot) {
    let report = boot.report();
    let check = |ok: bool, what: &str| assert!(ok, "{what}\n{report}");
    check(
        boot.result.is_some(),
        "the checks in the container did not finish",
    );
    check(
        finding(boot, "active") == "active",
        "callbox.service never became active",
    );
    check(
        finding(boot, "health").contains("\"status\":\"ok\""),
        "GET /health did not answer ok",
    );
    check(
        finding(boot, "interfaces").trim() == "lo",
        "the container has interfaces other than lo (--private-network)",
    );
    check(
        finding(boot, "loopback") == "127.0.0.1/8",
        "no loopback in the container",
    );
    check(
        finding(boot, "user") == "callbox",
        "the service does not run as callbox",
    );
    let caps = finding(boot, "caps");
    check(
        caps.contains("CapEff: 0000000000000400") && caps.contains("NoNewPrivs: 1"),
        "the service's capabilities are not CAP_NET_BIND_SERVICE alone",
    );
    for proto in ["udp5060", "tcp5060"] {
        check(
            finding(boot, proto).contains("users:((\"callbox\""),
            &format!("callbox does not hold port 5060 ({proto})"),
        );
    }
    let props = finding(boot, "props");
    check(
        word(props, "WatchdogUSec") == "4s",
        "the drop-in's WatchdogSec=4s is not in force",
    );
    check(
        word(props, "NRestarts") == "0",
        "restarted before the checks",
    );
    let first_pid = word(props, "MainPID");

    let kill9 = finding(boot, "kill9");
    check(
        kill9.contains(" active ") && word(kill9, "NRestarts") == "1",
        "not restarted after kill -9",
    );
    check(
        word(kill9, "MainPID") != first_pid,
        "kill -9: the same MainPID",
    );
    check(
        finding(boot, "kill9-health").contains("\"status\":\"ok\""),
        "no /health after kill -9",
    );

    let hang = finding(boot, "hang");
    check(
        hang.contains(" active ") && word(hang, "NRestarts") == "2",
        "not restarted after SIGSTOP (a hang)",
    );
    // The last ping came at most 2 s (WatchdogSec / 2) before the stop: the timeout
    // fires 2-4 s after it, the restart 1 s later. Sooner would not be the watchdog.
    check(
        (1500..15_000).contains(&millis(hang)),
        "the hang was not restarted by the watchdog (2-5 s after it began)",
    );
    check(
        finding(boot, "hang-health").contains("\"status\":\"ok\""),
        "no /health after the hang",
    );
    check(
        finding(boot, "results")
            .split_whitespace()
            .collect::<Vec<_>>()
            == ["signal", "watchdog"],
        "the unit's failures were not the kill (signal) and the hang (watchdog)",
    );
    check(
        finding(boot, "database") == "same-file=yes seeded=1",
        "the database was replaced or seeded again by a restart",
    );
    let agents = finding(boot, "agents");
    check(
        agents.contains("8001") && agents.contains("8002"),
        "`callbox agents` after the restarts lacks the demo agents",
    );

    let stop = finding(boot, "stop");
    check(
        stop.contains(" inactive Result=success") && millis(stop) < 10_000,
        "systemctl stop did not stop callbox cleanly within 10 s",
    );
    check(
        finding(boot, "stopping").parse::<u32>().unwrap_or(0) >= 1,
        "no \"stopping\" journal entry with a CALLBOX_ROOM field",
    );
    check(
        finding(boot, "fields").parse::<u32>().unwrap_or(0) >= 1,
        "no CALLBOX_ROOM= field in journalctl -u callbox -o verbose",
    );
    check(
        !finding(boot, "failed-units").contains("callbox"),
        "callbox.service is failed at the end",
    );
    check(finding(boot, "end").is_empty(), "the checks stopped early");
}

/// The systemd root for one run: the package installed and enabled, the test's
/// drop-in and check unit in place, `/proc` unmounted (nspawn mounts its own).
fn systemd_root(cache: &Path, deb: &Path) -> Chroot {
    let mut c = chroot_from(cache, "package-systemd-root");
    // Enabled and started as on a real machine (nothing runs here before the boot).
    fs::remove_file(c.path("/usr/sbin/policy-rc.d")).expect("remove policy-rc.d");
    let name = deb.file_name().expect("deb name").to_string_lossy();
    fs::copy(deb, c.path("/tmp").join(&*name)).expect("copy deb");
    c.apt(&["install", &format!("/tmp/{name}")]);
    save_downloads(&c, cache);
    check_installed(&c, VERSION);
    let dropin = c.path("/etc/systemd/system/callbox.service.d");
    fs::create_dir_all(&dropin).expect("drop-in dir");
    fs::write(dropin.join("test.conf"), TEST_DROPIN).expect("drop-in");
    fs::write(
        c.path("/etc/systemd/system/callbox-check.service"),
        CHECK_UNIT,
    )
    .expect("unit");
    std::os::unix::fs::symlink(
        "/etc/systemd/system/callbox-check.service",
        c.path("/etc/systemd/system/multi-user.target.wants/callbox-check.service"),
    )
    .expect("enable the check unit");
    fs::write(c.path("/root/check.sh"), CHECK_SH).expect("check.sh");
    assert!(c.unmount_proc(), "cannot unmount {}/proc", c.root.display());
    c
}

/// Why the container cannot be booted here, if it cannot even be tried.
fn no_nspawn() -> Option<String> {
    if !is_root() {
        return Some("not root: systemd-nspawn needs root".into());
    }
    if !have("systemd-nspawn") {
        return Some(
            "systemd-nspawn is missing (make test-deps installs systemd-container)".into(),
        );
    }
    None
}

/// Where no container boots: what the other test checks of a running daemon (the
/// package installed in a plain chroot, `callbox serve` as callbox), or the
/// dpkg-deb checks. Said on stderr; a failure with CALLBOX_REQUIRE_NSPAWN set.
fn unbooted(base: Option<&Path>, deb: &Path, why: &str) {
    let message = format!(
        "NOT RUN UNDER SYSTEMD: {why}. The service's start, watchdog, restarts and stop \
         were NOT tested; only the package's install and a `callbox serve` in a chroot."
    );
    assert!(
        std::env::var_os("CALLBOX_REQUIRE_NSPAWN").is_none(),
        "{message} (CALLBOX_REQUIRE_NSPAWN is set)"
    );
    notice(&message);
    match base {
        Some(base) => {
            let c = chroot_from(base, "package-systemd-fallback");
            let name = deb.file_name().expect("deb name").to_string_lossy();
            fs::copy(deb, c.path("/tmp").join(&*name)).expect("copy deb");
            c.apt(&["install", &format!("/tmp/{name}")]);
            check_installed(&c, VERSION);
            let conf = c.path("/etc/callbox/callbox.toml");
            let local = fs::read_to_string(&conf)
                .expect("conffile")
                .replace("0.0.0.0:5060", &format!("127.0.0.1:{}", free_sip_port()))
                .replace("0.0.0.0:8080", &format!("127.0.0.1:{}", free_tcp_port()))
                .replace("bind = \"0.0.0.0\"", "bind = \"127.0.0.1\"")
                .replace("drain_secs = 30", "drain_secs = 1");
            fs::write(&conf, local).expect("edit conffile");
            serve_once(&c);
        }
        None => fallback_route(deb),
    }
}

#[test]
fn the_installed_service_runs_under_systemd_and_comes_back_after_a_kill_or_a_hang() {
    let started = std::time::Instant::now();
    let deb_dir = fresh_dir("package-systemd-deb");
    let deb = build_with_make(&deb_dir);
    let base = match debootstrap_cache() {
        Ok(base) => base,
        Err(why) => {
            unbooted(None, &deb, &why);
            return;
        }
    };
    let cache = match no_nspawn().map_or_else(|| systemd_cache(&base), Err) {
        Ok(cache) => cache,
        Err(why) => {
            unbooted(Some(&base), &deb, &why);
            return;
        }
    };
    let root = systemd_root(&cache, &deb);
    let boot = boot(&root.root);
    if !boot.booted() {
        drop(root);
        unbooted(
            Some(&base),
            &deb,
            &format!(
                "the container did not boot to its checks\n{}",
                boot.report()
            ),
        );
        return;
    }
    check_findings(&boot);
    notice(&format!(
        "under systemd: kill -9 back in {}, a hang back in {}, stopped in {}; the boot took {:.0?}, the test {:.0?}",
        finding(&boot, "kill9")
            .split_whitespace()
            .next()
            .unwrap_or("?"),
        finding(&boot, "hang")
            .split_whitespace()
            .next()
            .unwrap_or("?"),
        finding(&boot, "stop")
            .split_whitespace()
            .next()
            .unwrap_or("?"),
        boot.took,
        started.elapsed()
    ));
    drop(root);
    let _ = Command::new("rm").arg("-rf").arg(deb_dir).status();
}
