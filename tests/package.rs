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
}

impl Drop for Chroot {
    fn drop(&mut self) {
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
                notice(&format!(
                    "cannot unmount {}/proc; left the root in place",
                    self.root.display()
                ));
                return;
            }
        }
        if std::env::var_os("CALLBOX_KEEP_TEST_DIRS").is_none() {
            let _ = Command::new("rm").arg("-rf").arg(&self.root).status();
        }
    }
}

/// The cached minbase bookworm root, made by debootstrap if missing. Err says why
/// it cannot be had.
fn debootstrap_cache() -> Result<PathBuf, String> {
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

fn chroot_from(cache: &Path) -> Chroot {
    let root = scratch().join(format!("package-root-{}", std::process::id()));
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
    let log = scratch().join(format!("package-serve-{}.log", std::process::id()));
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
    let c = chroot_from(cache);
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
