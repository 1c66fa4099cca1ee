//! `check -o text|json|junit|sarif|github`: every format carries the same findings and exit code,
//! only data goes to stdout, SARIF validates against the SARIF 2.1.0 JSON schema and JUnit
//! against the Jenkins/Surefire JUnit XSD (`tests/schemas/`, see its README).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn netpath(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_netpath"))
        .current_dir(ROOT)
        .env_remove("NETPATH_SNAPSHOT")
        .args(args)
        .output()
        .expect("run netpath")
}

/// A scenario with one passing and two failing expectations, in a directory whose name needs
/// escaping in every format (space, comma, colon-free for portability).
fn scenario(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netpath ci,{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let model = Path::new(ROOT).join("models/eks-reference");
    let text = format!(
        "apiVersion: netpath/v1\nkind: Scenario\nsnapshot: {}\nexpect:\n  - {{from: instance/prod-node-a, to: internet, port: 443, reachable: true}}\n  - {{from: instance/prod-node-c, to: instance/prod-db-a, port: 5432, reachable: true}}\n  - {{from: instance/prod-db-c, to: 10.200.0.5, port: 443, reachable: true}}\n",
        model.display()
    );
    let path = dir.join("flows & <checks>.yaml");
    std::fs::write(&path, text).expect("write scenario");
    path
}

fn check(path: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["check", path.to_str().expect("utf-8 path")];
    args.extend(extra);
    netpath(&args)
}

fn sarif_validator() -> jsonschema::Validator {
    let text =
        std::fs::read_to_string(Path::new(ROOT).join("tests/schemas/sarif-schema-2.1.0.json"))
            .expect("SARIF schema");
    // The published schema's `run.language` pattern has a bare `]`, legal in ECMA-262's
    // non-Unicode mode (a literal) but rejected by this crate's regex check of the schema;
    // escaping it matches the same strings.
    let text = text.replace("[a-zA-Z]{2}]?$", r"[a-zA-Z]{2}\\]?$");
    let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("schema compiles")
}

fn sarif_errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn sarif_validates_against_the_sarif_2_1_0_schema() {
    let path = scenario("sarif");
    let out = check(&path, &["-o", "sarif"]);
    assert_eq!(out.status.code(), Some(1), "two expectations fail");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("stdout is only the SARIF log");
    let v = sarif_validator();
    let errors = sarif_errors(&v, &doc);
    assert!(errors.is_empty(), "invalid SARIF: {errors:#?}");
    let run = &doc["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "netpath");
    assert_eq!(run["tool"]["driver"]["rules"][0]["id"], "check/assertion");
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), 3);
    let failed: Vec<&Value> = results.iter().filter(|r| r["kind"] == "fail").collect();
    assert_eq!(failed.len(), 2);
    for r in &failed {
        assert_eq!(r["level"], "error");
        let loc = &r["locations"][0]["physicalLocation"];
        let uri = loc["artifactLocation"]["uri"].as_str().expect("uri");
        assert!(uri.ends_with("flows%20%26%20%3Cchecks%3E.yaml"), "{uri}");
        assert!(loc["region"]["startLine"].as_u64().expect("line") >= 5);
    }
    // The NACL reply drop is cited in the failure message.
    let text = failed[0]["message"]["text"].as_str().expect("text");
    assert!(text.contains("acl-0912141462f266b57"), "{text}");
    // -q keeps only the failures, still valid.
    let quiet = check(&path, &["-o", "sarif", "-q"]);
    let qdoc: Value = serde_json::from_slice(&quiet.stdout).expect("SARIF");
    assert!(sarif_errors(&v, &qdoc).is_empty());
    assert_eq!(qdoc["runs"][0]["results"].as_array().map(Vec::len), Some(2));
}

#[test]
fn the_sarif_check_rejects_invalid_logs() {
    let path = scenario("sarif-bad");
    let out = check(&path, &["-o", "sarif"]);
    let doc: Value = serde_json::from_slice(&out.stdout).expect("SARIF");
    let v = sarif_validator();
    let mut bad_level = doc.clone();
    bad_level["runs"][0]["results"][0]["level"] = Value::from("fatal");
    assert!(!sarif_errors(&v, &bad_level).is_empty());
    let mut bad_line = doc.clone();
    bad_line["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        Value::from(0);
    assert!(!sarif_errors(&v, &bad_line).is_empty());
    let mut no_driver = doc;
    no_driver["runs"][0]["tool"] = serde_json::json!({});
    assert!(!sarif_errors(&v, &no_driver).is_empty());
}

/// Validates `xml` against the JUnit XSD with Python's `xmlschema`; `None` when python3 or
/// xmlschema is not installed (then the test is skipped, except under CI where it must run).
fn junit_xsd_errors(xml: &str, tag: &str) -> Option<String> {
    let file = std::env::temp_dir().join(format!("netpath-junit-{tag}-{}.xml", std::process::id()));
    std::fs::write(&file, xml).expect("write xml");
    let script = "import sys, xmlschema\n\
        s = xmlschema.XMLSchema(sys.argv[1])\n\
        errs = [str(e) for e in s.iter_errors(sys.argv[2])]\n\
        print('\\n'.join(errs))\n\
        sys.exit(1 if errs else 0)\n";
    let probe = Command::new("python3")
        .args(["-c", "import xmlschema"])
        .output();
    if !matches!(&probe, Ok(o) if o.status.success()) {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 with xmlschema is required under CI (.ci/run installs it)"
        );
        eprintln!("skipped: python3 -m pip install xmlschema to validate JUnit XML");
        return None;
    }
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(Path::new(ROOT).join("tests/schemas/junit-10.xsd"))
        .arg(&file)
        .output()
        .expect("run python3");
    Some(if out.status.success() {
        String::new()
    } else {
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn junit_validates_against_the_junit_xsd() {
    let path = scenario("junit");
    let file = std::env::temp_dir().join(format!("netpath-ci-{}.xml", std::process::id()));
    let out = check(
        &path,
        &[
            "-o",
            "junit",
            "-v",
            "--junit",
            file.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let xml = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(
        std::fs::read_to_string(&file).expect("--junit file"),
        xml,
        "--junit FILE and -o junit write the same document"
    );
    assert_eq!(xml.matches("<testcase ").count(), 3);
    assert_eq!(xml.matches("<failure ").count(), 2);
    assert!(xml.contains("&amp; &lt;checks&gt;"), "file name escaped");
    assert_eq!(
        xml.matches("<system-out>").count(),
        3,
        "-v: a trace per case"
    );
    if let Some(errors) = junit_xsd_errors(&xml, "ok") {
        assert!(errors.is_empty(), "invalid JUnit XML:\n{errors}\n{xml}");
        // The check really rejects what the XSD forbids: a testsuite without `errors`, a
        // testcase without `name`.
        let missing = xml.replacen(" errors=\"0\" skipped", " skipped", 1);
        assert!(!junit_xsd_errors(&missing, "noerrors")
            .unwrap_or_default()
            .is_empty());
        let unnamed = xml.replacen("<testcase name=", "<testcase title=", 1);
        assert!(!junit_xsd_errors(&unnamed, "noname")
            .unwrap_or_default()
            .is_empty());
    }
}

#[test]
fn every_format_gives_the_same_exit_code_and_only_data_on_stdout() {
    let path = scenario("formats");
    let text = check(&path, &[]);
    let text_out = String::from_utf8_lossy(&text.stdout).to_string();
    assert!(text_out.ends_with("1 passed, 2 failed\n"), "{text_out}");
    assert!(text_out.contains("FAIL  "));
    for fmt in ["text", "json", "junit", "sarif", "github"] {
        for flag in [None, Some("-q"), Some("-v")] {
            let mut extra = vec!["-o", fmt];
            extra.extend(flag);
            let out = check(&path, &extra);
            assert_eq!(out.status.code(), Some(1), "-o {fmt} {flag:?}");
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                !stdout.contains("warning[") && !stdout.contains("error["),
                "diagnostics stay on stderr (-o {fmt})"
            );
        }
    }
    let json = check(&path, &["-o", "json"]);
    let v: Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(v["summary"]["failed"], 2);
    assert_eq!(v["summary"]["passed"], 1);
    let quiet = check(&path, &["-q"]);
    let q = String::from_utf8_lossy(&quiet.stdout);
    assert!(!q.contains("PASS"), "{q}");
    let verbose = check(&path, &["-v"]);
    let v = String::from_utf8_lossy(&verbose.stdout);
    assert!(
        v.contains("reply:"),
        "-v shows each assertion's trace:\n{v}"
    );
}

#[test]
fn github_annotations_point_at_the_scenario_line() {
    let path = scenario("github");
    let out = check(&path, &["-o", "github"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let errors: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("::error "))
        .collect();
    assert_eq!(errors.len(), 2, "{stdout}");
    let first = errors[0];
    assert!(
        first.contains("flows & <checks>.yaml,line=6,title="),
        "{first}"
    );
    assert!(
        first.contains("netpath ci%2Cgithub"),
        "comma escaped in file=: {first}"
    );
    let (props, msg) = first
        .strip_prefix("::error ")
        .and_then(|r| r.split_once("::"))
        .expect("::error props::message");
    assert!(
        !props.contains(": "),
        "colons escaped in properties: {props}"
    );
    assert!(msg.contains("%0Apath 1: denied (reply)"), "{msg}");
    assert!(!msg.contains('\n'));
    assert!(stdout.ends_with("1 passed, 2 failed\n"));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("dir");
    for e in std::fs::read_dir(from).expect("read dir").flatten() {
        let p = e.path();
        let dst = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &dst);
        } else {
            std::fs::copy(&p, &dst).expect("copy");
        }
    }
}

#[test]
fn diff_findings_go_through_the_same_renderers() {
    let tmp = std::env::temp_dir().join(format!("netpath-ci-diff-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let after = tmp.join("after");
    copy_dir(&Path::new(ROOT).join("models/eks-reference"), &after);
    let sg = after.join("aws/describe-security-groups.json");
    let text = std::fs::read_to_string(&sg).expect("SGs");
    // The bastion's SSH rule for the office, opened to the world.
    let office =
        "\"Description\": \"office\",\n                            \"CidrIp\": \"203.0.113.0/24\"";
    assert_eq!(
        text.matches(office).count(),
        1,
        "the bastion's office rule is in the model"
    );
    let opened = text.replacen(
        office,
        "\"Description\": \"office\",\n                            \"CidrIp\": \"0.0.0.0/0\"",
        1,
    );
    std::fs::write(&sg, opened).expect("write");
    let after_s = after.to_str().expect("utf-8");
    let run = |fmt: &str| {
        netpath(&[
            "-q",
            "diff",
            "--before",
            "models/eks-reference",
            "--after",
            after_s,
            "--fail-on",
            "newly-allowed",
            "-o",
            fmt,
        ])
    };
    // One run (a diff of the whole model is the slow part): SARIF, valid, exit 1 as in text.
    let sarif = run("sarif");
    assert_eq!(
        sarif.status.code(),
        Some(1),
        "a newly allowed flow fails the gate"
    );
    let doc: Value = serde_json::from_slice(&sarif.stdout).expect("SARIF");
    let errors = sarif_errors(&sarif_validator(), &doc);
    assert!(errors.is_empty(), "invalid SARIF: {errors:#?}");
    let results = doc["runs"][0]["results"].as_array().expect("results");
    assert!(results
        .iter()
        .any(|r| r["ruleId"] == "diff/newly-allowed" && r["level"] == "error"));
}

#[test]
fn audit_findings_validate_in_every_ci_format() {
    let run = |fmt: &str| netpath(&["-q", "-s", "models/eks-reference", "audit", "-o", fmt]);
    let text = run("text");
    let sarif = run("sarif");
    let junit = run("junit");
    let github = run("github");
    assert_eq!(
        text.status.code(),
        Some(1),
        "the reference model has error findings"
    );
    for o in [&sarif, &junit, &github] {
        assert_eq!(
            o.status.code(),
            text.status.code(),
            "same exit code in every format"
        );
    }
    let doc: Value = serde_json::from_slice(&sarif.stdout).expect("SARIF");
    let errors = sarif_errors(&sarif_validator(), &doc);
    assert!(errors.is_empty(), "invalid SARIF: {errors:#?}");
    let results = doc["runs"][0]["results"].as_array().expect("results");
    assert!(results
        .iter()
        .any(|r| r["ruleId"] == "audit/nacl-breaks-reply"
            && r["locations"][0]["physicalLocation"]["region"]["startLine"] == 288));
    let xml = String::from_utf8_lossy(&junit.stdout).to_string();
    if let Some(errors) = junit_xsd_errors(&xml, "audit") {
        assert!(errors.is_empty(), "invalid JUnit XML:\n{errors}");
    }
    let annotations = String::from_utf8_lossy(&github.stdout);
    assert!(
        annotations.lines().any(|l| l.starts_with(
            "::error file=models/eks-reference/aws/describe-network-acls.json,line=288,"
        )),
        "{annotations}"
    );
}
