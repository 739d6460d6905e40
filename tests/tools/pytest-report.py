#!/usr/bin/env python3
"""pytest-report.py KNOWN JUNIT-XML [RERUN-XML]: a third-party pytest suite's
results against a list of known failures (tests/integration/51-dockerpy.sh).

KNOWN: one test a line, "file.py::Class::test  reason" ("#" comments); a
test listed there may fail. Prints passed, failed and skipped per file,
then one line per unexpected failure ("unexpected: ID: message") and per
known failure that passed ("now passes: ID"). With RERUN-XML (the same
suite run again on the unexpected failures alone), a test is unexpected
only if it failed in both ("passed alone: ID" names the others). Exit status 1 when any failure is unexpected.
With --ids, prints only the unexpected failures' ids (for the rerun)."""
import sys
import xml.etree.ElementTree as ET


def results(path):
    """{id: (outcome, message)}; outcome passed|failed|skipped."""
    out = {}
    for tc in ET.parse(path).getroot().iter("testcase"):
        cls = tc.get("classname", "")
        # classname is "tests.integration.file_test.Class"
        parts = cls.split(".")
        mod = [p for p in parts if p.endswith("_test")]
        if not mod:
            continue
        i = parts.index(mod[0])
        tid = "::".join([mod[0] + ".py"] + parts[i + 1:] + [tc.get("name", "")])
        outcome, msg = "passed", ""
        for child in tc:
            if child.tag in ("failure", "error"):
                outcome, msg = "failed", (child.get("message") or "").splitlines()[0:1]
                msg = msg[0] if msg else child.tag
                break
            if child.tag == "skipped":
                outcome, msg = "skipped", child.get("message") or ""
        # a test that failed in setup and in teardown shows twice: failed wins
        if out.get(tid, ("",))[0] != "failed":
            out[tid] = (outcome, msg)
    return out


def known_list(path):
    known = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            tid, _, reason = line.partition("  ")
            known[tid.strip()] = reason.strip()
    return known


def main(argv):
    ids_only = "--ids" in argv
    argv = [a for a in argv if a != "--ids"]
    if len(argv) < 2:
        sys.exit(__doc__)
    known = known_list(argv[0])
    res = results(argv[1])
    rerun = results(argv[2]) if len(argv) > 2 else None
    unexpected, flaky = [], []
    for tid, (oc, msg) in sorted(res.items()):
        if oc == "failed" and tid not in known:
            if rerun is not None and rerun.get(tid, ("failed",))[0] != "failed":
                flaky.append((tid, msg))
                continue
            unexpected.append((tid, msg))
    if ids_only:
        for tid, _ in unexpected:
            print(tid)
        return 0
    files = {}
    for tid, (oc, _) in res.items():
        f = files.setdefault(tid.split("::")[0], {"passed": 0, "failed": 0, "skipped": 0})
        f[oc] += 1
    tot = {"passed": 0, "failed": 0, "skipped": 0}
    print(f"{'file':32} {'passed':>6} {'failed':>6} {'skipped':>7}")
    for name in sorted(files):
        f = files[name]
        print(f"{name:32} {f['passed']:6} {f['failed']:6} {f['skipped']:7}")
        for k in tot:
            tot[k] += f[k]
    print(f"{'total':32} {tot['passed']:6} {tot['failed']:6} {tot['skipped']:7}")
    for tid, msg in unexpected:
        print(f"unexpected: {tid}: {msg[:200]}")
    for tid, msg in flaky:
        print(f"passed alone: {tid} (failed in the suite: {msg[:160]})")
    for tid in sorted(known):
        if res.get(tid, ("",))[0] == "passed":
            print(f"now passes: {tid} (listed as: {known[tid]})")
        elif tid not in res:
            print(f"not run: {tid} (listed as: {known[tid]})")
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
