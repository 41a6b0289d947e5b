#!/usr/bin/env python3
"""asyncd's journal records carry native fields (issue 11 item 2), without a journald: in a mount
namespace of its own (unshare -m, root only) a tmpfs hides /run, and this script binds the
journal's socket /run/systemd/journal/socket itself and reads what sd_journal_send sends.
Checks: with --log-format journal, the record of an error answer (401: no token) has MESSAGE,
PRIORITY=6, MODULE=api, SYSLOG_IDENTIFIER=asyncd, REQUEST_ID (the caller's X-Request-Id),
STATUS=401, ERROR_CODE=unauthorized, METHOD, PATH;
without the flag, JOURNAL_STREAM naming asyncd's stderr picks the journal too, and a JOURNAL_STREAM
naming another file does not. Exit 77 (skipped) without root or unshare.
usage: journal-fields.py BUILD_DIR"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

JOURNAL = "/run/systemd/journal/socket"
WAIT_S = 30


def skip(why):
    print(f"journal-fields: skipped: {why}")
    sys.exit(77)


def fail(why):
    print(f"journal-fields: FAIL: {why}", file=sys.stderr)
    sys.exit(1)


def in_namespace(build):
    os.makedirs(os.path.dirname(JOURNAL), exist_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(JOURNAL)
    sock.settimeout(0.1)
    asyncd = os.path.join(build, "src", "bin", "asyncd")
    records_flag = run(asyncd, sock, ["--log-format", "journal"], None)
    check_error_record(records_flag, "--log-format journal")
    records_stream = run(asyncd, sock, [], "stderr")
    check_error_record(records_stream, "JOURNAL_STREAM naming stderr")
    records_other = run(asyncd, sock, [], "other")
    if records_other:
        fail(f"JOURNAL_STREAM naming another file still sent to the journal: {records_other[0]}")
    print("journal-fields: ok")


def run(asyncd, sock, flags, stream):
    """Start asyncd, send one request that answers 401, stop it; return the records received."""
    state = tempfile.mkdtemp(prefix="asyncd-journal.")
    err_path = state + ".err"
    env = dict(os.environ)
    env.pop("JOURNAL_STREAM", None)
    with open(err_path, "w") as err:
        if stream == "stderr":
            st = os.fstat(err.fileno())
            env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
        elif stream == "other":
            st = os.stat("/dev/null")
            env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
        p = subprocess.Popen([asyncd, "--state-dir", state, "--listen", "127.0.0.1:0"] + flags,
                             stdout=subprocess.DEVNULL, stderr=err, env=env)
    try:
        url = wait_url(state, p)
        req = urllib.request.Request(url + "/api/v1/jobs/987654321",
                                     headers={"X-Request-Id": "journal-test-7"})
        try:
            urllib.request.urlopen(req, timeout=10)
            fail("GET /api/v1/jobs/987654321 without a token did not fail")
        except urllib.error.HTTPError:
            pass
    finally:
        p.terminate()
        try:
            p.wait(timeout=WAIT_S)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    records = []
    while True:
        try:
            records.append(sock.recv(65536).decode())
        except socket.timeout:
            break
    shutil.rmtree(state, ignore_errors=True)
    os.unlink(err_path)
    return records


def wait_url(state, p):
    end = time.monotonic() + WAIT_S
    path = os.path.join(state, "asyncd.url")
    while time.monotonic() < end:
        if p.poll() is not None:
            fail(f"asyncd exited with {p.returncode} while starting")
        if os.path.exists(path):
            url = open(path).read().strip()
            if url:
                return url
        time.sleep(0.02)
    fail(f"asyncd wrote no {path} within {WAIT_S} s")


def check_error_record(records, how):
    want = ["PRIORITY=6", "MODULE=api", "SYSLOG_IDENTIFIER=asyncd", "REQUEST_ID=journal-test-7",
            "STATUS=401", "ERROR_CODE=unauthorized", "METHOD=GET",
            "PATH=/api/v1/jobs/987654321"]
    for r in records:
        fields = r.split("\n")
        if "REQUEST_ID=journal-test-7" in fields:
            missing = [w for w in want if w not in fields]
            if missing or not any(f.startswith("MESSAGE=api: GET ") for f in fields):
                fail(f"{how}: the record lacks {missing}: {fields}")
            print(f"journal-fields: {how}: {' '.join(fields)}")
            return
    fail(f"{how}: no record with REQUEST_ID=journal-test-7 among {len(records)}")


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    build = os.path.abspath(sys.argv[1])
    if os.environ.get("ASYNCD_JOURNAL_NS") == "1":
        in_namespace(build)
        return
    if os.geteuid() != 0:
        skip("not root (a mount namespace is needed to stand in for journald)")
    if not shutil.which("unshare"):
        skip("no unshare (util-linux)")
    env = dict(os.environ, ASYNCD_JOURNAL_NS="1")
    inner = "mount --make-rprivate / && mount -t tmpfs tmpfs /run && exec \"$0\" \"$@\""
    rc = subprocess.call(["unshare", "-m", "sh", "-c", inner, sys.executable,
                          os.path.abspath(__file__), build], env=env)
    sys.exit(rc)


if __name__ == "__main__":
    main()
