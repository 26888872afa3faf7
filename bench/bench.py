#!/usr/bin/env python3
"""scopewatch against urlwatch, changedetection.io and a plain curl fetch.

Generates N compliance-style pages, serves them from a private nginx on
127.0.0.1, and times whole passes of each tool as processes with
/usr/bin/time -v (wall, user+sys CPU, peak RSS), plus the bytes and rows
each tool's database gained. Started by bench/run.sh, which installs what
this needs; see "Performance" in README.md. Everything stays on 127.0.0.1.
"""

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

PASSES = ["first", "unchanged", "changed-10%", "errors-10%", "after-history"]

SERVICES = [
    "API Management", "App Configuration", "App Service", "Application Gateway",
    "Automation", "Azure Active Directory", "Azure AI Search", "Azure Arc",
    "Azure Backup", "Azure Bastion", "Azure Bot Service", "Azure Cache for Redis",
    "Azure Container Apps", "Azure Cosmos DB", "Azure Data Explorer",
    "Azure Database for MySQL", "Azure Database for PostgreSQL", "Azure DevOps",
    "Azure DNS", "Azure Firewall", "Azure Front Door", "Azure Functions",
    "Azure Kubernetes Service", "Azure Lab Services", "Azure Load Testing",
    "Azure Managed Grafana", "Azure Maps", "Azure Monitor", "Azure Policy",
    "Azure Resource Manager", "Azure Service Bus", "Azure SignalR Service",
    "Azure Site Recovery", "Azure SQL Database", "Azure Stack Edge",
    "Azure Virtual Desktop", "Batch", "Cloud Shell", "Container Instances",
    "Container Registry", "Data Factory", "Event Grid", "Event Hubs",
    "ExpressRoute", "HDInsight", "Key Vault", "Load Balancer", "Logic Apps",
    "Machine Learning", "Microsoft Defender for Cloud", "Microsoft Sentinel",
    "Network Watcher", "Notification Hubs", "Power BI Embedded", "Storage",
    "Stream Analytics", "Traffic Manager", "Virtual Machines", "Virtual Network",
    "VPN Gateway",
]
CERTIFICATIONS = ["SOC 1", "SOC 2", "SOC 3", "ISO 27001", "ISO 27017", "PCI DSS", "HIPAA BAA"]
RECOMMENDED = [
    "Azure compliance documentation", "Microsoft Purview compliance",
    "Azure security baseline for Bot Service", "Trust Center overview",
]


# ---------------------------------------------------------------- the pages

def page(index, version):
    """One page: a scope list and a check-mark matrix inside the chrome that
    scopewatch::demo::site::render draws (request id, script, style,
    recommended box, feedback widget, <time>). `version` changes the
    content inside <main> (a dated note and one service in or out)."""
    rng = random.Random(index)
    cert = CERTIFICATIONS[index % len(CERTIFICATIONS)]
    services = sorted(rng.sample(SERVICES, 58))
    if version % 2 == 1:
        services = services[1:]
    items = "\n".join(f"<li>{s}</li>" for s in services)
    head = "".join(f"<th>{c}</th>" for c in CERTIFICATIONS)
    rows = "\n".join(
        "<tr><td>{}</td>{}</tr>".format(
            s, "".join("<td>✅</td>" if rng.random() < 0.7 else "<td></td>" for _ in CERTIFICATIONS))
        for s in sorted(rng.sample(SERVICES, 48)))
    nonce = f"{((index + 1) * 0x9E3779B97F4A7C15) % 2**64:016x}"
    return f"""<!DOCTYPE html>
<html lang="en-us"><head><meta charset="utf-8"><title>{cert} offering {index} | Microsoft Learn</title>
<meta name="ms.requestid" content="req-{index:08x}-{nonce}">
<script>window.msDocs = {{ nonce: "{nonce}", n: {index} }};</script>
<style>.x{index} {{ color: red }}</style></head>
<body><header><nav><a href="/en-us/">Learn</a> <a href="/en-us/azure/">Azure</a></nav></header>
<aside class="recommended"><h3>Recommended</h3><ul><li>{RECOMMENDED[index % 4]}</li></ul></aside>
<main id="main" role="main"><div class="content">
<h1>{cert} offering {index}</h1>
<p>Last reviewed: revision {version}. This article describes how Microsoft cloud services
support {cert}, which services are in scope of the most recent audit, and where to find the
audit reports and certificates in the Service Trust Portal.</p>
<h2>About {cert}</h2>
<p>{cert} is an attestation of the controls a service organisation has in place over the
security, availability, processing integrity, confidentiality and privacy of a system. An
independent auditor examines the design and the operating effectiveness of those controls over
a review period and issues a report that customers can rely on in their own audits.</p>
<p>Customers remain responsible for the controls they operate themselves: the configuration of
the services they deploy, the identities and access they grant, and the data they choose to
store. The shared responsibility model explains which controls the provider operates, which the
customer operates, and which they share, and the audit report lists the complementary user
entity controls that customers are expected to have in place when they rely on this report.</p>
<h2>In-scope services</h2>
<ul>
{items}
</ul>
<h2>Audit scope by certification</h2>
<table class="audit-scope"><thead><tr><th>Service</th>{head}</tr></thead><tbody>
{rows}
</tbody></table>
<h2>Frequently asked questions</h2>
<p><strong>How often is the audit performed?</strong> Every year, with a bridge letter for
the months between the end of a review period and the next report.</p>
<p><strong>Where can I get the report?</strong> In the Service Trust Portal, under audit
reports, after signing in with an organisational account.</p>
</div>
<div class="feedback">Was this page helpful? <span>session {nonce}</span></div>
<time datetime="2026-11-28T12:{index % 60:02}:00Z">{index} minutes ago</time>
</main>
<footer>&copy; Microsoft 2026 &middot; request {index}</footer></body></html>
"""


class Site:
    """The page files and nginx's error rules. A page's mtime is a function
    of its version, so nginx's ETag and Last-Modified change with the
    content and come back the same when a version is written again (each
    tool's stored validators stay valid for the pages it stored)."""

    def __init__(self, root, pages):
        self.root = root
        self.pages = pages
        self.versions = [None] * pages
        os.makedirs(os.path.join(root, "www", "p"), exist_ok=True)
        self.rules = os.path.join(root, "errors.conf")
        self.set_errors([])

    def path(self, i):
        return os.path.join(self.root, "www", "p", f"{i:05d}.html")

    def url(self, port, i):
        return f"http://127.0.0.1:{port}/p/{i:05d}.html"

    def write(self, indices, version):
        stamp = 1_700_000_000 + version
        for i in indices:
            if self.versions[i] == version:
                continue
            with open(self.path(i), "w", encoding="utf-8") as f:
                f.write(page(i, version))
            os.utime(self.path(i), (stamp, stamp))
            self.versions[i] = version

    def set_errors(self, indices):
        with open(self.rules, "w", encoding="utf-8") as f:
            for n, i in enumerate(indices):
                status = 404 if n % 2 == 0 else 500
                f.write(f"location = /p/{i:05d}.html {{ return {status}; }}\n")

    def bytes(self):
        return sum(os.path.getsize(self.path(i)) for i in range(self.pages))


class Nginx:
    """A private nginx: its own prefix and config, 127.0.0.1 only."""

    def __init__(self, root, site):
        self.root = root
        self.site = site
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        conf = os.path.join(root, "nginx.conf")
        user = "user root;\n" if os.geteuid() == 0 else ""
        with open(conf, "w", encoding="utf-8") as f:
            f.write(f"""{user}worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {root}/tmp-body;
  proxy_temp_path {root}/tmp-proxy;
  fastcgi_temp_path {root}/tmp-fastcgi;
  uwsgi_temp_path {root}/tmp-uwsgi;
  scgi_temp_path {root}/tmp-scgi;
  types {{ text/html html; }}
  charset utf-8;
  keepalive_requests 100000;
  etag on;
  server {{
    listen 127.0.0.1:{self.port};
    root {root}/www;
    include {site.rules};
  }}
}}
""")
        self.proc = subprocess.Popen(
            ["nginx", "-p", root, "-c", conf, "-g", "daemon off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.1).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    sys.exit("nginx did not start: " + self.proc.stderr.read().decode())
                time.sleep(0.05)
        sys.exit(f"nginx did not listen on 127.0.0.1:{self.port}; see {root}/nginx-error.log")

    def reload(self, probe):
        """Re-reads errors.conf (SIGHUP), then waits until `probe` answers as configured."""
        self.proc.send_signal(1)
        expected = probe[1]
        for _ in range(200):
            time.sleep(0.05)
            out = subprocess.run(
                ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", probe[0]],
                capture_output=True, text=True).stdout
            if out == str(expected):
                time.sleep(0.2)  # let the old worker finish
                return
        sys.exit(f"nginx did not pick up {self.site.rules}")

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


# ---------------------------------------------------------------- the tools

def timed(cmd, env=None, ok=(0,)):
    """Runs cmd under /usr/bin/time -v; returns wall s (measured here: time
    prints only hundredths), user+sys s and peak RSS KB from time."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as t:
        started = time.perf_counter()
        proc = subprocess.run(["/usr/bin/time", "-v", "-o", t.name] + cmd, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wall = time.perf_counter() - started
        report = t.read()
    if proc.returncode not in ok:
        sys.exit(f"{cmd[0]} exited {proc.returncode}:\n{proc.stderr.decode()[-3000:]}\n{report}")

    def field(name):
        return re.search(rf"{re.escape(name)}: (.*)", report).group(1).strip()

    cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
    return wall, cpu, int(field("Maximum resident set size (kbytes)"))


def db_size(path):
    return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))


def db_rows(path):
    if not os.path.exists(path):
        return 0
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        return sum(con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables)
    finally:
        con.close()


class Scopewatch:
    name = "scopewatch"

    def __init__(self, root, binary, urls, concurrency):
        self.binary = binary
        self.config = os.path.join(root, "scopewatch.toml")
        with open(self.config, "w", encoding="utf-8") as f:
            # All pages are on one host: per_host = concurrency and no
            # host_delay, or the per-host politeness limits would be timed.
            # No retries: the peers do not retry either.
            f.write(f"""[daemon]
concurrency = {concurrency}

[http]
per_host = {concurrency}
host_delay = "0s"
retries = 0
""")
            for n, url in enumerate(urls):
                f.write(f'\n[[source]]\nid = "p{n:05d}"\nurl = "{url}"\n'
                        'ignore = [".feedback", "time"]\n')

    def pass_(self, db):
        return timed([self.binary, "--config", self.config, "--db", db, "check"], ok=(0, 1))


class Urlwatch:
    name = "urlwatch"

    def __init__(self, root, venv, urls, concurrency):
        self.binary = os.path.join(venv, "bin", "urlwatch")
        self.urls = os.path.join(root, "urls.yaml")
        self.hooks = os.path.join(root, "hooks.py")
        self.config = os.path.join(root, "urlwatch.yaml")
        with open(self.urls, "w", encoding="utf-8") as f:
            f.write("\n---\n".join(f"name: p{n:05d}\nurl: {u}" for n, u in enumerate(urls)) + "\n")
        with open(self.hooks, "w", encoding="utf-8") as f:
            # urlwatch sizes its thread pool from this module global.
            f.write(f"import urlwatch.worker\nurlwatch.worker.MAX_WORKERS = {concurrency}\n")
        os.chmod(self.hooks, 0o600)
        with open(self.config, "w", encoding="utf-8") as f:
            f.write("display:\n  new: true\n  error: true\n  unchanged: false\n"
                    "report:\n  text:\n    details: true\n    footer: false\n"
                    "  stdout:\n    enabled: true\n    color: false\n")
        self.env = dict(os.environ, HOME=root, XDG_CONFIG_HOME=root, XDG_CACHE_HOME=root)

    def pass_(self, db):
        return timed([self.binary, "--urls", self.urls, "--config", self.config,
                      "--hooks", self.hooks, "--cache", db], env=self.env, ok=(0, 1))


# Run with the venv's python (untimed): makes the datastore every timed pass
# starts from, with one watch per page and no snapshot yet.
CDIO_INIT = """
import os, sys
import changedetectionio
from changedetectionio import store
path, concurrency, urls = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
os.makedirs(path)
ds = store.ChangeDetectionStore(datastore_path=path, include_default_watches=False,
                                version_tag=changedetectionio.__version__)
settings = ds.data['settings']
settings['requests']['workers'] = concurrency
settings['application']['ui']['favicons_enabled'] = False
# Scopewatch's ignore; it costs changedetection.io about a third of its CPU a page.
settings['application']['global_subtractive_selectors'] = ['.feedback', 'time']
for url in urls:
    ds.add_watch(url=url, extras={'fetch_backend': 'html_requests'})
ds.commit()
if len(ds.data['watching']) != len(urls):
    sys.exit(f"{len(ds.data['watching'])} watches for {len(urls)} URLs")
"""


def tree_bytes(path):
    return sum(os.path.getsize(os.path.join(d, f))
               for d, _, files in os.walk(path) for f in files)


class Changedetection:
    """changedetection.io in its batch mode (`-b -r all`, 0.55+): loads the
    datastore, queues every watch, starts its fetch workers without the web
    server, the scheduler, the notification runner or the version check,
    and exits once the queue is empty and every worker idle. The process is
    timed whole: startup (Flask app, imports), the checks, and the batch
    monitor's own waits (a fixed 3 s before it first polls, then polls every
    0.2-0.8 s and wants 0.5 s of idle), so about 4 s of each pass is waiting.

    Its datastore directory plays the database: changedetection.json (the
    settings), and per watch a directory with watch.json, history.txt (one
    line per stored snapshot: the rows counted here) and the snapshots.

    Kept on 127.0.0.1: batch mode skips the version check (and
    DISABLE_VERSION_CHECK=yes says so again); LITELLM_LOCAL_MODEL_COST_MAP
    keeps litellm's import from fetching its price map; favicons off (the
    plain-requests fetcher does not fetch them anyway); no notification
    URLs, no default watches (the datastore is made here, without them), no
    proxy variables; the fetcher is plain requests, no browser.
    ALLOW_IANA_RESTRICTED_ADDRESSES=true lets it fetch 127.0.0.1 at all
    (its SSRF guard refuses loopback by default)."""

    name = "changedetection.io"

    def __init__(self, root, venv, urls, concurrency):
        self.binary = os.path.join(venv, "bin", "changedetection.py")
        self.template = os.path.join(root, "cdio-template")
        self.pages = len(urls)
        self.env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        self.env.update(
            HOME=root, XDG_CONFIG_HOME=root, XDG_CACHE_HOME=root,
            ALLOW_IANA_RESTRICTED_ADDRESSES="true", DISABLE_VERSION_CHECK="yes",
            LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_FETCH_PRICING_FROM_GITHUB="false",
            # The worker count also lives in the settings; this wins over them.
            FETCH_WORKERS=str(concurrency))
        if os.path.exists(self.template):
            shutil.rmtree(self.template)
        proc = subprocess.run([os.path.join(venv, "bin", "python"), "-c", CDIO_INIT,
                               self.template, str(concurrency)] + urls,
                              env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if proc.returncode != 0:
            sys.exit("changedetection.io datastore setup failed:\n"
                     + proc.stderr.decode()[-3000:])

    def fresh(self, db):
        if os.path.exists(db):
            shutil.rmtree(db)
        shutil.copytree(self.template, db)

    def restore(self, src, db):
        if os.path.exists(db):
            shutil.rmtree(db)
        shutil.copytree(src, db)

    def size(self, db):
        return tree_bytes(db) if os.path.exists(db) else 0

    def rows(self, db):
        if not os.path.exists(db):
            return 0
        n = 0
        for entry in os.scandir(db):
            history = os.path.join(entry.path, "history.txt")
            if entry.is_dir() and os.path.exists(history):
                with open(history, encoding="utf-8") as f:
                    n += sum(1 for line in f if line.strip())
        return n

    def checked_since(self, db, since):
        n = 0
        for entry in os.scandir(db):
            watch = os.path.join(entry.path, "watch.json")
            if entry.is_dir() and os.path.exists(watch):
                with open(watch, encoding="utf-8") as f:
                    if (json.load(f).get("last_checked") or 0) >= since:
                        n += 1
        return n

    def pass_(self, db):
        with socket.socket() as s:
            # Batch mode refuses to run if its (unused) web port is taken.
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        started = int(time.time())
        result = timed([self.binary, "-d", db, "-b", "-r", "all", "-h", "127.0.0.1",
                        "-p", str(port), "-l", "WARNING"], env=self.env)
        # Batch mode gives up waiting after about 4 minutes and exits 0 all
        # the same; a pass that did not check every page is not a figure.
        checked = self.checked_since(db, started)
        if checked != self.pages:
            sys.exit(f"changedetection.io checked {checked} of {self.pages} pages in {db}")
        return result


class Curl:
    name = "curl (floor)"

    def __init__(self, root, urls, concurrency):
        self.list = os.path.join(root, "urls.curl")
        self.concurrency = concurrency
        with open(self.list, "w", encoding="utf-8") as f:
            for u in urls:
                f.write(f'url = "{u}"\noutput = "/dev/null"\n')

    def pass_(self, _db):
        return timed(["curl", "-s", "--parallel", "--parallel-max", str(self.concurrency),
                      "-K", self.list])


# ---------------------------------------------------------------- the run

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--history", type=int, default=50,
                    help="stored versions per page before scopewatch's after-history pass")
    ap.add_argument("--peer-history", type=int,
                    help="the same for urlwatch and changedetection.io (default: --history); "
                         "urlwatch's passes slow down as its history grows, so 50 versions "
                         "take it about an hour to store")
    ap.add_argument("--scopewatch", required=True, help="the scopewatch binary")
    ap.add_argument("--urlwatch-venv", help="venv with urlwatch 2.29 (omit to skip urlwatch)")
    ap.add_argument("--with-changedetection", action="store_true",
                    help="also time changedetection.io in its batch mode")
    ap.add_argument("--changedetection-venv",
                    default=os.path.join(os.environ.get("XDG_CACHE_HOME")
                                         or os.path.expanduser("~/.cache"),
                                         "scopewatch-bench", "cdio"),
                    help="venv with changedetection.io 0.60.10 (default: %(default)s)")
    ap.add_argument("--workdir", help="keep the pages and databases here (default: a temp dir, removed)")
    args = ap.parse_args()
    if args.peer_history is None:
        args.peer_history = args.history

    root = args.workdir or tempfile.mkdtemp(prefix="scopewatch-bench-")
    os.makedirs(root, exist_ok=True)
    os.chmod(root, 0o755)
    site = Site(root, args.pages)
    site.write(range(args.pages), 0)
    nginx = Nginx(root, site)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))
    try:
        run(args, root, site, nginx)
    finally:
        nginx.stop()
    if not args.workdir:
        shutil.rmtree(root)


def run(args, root, site, nginx):
    urls = [site.url(nginx.port, i) for i in range(args.pages)]
    tools = [Scopewatch(root, args.scopewatch, urls, args.concurrency)]
    if args.urlwatch_venv:
        tools.append(Urlwatch(root, args.urlwatch_venv, urls, args.concurrency))
    if args.with_changedetection:
        tools.append(Changedetection(root, args.changedetection_venv, urls, args.concurrency))
    tools.append(Curl(root, urls, args.concurrency))
    print(f"{args.pages} pages of {site.bytes() / args.pages / 1024:.1f} KB on "
          f"127.0.0.1:{nginx.port}, concurrency {args.concurrency}, {args.runs} runs, "
          f"work dir {root}", file=sys.stderr)

    results = {(t.name, p): [] for t in tools for p in PASSES}

    def measure(tool, pass_name, db):
        # changedetection.io's datastore is a directory, the others' a SQLite file.
        size_of = getattr(tool, "size", db_size)
        rows_of = getattr(tool, "rows", db_rows)
        size, rows = size_of(db), rows_of(db)
        # Nothing the harness wrote (a 600 MB history copy, the pages) is
        # left dirty for the timed pass's first fsync to flush.
        os.sync()
        wall, cpu, rss = tool.pass_(db)
        results[(tool.name, pass_name)].append(
            (wall, cpu, rss, size_of(db) - size, rows_of(db) - rows))

    everything = range(args.pages)
    # The history: `--history` versions of every page, stored by each tool
    # once; each run then starts from a copy of it.
    site.write(everything, 0)
    history = {}
    last = args.history - 1
    for tool in tools:
        db = os.path.join(root, f"history-{tool.name.split()[0]}.db")
        history[tool.name] = db
        if isinstance(tool, Curl):
            continue
        if hasattr(tool, "fresh"):
            tool.fresh(db)
        depth = args.history if isinstance(tool, Scopewatch) else args.peer_history
        for v in range(depth):
            site.write(everything, v)
            tool.pass_(db)
        # Every tool's history ends at the same version of the pages.
        if site.versions[0] != last:
            site.write(everything, last)
            tool.pass_(db)
        print(f"{tool.name}: {depth} versions of each page stored", file=sys.stderr)

    rng = random.Random(7)
    for n in range(args.runs):
        tenth = rng.sample(range(args.pages), max(1, args.pages // 10))
        for tool in tools:
            db = os.path.join(root, f"run-{tool.name.split()[0]}.db")
            if hasattr(tool, "fresh"):
                tool.fresh(db)
            else:
                for p in (db, db + "-wal", db + "-shm"):
                    if os.path.exists(p):
                        os.remove(p)
            site.write(everything, 0)
            measure(tool, "first", db)
            measure(tool, "unchanged", db)
            site.write(tenth, 1000 + n)
            measure(tool, "changed-10%", db)
            site.set_errors(tenth)
            nginx.reload((urls[tenth[0]], 404))
            measure(tool, "errors-10%", db)
            site.set_errors([])
            nginx.reload((urls[tenth[0]], 200))
            # The same changed-10% pass, on a copy of the history.
            site.write(everything, last)
            if hasattr(tool, "restore"):
                tool.restore(history[tool.name], db)
            elif not isinstance(tool, Curl):
                # The WAL may hold committed pages not yet in the main file.
                for ext in ("", "-wal", "-shm"):
                    if os.path.exists(db + ext):
                        os.remove(db + ext)
                    if ext != "-shm" and os.path.exists(history[tool.name] + ext):
                        shutil.copyfile(history[tool.name] + ext, db + ext)
            site.write(tenth, 1000 + n)
            measure(tool, "after-history", db)
        print(f"run {n + 1}/{args.runs} done", file=sys.stderr)
    print_table(tools, results, args)


def print_table(tools, results, args):
    med = {k: [statistics.median(x[i] for x in v) for i in range(5)] for k, v in results.items() if v}
    peers = [t.name for t in tools if t.name != "scopewatch"]
    stored = [p for p in peers if not p.startswith("curl")]
    print(f"\nMedians of {args.runs} runs, {args.pages} pages, concurrency {args.concurrency}; "
          f"after-history = the changed-10% pass with {args.history} stored versions per page"
          + (f" ({args.peer_history} for {' and '.join(stored)})" if stored else "") + ".\n")
    head = ["tool", "pass", "wall s", "CPU s", "peak RSS MB", "disk +bytes", "bytes/page", "rows +"]
    head += [f"scopewatch/{p.split()[0]} wall" for p in peers]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for t in tools:
        for p in PASSES:
            wall, cpu, rss, disk, rows = med[(t.name, p)]
            cells = [t.name, p, f"{wall:.3f}", f"{cpu:.3f}", f"{rss / 1024:.1f}",
                     f"{disk:,.0f}", f"{disk / args.pages:,.0f}", f"{rows:,.0f}"]
            for peer in peers:
                if t.name == "scopewatch":
                    cells.append(f"{wall / med[(peer, p)][0]:.3f}")
                else:
                    cells.append("")
            print("| " + " | ".join(cells) + " |")
    fresh = med[("scopewatch", "changed-10%")][0]
    print(f"\nscopewatch after-history / changed-10% (fresh) wall: "
          f"{med[('scopewatch', 'after-history')][0] / fresh:.2f}")


if __name__ == "__main__":
    main()
