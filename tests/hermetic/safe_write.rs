//! Safe writes: a render killed at any moment leaves the previous tree or the new
//! one at the output path, never a mix, and the next run cleans up after it.

use crate::common;

use std::fmt::Write as _;
use std::process::Command;
use std::time::Duration;

use common::{TODAY, stderr, tree};

fn profile(pods: u32, namespaces: usize) -> String {
    let mut p = String::from(
        "apiVersion: kharden.dev/v1alpha1\nkind: ClusterProfile\nmetadata: {name: big}\nextends: [baseline]\ncluster: {name: big, platform: kubeadm, kubernetesVersion: \"1.33\"}\napiServer: {advertiseAddress: 10.0.0.10}\nnamespaces:\n",
    );
    for i in 0..namespaces {
        let _ = writeln!(
            p,
            "  - name: ns-{i}\n    access: [{{group: g-{i}, role: edit}}]\n    quota: {{pods: {pods}}}"
        );
    }
    p
}

#[test]
fn a_killed_render_leaves_one_whole_tree() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let d = dir.to_str().unwrap();
    let run = |pods: u32| -> std::process::Child {
        std::fs::write(tmp.path().join("p.yaml"), profile(pods, 700)).unwrap();
        Command::new(env!("CARGO_BIN_EXE_kharden"))
            .args(["render", "p.yaml", "-o", d])
            .current_dir(tmp.path())
            .env("KHARDEN_TODAY", TODAY)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    assert!(run(10).wait().unwrap().success());
    let old = tree(&dir);
    // The new tree, rendered elsewhere for comparison.
    std::fs::write(tmp.path().join("p.yaml"), profile(11, 700)).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_kharden"))
        .args(["render", "p.yaml", "-o", "new"])
        .current_dir(tmp.path())
        .env("KHARDEN_TODAY", TODAY)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let new = tree(&tmp.path().join("new"));
    assert_ne!(old, new);

    let mut saw_old = false;
    for delay_ms in [0u64, 30, 100, 250, 500, 900] {
        let mut child = run(11);
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let now = tree(&dir);
        if now == old {
            saw_old = true;
        } else {
            assert!(
                now == new,
                "after a kill at {delay_ms} ms the output is neither the old nor the new tree"
            );
            // Put the old tree back for the next round.
            std::fs::write(tmp.path().join("p.yaml"), profile(10, 700)).unwrap();
            let o = Command::new(env!("CARGO_BIN_EXE_kharden"))
                .args(["render", "p.yaml", "-o", d])
                .current_dir(tmp.path())
                .env("KHARDEN_TODAY", TODAY)
                .output()
                .unwrap();
            assert!(o.status.success());
        }
    }
    assert!(
        saw_old,
        "no kill landed before the swap; the test proved nothing"
    );
    // A finished run removes what killed runs left beside the output.
    let o = Command::new(env!("CARGO_BIN_EXE_kharden"))
        .args(["render", "p.yaml", "-o", d])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(o.status.success());
    let mut names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["new", "out", "p.yaml"]);
}
