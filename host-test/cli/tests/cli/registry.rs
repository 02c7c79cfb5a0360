//! The registry from the command line: push, sign and serve from a real `docker-registry` on
//! loopback, and the status file `serve` writes.

use crate::binary;
use route_policy_oci::OciRef;
use route_policy_testkit::{TestRegistry, key, needs_docker_registry, publish, runtime, temp_dir};
use std::process::{Command, Stdio};

needs_docker_registry! {
/// The command line: `push` prints the digest reference, `sign` attaches a signature, and
/// `serve --policy oci://…@sha256:…` answers with that policy and writes its status.
#[test]
fn push_sign_and_serve_from_the_command_line() {
    let registry = TestRegistry::start("cli");
    let dir = temp_dir("registry-cli");
    let run = |args: &[&str], stdin: &str| {
        let mut child = Command::new(binary())
            .args(args)
            .current_dir(&*dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        let output = child.wait_with_output().unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    std::fs::write(dir.join("policy.wasm"), route_policy_host::BUILTIN).unwrap();
    assert_eq!(run(&["keygen", "ops"], "").0, Some(0));
    let tag = registry.reference("policies/route:stable").to_string();
    let (code, pushed, stderr) = run(&["push", "policy.wasm", &tag], "");
    assert_eq!(code, Some(0), "{stderr}");
    let pushed = pushed.trim().to_owned();
    let at = OciRef::parse(&pushed).expect("push prints a digest reference");
    assert!(at.digest.is_some() && at.tag.is_none(), "{pushed}");
    let (code, signature, stderr) = run(&["sign", "--key", "ops.key", &pushed], "");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(signature.trim().contains("@sha256:"), "{signature}");

    let data = dir.join("data");
    let status = dir.join("status.json");
    let serve = ["serve", "--policy", &pushed, "--trusted-key", "ops.pub", "--data-dir", data.to_str().unwrap()];
    let (code, out, stderr) =
        run(&[&serve[..], &["--status", status.to_str().unwrap()]].concat(), "{\"op\":\"policy-info\",\"input\":{}}\n");
    assert_eq!(code, Some(0), "{stderr}");
    let answer: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(answer["ok"]["revision"], route_policy_testkit::builtin_revision().as_str());
    let status: serde_json::Value = serde_json::from_slice(&std::fs::read(&status).unwrap()).unwrap();
    assert_eq!(status["active"]["artifact"], pushed.as_str());
    assert_eq!(status["active"]["origin"], "registry");

    // Without a trusted key, and with a tag given to --policy, it says what to do.
    let (code, _, stderr) = run(&["serve", "--policy", &pushed, "--data-dir", data.to_str().unwrap()], "");
    assert_eq!(code, Some(2));
    assert!(stderr.contains("trusted key"), "{stderr}");
    let (code, _, stderr) = run(&["serve", "--policy", &tag, "--trusted-key", "ops.pub"], "");
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--watch"), "{stderr}");
    // Plain http is for loopback registries only: another host is reached over https.
    assert_eq!(OciRef::parse("oci://registry.example.com/p:v").unwrap().scheme(), "https");
}
}

needs_docker_registry! {
/// `serve`'s status file is written only in a directory that belongs to this user alone, and
/// never through a link: not one planted at its name, nor one at the temporary name it was once
/// written through (`status.json.tmp`). A data directory, or a `--status` directory, that
/// anyone may write or that another user owns is refused before anything serves.
#[test]
fn the_status_file_is_never_written_through_a_link_nor_in_a_shared_directory() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let registry = TestRegistry::start("status");
    let dir = temp_dir("registry-status");
    let ops = key(1);
    std::fs::write(dir.join("ops.pub"), route_policy_host::hex(ops.verifying_key().as_bytes())).unwrap();
    let at = runtime().block_on(publish(
        &registry.reference("policies/route:stable"),
        route_policy_host::BUILTIN,
        Some(&ops),
    ));
    let serve = |data: &std::path::Path, status: Option<&std::path::Path>| {
        let mut command = Command::new(binary());
        command.current_dir(&*dir).args(["serve", "--policy", &at.to_string(), "--trusted-key", "ops.pub"]);
        command.arg("--data-dir").arg(data);
        if let Some(status) = status {
            command.arg("--status").arg(status);
        }
        let output = command.stdin(Stdio::null()).output().unwrap();
        (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
    };
    let private = |name: &str, mode: u32| {
        let path = dir.join(name);
        std::fs::create_dir(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    };

    let data = private("data", 0o700);
    let victim = dir.join("victim");
    std::fs::write(&victim, "untouched").unwrap();
    for name in ["status.json", "status.json.tmp"] {
        std::os::unix::fs::symlink(&victim, data.join(name)).unwrap();
    }
    let (code, stderr) = serve(&data, None);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched", "the status was written through a link");
    let written = data.join("status.json");
    assert!(std::fs::symlink_metadata(&written).unwrap().is_file(), "the link is replaced by the status itself");
    let status: serde_json::Value = serde_json::from_slice(&std::fs::read(&written).unwrap()).unwrap();
    assert_eq!(status["active"]["artifact"], at.to_string().as_str());

    let shared = private("shared", 0o777);
    let (code, stderr) = serve(&shared, None);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("open to other users (mode 777)"), "{stderr}");
    assert!(!shared.join("status.json").exists() && !shared.join("oci").exists());
    let (code, stderr) = serve(&data, Some(&shared.join("status.json")));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("status file") && stderr.contains("open to other users"), "{stderr}");

    // Only root can give a directory to another user (CI runs as root).
    if std::fs::metadata(&*dir).unwrap().uid() == 0 {
        let theirs = private("theirs", 0o700);
        std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
        let (code, stderr) = serve(&theirs, None);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(stderr.contains("belongs to uid 65534"), "{stderr}");
        assert!(!theirs.join("status.json").exists());
    }
}
}
