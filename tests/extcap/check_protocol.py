#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Host tests of vsockdump's command line (no kernel support needed).

- The discovery output parses the way Wireshark 4.0's extcap_parser.c
  parses it (same sentence and parameter regexes, same required fields,
  same list of argument types), and every advertised option is one the
  binary really accepts, with its default.
- Filter validation answers the way extcap.c's cb_verify_filter expects:
  empty stdout for a valid filter, one line naming the bad token otherwise.
- Option errors: exit code 1 and one line on stderr (UTF-8, control
  characters escaped) that says what to do; a refused capture still opens
  and closes Wireshark's fifo so dumpcap stops waiting for a writer.
- Listing calls are fast and change nothing (interface list unchanged).
- Without privileges a capture fails with exit 3 and the setcap hint.

Usage: check_protocol.py PATH-TO-vsockdump [GROUP...]
GROUP: discovery filter errors sideeffects privileges (default: all)
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

# Wireshark 4.0 extcap_parser.c: sentence and parameter regexes.
SENTENCE_RE = re.compile(r"^[\t| ]*(arg|value|interface|extcap|dlt|control)(?=[\t| ]+\{)", re.I)
PARAM_RE = re.compile(r"\{([a-zA-Z_-]*?)\=(.*?)\}(?=\{|$|\s)", re.I)
# The argument types extcap_parse_arg_sentence() accepts in 4.0.
VALID_TYPES = {"integer", "unsigned", "long", "double", "boolean", "boolflag",
               "selector", "editselector", "radio", "string", "password",
               "fileselect", "multicheck", "timestamp"}
KNOWN_PARAMS = {"number", "call", "display", "type", "arg", "default", "value",
                "range", "tooltip", "placeholder", "mustexist", "fileext", "group",
                "name", "enabled", "parent", "reload", "required", "save",
                "validation", "version", "help", "control", "role"}
VALUE_TYPES = {"selector", "editselector", "radio", "multicheck"}
EXIT_USAGE, EXIT_NO_PRIVILEGE = 1, 3

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL:", msg)


def run(binary, *args, **kw):
    kw.setdefault("text", True)
    return subprocess.run([binary, *args], capture_output=True,
                          timeout=kw.pop("timeout", 10), **kw)


def parse_sentences(text, where):
    """Each line -> (sentence, {param: value}), as Wireshark tokenizes it."""
    out = []
    for line in text.splitlines():
        if not line.strip():
            continue
        m = SENTENCE_RE.match(line)
        if not m:
            fail(f"{where}: Wireshark would ignore line {line!r}")
            continue
        params = {}
        for pm in PARAM_RE.finditer(line):
            key = pm.group(1).lower()
            if key not in KNOWN_PARAMS:
                fail(f"{where}: unknown parameter {key!r} in {line!r}")
            if key in params:
                fail(f"{where}: parameter {key!r} twice in {line!r}")
            params[key] = pm.group(2)
        # everything after the sentence word must be consumed by the regex
        rest = PARAM_RE.sub("", line[m.end():]).strip()
        if rest:
            fail(f"{where}: unparsed text {rest!r} in {line!r}")
        out.append((m.group(1).lower(), params))
    return out


def check_required(where, sentence, params, keys):
    for key in keys:
        if key not in params:
            fail(f"{where}: {sentence} sentence without {key}: {params}")


def check_interfaces(binary):
    for extra in ([], ["--extcap-version=4.0"], ["--extcap-version"]):
        where = "--extcap-interfaces " + " ".join(extra)
        r = run(binary, "--extcap-interfaces", *extra)
        if r.returncode != 0:
            fail(f"{where}: exit {r.returncode}: {r.stderr}")
            continue
        sentences = parse_sentences(r.stdout, where)
        kinds = [s for s, _ in sentences]
        if not kinds or kinds[0] != "extcap":
            fail(f"{where}: the extcap sentence must come first (Wireshark takes help/version from it)")
        ifaces = [p for s, p in sentences if s == "interface"]
        for s, p in sentences:
            if s == "extcap":
                check_required(where, s, p, ["version"])
            elif s == "interface":
                check_required(where, s, p, ["value", "display"])
        if [p.get("value") for p in ifaces] != ["vsockmon"]:
            fail(f"{where}: interfaces {ifaces}, want exactly vsockmon")
        elif ifaces[0].get("display") != "vsock monitor: temporary vsockmon interface":
            fail(f"{where}: display {ifaces[0].get('display')!r}")


def check_dlts(binary):
    r = run(binary, "--extcap-interface=vsockmon", "--extcap-dlts")
    sentences = parse_sentences(r.stdout, "--extcap-dlts")
    if r.returncode != 0 or len(sentences) != 1 or sentences[0][0] != "dlt":
        fail(f"--extcap-dlts: exit {r.returncode}, {sentences}")
        return
    p = sentences[0][1]
    check_required("--extcap-dlts", "dlt", p, ["number", "name", "display"])
    if p.get("number") != "271":
        fail(f"--extcap-dlts: number {p.get('number')}, want 271 (LINKTYPE_VSOCK)")


def check_arg(where, p, args):
    check_required(where, "arg", p, ["number", "call", "display", "type"])
    if not re.fullmatch(r"\d+", p.get("number", "")):
        fail(f"{where}: arg number {p.get('number')!r} is not a number")
        return
    num = int(p["number"])
    if num in args:
        fail(f"{where}: arg number {num} used twice")
    if p.get("type") not in VALID_TYPES:
        fail(f"{where}: arg {num} has type {p.get('type')!r}, not one Wireshark knows")
    if not p.get("call", "").startswith("--"):
        fail(f"{where}: arg {num} call {p.get('call')!r} is not a long option")
    if "range" in p:
        lo, _, hi = p["range"].partition(",")
        if not (lo.isdigit() and hi.isdigit() and int(lo) <= int(hi)):
            fail(f"{where}: arg {num} range {p['range']!r}")
        elif "default" in p and not int(lo) <= int(p["default"]) <= int(hi):
            fail(f"{where}: arg {num} default {p['default']} outside {p['range']}")
    for flag in ("reload", "required", "mustexist"):
        if flag in p and p[flag] not in ("true", "false"):
            fail(f"{where}: arg {num} {flag}={p[flag]!r}")
    if "validation" in p:
        try:
            re.compile(p["validation"])
        except re.error as e:
            fail(f"{where}: arg {num} validation regex: {e}")
    args[num] = {"params": p, "values": []}


def check_value(where, p, args):
    check_required(where, "value", p, ["arg", "value", "display"])
    num = int(p["arg"]) if p.get("arg", "").isdigit() else None
    if num not in args:
        fail(f"{where}: value for undeclared arg {p.get('arg')!r}")
        return
    if args[num]["params"].get("type") not in VALUE_TYPES:
        fail(f"{where}: value for arg {num} of type {args[num]['params'].get('type')}")
    args[num]["values"].append(p)


def parse_config(binary, extra=()):
    r = run(binary, "--extcap-interface=vsockmon", "--extcap-config", *extra)
    if r.returncode != 0:
        fail(f"--extcap-config: exit {r.returncode}: {r.stderr}")
        return {}
    args = {}
    for s, p in parse_sentences(r.stdout, "--extcap-config"):
        if s == "arg":
            check_arg("--extcap-config", p, args)
        elif s == "value":
            check_value("--extcap-config", p, args)
        else:
            fail(f"--extcap-config: unexpected {s} sentence")
    return args


def option_accepted(binary, call, value):
    """The binary's parser takes this option (run in a side-effect-free mode)."""
    opt = [call] if value is None else [call, value]
    r = run(binary, "--extcap-interface=vsockmon", "--extcap-dlts", *opt)
    return r.returncode == 0, r.stderr.strip()


def check_iface_validation(binary, params):
    """The dialog's {validation=} for --iface lets through only names the
    binary takes: otherwise the field shows valid and the capture then fails
    with exit 1. Wireshark searches the regex in a non-empty value
    (ExtArgText::isValid), as re.search does."""
    regex = params.get("validation")
    if regex is None:
        fail("--extcap-config: --iface has no validation regex")
        return
    good = ["vsockmon7", "vs-mon_1", "a.b", "...", "x" * 15]
    bad = ["x" * 16, ".", "..", "vs%d", "a/b", "a:b", "a b"]
    for name in good + bad:
        in_dialog = re.search(regex, name) is not None
        accepted, err = option_accepted(binary, "--iface", name)
        if in_dialog and not accepted:
            fail(f"--iface {name!r}: the dialog's validation {regex!r} accepts it, "
                 f"the capture rejects it: {err}")
        if name in good and not in_dialog:
            fail(f"--iface {name!r}: a valid link name the dialog's validation {regex!r} refuses")


def check_config(binary):
    args = parse_config(binary)
    calls = {a["params"]["call"]: a for a in args.values()}
    want = {"--iface": "Interface", "--keep": "Interface", "--existing": "Interface",
            "--snaplen": "Capture", "--ring-size": "Capture", "--vhost-fragments": "Capture",
            "--log-level": "Debug", "--log-file": "Debug"}
    for call, group in want.items():
        if call not in calls:
            fail(f"--extcap-config: option {call} missing")
        elif calls[call]["params"].get("group") != group:
            fail(f"--extcap-config: {call} in group {calls[call]['params'].get('group')!r}, want {group}")
    for call, a in calls.items():
        p = a["params"]
        if p.get("type") in VALUE_TYPES and not a["values"]:
            fail(f"--extcap-config: selector {call} has no values")
        defaults = [v for v in a["values"] if v.get("default") == "true"]
        if p.get("type") == "selector" and len(defaults) != 1:
            fail(f"--extcap-config: selector {call} has {len(defaults)} defaults")
        # what Wireshark would pass back must be accepted
        if p["type"] == "boolflag":
            samples = [None]
        elif a["values"]:
            samples = [v["value"] for v in a["values"]]
        elif "default" in p:
            samples = [p["default"]]
        else:
            samples = ["vsockmon7" if call == "--iface" else "/tmp/vsockdump-test.log"]
        for sample in samples:
            ok, err = option_accepted(binary, call, sample)
            if not ok:
                fail(f"advertised {call} {sample!r} is rejected: {err}")

    check_iface_validation(binary, calls.get("--iface", {}).get("params", {}))

    # --vhost-fragments: opt-in, the dialog says what trimming does and what it needs
    vhost = calls.get("--vhost-fragments")
    if vhost:
        values = {v["value"]: v.get("default") == "true" for v in vhost["values"]}
        if values != {"keep": True, "trim": False}:
            fail(f"--vhost-fragments values {values}, want keep (default) and trim")
        tooltip = vhost["params"].get("tooltip", "")
        for needle in ("vhost", "fragment", "Trim", "65612"):
            if needle not in tooltip:
                fail(f"--vhost-fragments tooltip lacks {needle!r}: {tooltip!r}")

    # reload: only the selector's values, with or without the leading --
    for name in ("existing", "--existing"):
        r = run(binary, "--extcap-interface=vsockmon", "--extcap-config",
                "--extcap-reload-option", name, "--keep", "true", "--snaplen", "1000")
        sentences = parse_sentences(r.stdout, "reload")
        existing = calls.get("--existing", {}).get("params", {}).get("number")
        if r.returncode != 0 or not sentences or any(
                s != "value" or p.get("arg") != existing for s, p in sentences):
            fail(f"--extcap-reload-option {name}: exit {r.returncode}, {sentences}")
    r = run(binary, "--extcap-interface=vsockmon", "--extcap-config",
            "--extcap-reload-option", "snaplen")
    if r.returncode != EXIT_USAGE:
        fail(f"reloading a non-reloadable option: exit {r.returncode}")


def check_filter(binary):
    valid = ["", "port 80", "src cid host and not op rst",
             "(cid 3 || cid local) && type seqpacket", "dst port 0xffffffff",
             "cid 18446744073709551615", "op credit_update or op credit_request"]
    for f in valid:
        r = run(binary, "--extcap-capture-filter", f, "--extcap-interface", "vsockmon")
        if r.returncode != 0 or r.stdout != "":
            fail(f"valid filter {f!r}: exit {r.returncode}, stdout {r.stdout!r}")
    invalid = {"port": "end of filter", "port 80 and frob": "'frob'",
               "tcp port 80": "'tcp'", "op rest": "'rest'", "cid -1": "'-'",
               "src op rw": "'op'", "(port 1": "end of filter"}
    for f, token in invalid.items():
        r = run(binary, "--extcap-capture-filter", f, "--extcap-interface", "vsockmon")
        lines = r.stdout.splitlines()
        if r.returncode != 0 or len(lines) != 1 or token not in lines[0]:
            fail(f"invalid filter {f!r}: exit {r.returncode}, stdout {r.stdout!r}, want one line naming {token}")
    r = run(binary, "-d", "port", "80")
    if r.returncode != 0 or "ret" not in r.stdout or "ld" not in r.stdout:
        fail(f"-d port 80: exit {r.returncode}, {r.stdout!r}")
    r = run(binary, "--dump-bpf", "--extcap-capture-filter", "op rst")
    if r.returncode != 0 or "ldh      [62]" not in r.stdout:
        fail(f"--dump-bpf op rst: no load of the virtio op at offset 62: {r.stdout!r}")
    r = run(binary, "-d", "port", "x")
    if r.returncode != EXIT_USAGE or "'x'" not in r.stderr:
        fail(f"-d port x: exit {r.returncode}, stderr {r.stderr!r}")


def check_errors(binary):
    cases = [
        (["--bogus"], "unknown option"),
        (["--extcap-interfaces", "stray"], "unexpected argument"),
        ([], "nothing to do"),
        (["--extcap-dlts"], "--extcap-interface"),
        (["--extcap-interface", "eth0", "--extcap-dlts"], "unknown extcap interface"),
        (["--capture"], "--fifo"),
        (["--capture", "--fifo", "-", "--snaplen", "10"], "--snaplen"),
        (["--capture", "--fifo", "-", "--snaplen", "12x"], "--snaplen"),
        (["--capture", "--fifo", "-", "--snaplen", " 100"], "--snaplen"),
        (["--capture", "--fifo", "-", "--ring-size", "+4"], "--ring-size"),
        (["--capture", "--fifo", "-", "--ring-size", "0"], "--ring-size"),
        (["--capture", "--fifo", "-", "--log-level", "loud"], "--log-level"),
        (["--capture", "--fifo", "-", "--vhost-fragments", "cut"],
         ["invalid value 'cut' for --vhost-fragments", "keep or trim"]),
        (["--capture", "--fifo", "-", "--vhost-fragments", "TRIM"], "--vhost-fragments"),
        (["--capture", "--fifo", "-", "--vhost-fragments"], "needs a value"),
        (["--capture", "--fifo", "-", "--iface", "a/b"], "--iface"),
        (["--capture", "--fifo", "-", "--iface", "x" * 16], "--iface"),
        # the kernel takes '%' in a new link's name for a pattern: the link made
        # would not be the one we delete
        (["--capture", "--fifo", "-", "--iface", "vs%d"], "--iface"),
        (["--capture", "--fifo", "-", "--iface", ".."], "--iface"),
        # whitespace the kernel's dev_valid_name() refuses (isspace() of its
        # lib/ctype.c, 0xA0 included): a usage error, not exit 4 from the
        # kernel at link creation; the value is shown escaped, on one line
        (["--capture", "--fifo", "-", "--iface", "vs\rmon"], ["--iface", "'vs\\rmon'"]),
        (["--capture", "--fifo", "-", "--iface", "vs\vmon"], ["--iface", "'vs\\vmon'"]),
        (["--capture", "--fifo", "-", "--iface", "vs\fmon"], ["--iface", "'vs\\fmon'"]),
        (["--capture", "--fifo", "-", "--iface", "vs\nmon"], ["--iface", "'vs\\nmon'"]),
        (["--capture", "--fifo", "-", "--iface", "v\u00e0"], "--iface"),      # UTF-8 c3 a0
        (["--capture", "--fifo", "-", "--iface", b"vs\xa0mon"], "--iface"),   # Latin-1 NBSP
        (["--capture", "--fifo", "-", "--existing", "x", "--iface", "a\rb"], "--iface"),
        (["--capture", "--fifo", "-", "--snaplen"], "needs a value"),
        # a value given to an option that takes none: say so, not "unknown option"
        (["--dump-bpf=X"], ["'--dump-bpf' takes no value", "'--dump-bpf=X'", "-d 'X'"]),
        (["--dump=port 1"], ["'--dump-bpf' takes no value", "-d 'port 1'"]),
        (["--capture", "--fifo", "-", "--keep=yes"], ["'--keep' takes no value", "'--keep=yes'"]),
        (["--extcap-interfaces=1"], "'--extcap-interfaces' takes no value"),
        (["--bogus=1"], "unknown option '--bogus=1'"),
        # -d with a filter both as arguments and as --extcap-capture-filter:
        # refused, naming both, rather than one silently dropped
        (["-d", "--extcap-capture-filter", "op rst", "port", "1"],
         ["two filters", "'port 1'", "'op rst'", "--extcap-capture-filter",
          "-d '(op rst) and (port 1)'"]),
        (["--dump-bpf", "port 1", "--extcap-capture-filter", "port 1"], "two filters"),
        (["--capture", "--fifo", "-", "--extcap-capture-filter", "op rst", "port 1"],
         "unexpected argument 'port 1'"),
        (["--capture", "--fifo", "-", "--extcap-capture-filter", "port x"], "'x'"),
        (["--extcap-interfaces", "--log-file", "/nonexistent/dir/log"], "log file"),
    ]
    for argv, needles in cases:
        if isinstance(needles, str):
            needles = [needles]
        # bytes, not text: universal newlines would hide a \r, and Wireshark
        # shows stderr as UTF-8
        r = run(binary, *argv, text=False)
        try:
            err = r.stderr.decode("utf-8").strip()
        except UnicodeDecodeError:
            fail(f"{argv}: stderr {r.stderr!r} is not UTF-8")
            continue
        if r.returncode != EXIT_USAGE:
            fail(f"{argv}: exit {r.returncode}, want {EXIT_USAGE}; stderr {err!r}")
        elif any(n not in err for n in needles) or re.search(r"[\x00-\x1f\x7f]", err):
            fail(f"{argv}: stderr {err!r} is not one line mentioning {needles!r}")
        elif r.stdout:
            fail(f"{argv}: unexpected stdout {r.stdout!r}")
    # a blank filter is no filter: with the other one there is no conflict
    for argv in (["-d", "--extcap-capture-filter", "", "op", "rst"],
                 ["-d", "--extcap-capture-filter", "op rst", " "]):
        r = run(binary, *argv)
        if r.returncode != 0 or "ldh      [62]" not in r.stdout:
            fail(f"{argv}: exit {r.returncode}, stdout {r.stdout!r}, stderr {r.stderr!r}; "
                 "want the program of 'op rst'")
    check_usage_error_fifo(binary)
    r = run(binary, "--help")
    if r.returncode != 0 or "--extcap-interfaces" not in r.stdout:
        fail(f"--help: exit {r.returncode}")
    r = run(binary, "--version")
    if r.returncode != 0 or not re.match(r"vsockdump \d+\.\d+", r.stdout):
        fail(f"--version: {r.stdout!r}")


def check_usage_error_fifo(binary):
    """A capture refused for its options opens and closes Wireshark's fifo,
    as for a bad filter: dumpcap waits for a writer and only then stops and
    shows the error. A path that is not a fifo is left alone (no file
    created or truncated by a usage error)."""
    with tempfile.TemporaryDirectory() as tmp:
        fifo = os.path.join(tmp, "fifo")
        os.mkfifo(fifo)
        for bad in (["--iface", "vs\rmon"], ["--snaplen", "10"], ["--keep=1"],
                    ["--log-file", os.path.join(tmp, "no", "such", "log")],
                    ["--extcap-capture-filter", "frob"]):
            argv = ["--capture", "--fifo", fifo, *bad]
            proc = subprocess.Popen([binary, *argv], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
            try:
                reader = subprocess.run(["timeout", "5", "cat", fifo],
                                        capture_output=True, timeout=10)
                rc = proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                rc = proc.wait()
                reader = None
            err = proc.stderr.read().decode(errors="backslashreplace").strip()
            proc.stderr.close()
            if reader is None or reader.returncode != 0:
                fail(f"{argv}: the fifo's reader waited in vain for a writer "
                     f"(vsockdump exit {rc}: {err!r})")
            elif reader.stdout:
                fail(f"{argv}: wrote {reader.stdout[:40]!r} to the fifo")
            if rc != EXIT_USAGE:
                fail(f"{argv}: exit {rc}, want {EXIT_USAGE}: {err!r}")
        for bad in (["--snaplen", "10"], ["--extcap-capture-filter", "frob"]):
            plain = os.path.join(tmp, "keep.pcapng")
            with open(plain, "wb") as f:
                f.write(b"earlier capture")
            r = run(binary, "--capture", "--fifo", plain, *bad)
            with open(plain, "rb") as f:
                if r.returncode != EXIT_USAGE or f.read() != b"earlier capture":
                    fail(f"usage error {bad} with --fifo {plain}: exit {r.returncode}, file changed")
            missing = os.path.join(tmp, "new.pcapng")
            run(binary, "--capture", "--fifo", missing, *bad)
            if os.path.exists(missing):
                fail(f"usage error {bad} with --fifo {missing}: the file was created")


def links():
    r = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True)
    return r.stdout


def check_side_effects(binary):
    before = links()
    calls = [["--extcap-interfaces", "--extcap-version=4.0"],
             ["--extcap-interface=vsockmon", "--extcap-dlts"],
             ["--extcap-interface=vsockmon", "--extcap-config"],
             ["--extcap-interface=vsockmon", "--extcap-config", "--extcap-reload-option", "existing"],
             ["--extcap-capture-filter", "port 1", "--extcap-interface", "vsockmon"]]
    for argv in calls:
        start = time.monotonic()
        r = run(binary, *argv)
        took = time.monotonic() - start
        if r.returncode != 0:
            fail(f"{argv}: exit {r.returncode}")
        if took > 1.0:
            fail(f"{argv}: took {took:.2f}s; listing calls must be fast")
    if links() != before:
        fail("listing/config calls changed the interface list")


def check_privileges(binary):
    """As nobody without capabilities: exit 3 and the setcap hint."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        print("SKIP privileges: needs root and setpriv to become nobody")
        return
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        copy = os.path.join(tmp, "vsockdump")
        shutil.copy(binary, copy)
        os.chmod(copy, 0o755)
        r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                            "--inh-caps=-all", copy, "--capture", "--fifo", "-"],
                           capture_output=True, text=True, timeout=10)
        err = r.stderr.strip()
        if r.returncode != EXIT_NO_PRIVILEGE:
            fail(f"unprivileged capture: exit {r.returncode}, want {EXIT_NO_PRIVILEGE}: {err!r}")
        elif "\n" in err or "setcap cap_net_admin,cap_net_raw+ep" not in err:
            fail(f"unprivileged capture: message {err!r} lacks the one-line setcap fix")
        elif r.stdout:
            fail("unprivileged capture wrote output before failing")


GROUPS = {
    "discovery": lambda b: (check_interfaces(b), check_dlts(b), check_config(b)),
    "filter": check_filter,
    "errors": check_errors,
    "sideeffects": check_side_effects,
    "privileges": check_privileges,
}


def main():
    binary = os.path.abspath(sys.argv[1])
    groups = sys.argv[2:] or list(GROUPS)
    for g in groups:
        GROUPS[g](binary)
    print(f"{len(failures)} failures in {', '.join(groups)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
