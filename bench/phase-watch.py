#!/usr/bin/env python3
"""Watch one `cargofox sync` from outside and note when its phases start.

Usage: phase-watch.py DATA_DIR BINARY OUT

Started by bench/run.sh just before a timed `cargofox --data DATA_DIR sync`
whose audit repository (DATA_DIR/audit) has no report yet (a fresh data
directory, or one whose audit directory was deleted), and stopped (SIGTERM)
when the sync has ended. It polls every 10 ms and, when stopped, writes OUT,
one `key value` a line:

  ready          epoch seconds when polling began (OUT.ready is created then)
  reports_start  epoch seconds when `AUDIT_DIR/crates` first exists: the store
                 is written (sync writes the reports of a chunk only after the
                 chunk's pack and refs are on disk) and the first report is
                 being written
  commit_start   epoch seconds when `AUDIT_DIR/.git/index` or `index.lock`
                 first exists: the reports, crate pages and README are written
                 and `git add -A` has begun (cargofox runs no git command in
                 the audit repository between `git init` and the commit)
  pid            the cargofox process: the process whose executable is BINARY
                 and whose command line holds DATA_DIR (found by scanning /proc)
  ingest_hwm_kb  its VmHWM (peak RSS so far) at reports_start: the peak of the
                 ingest phase alone
  max_rss_anon_kb, max_rss_file_kb
                 the largest RssAnon (heap, stacks) and RssFile (mapped files,
                 e.g. packs) seen in its /proc/PID/status while polling

Resolution is the polling interval (10 ms); the cost is one or two stat()
calls and one small /proc read per poll. Reads nothing cargofox writes.
"""

import os
import signal
import sys
import time

POLL = 0.010


def main():
    data, binary, out = sys.argv[1:4]
    binary = os.path.realpath(binary)
    audit = os.path.join(data, "audit")
    facts = {}
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    facts["ready"] = time.time()
    open(out + ".ready", "w").close()

    pid = None
    crates = os.path.join(audit, "crates")
    index = os.path.join(audit, ".git", "index")
    lock = index + ".lock"
    anon = file_ = 0

    def status():
        try:
            with open(f"/proc/{pid}/status") as f:
                fields = (l.partition(":\t") for l in f)
                return {k: v.split()[0] for k, _, v in fields if v.split()}
        except OSError:
            return {}

    while not stop:
        now = time.time()
        if pid is None:
            for p in os.listdir("/proc"):
                if p.isdigit():
                    try:
                        if os.readlink(f"/proc/{p}/exe") == binary and data.encode() in \
                                open(f"/proc/{p}/cmdline", "rb").read().split(b"\0"):
                            pid = int(p)
                            facts["pid"] = pid
                            break
                    except OSError:
                        pass
        s = status() if pid is not None else {}
        if s:
            anon = max(anon, int(s.get("RssAnon", 0)))
            file_ = max(file_, int(s.get("RssFile", 0)))
        if "reports_start" not in facts and os.path.exists(crates):
            facts["reports_start"] = now
            if s:
                facts["ingest_hwm_kb"] = int(s.get("VmHWM", 0))
        if "reports_start" in facts and "commit_start" not in facts and (
                os.path.exists(lock) or os.path.exists(index)):
            facts["commit_start"] = now
        time.sleep(POLL)

    facts["max_rss_anon_kb"] = anon
    facts["max_rss_file_kb"] = file_
    with open(out, "w") as f:
        for k, v in facts.items():
            f.write(f"{k} {v}\n")


if __name__ == "__main__":
    main()
