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
<aside class="recommended"><h3>Recommended</h3><ul><li><a href="/p/{index ^ 1:05d}.html">{RECOMMENDED[index % 4]}</a></li></ul></aside>
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

    def bytes(self, pages=None):
        return sum(os.path.getsize(self.path(i)) for i in range(pages or self.pages))


class Nginx:
    """A private nginx: its own prefix and config, 127.0.0.1 only."""

    def __init__(self, root, site, port=None):
        self.root = root
        self.site = site
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port or 0))
            except OSError:
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


def write_scopewatch_config(path, urls, concurrency, follow_every=0, daemon=""):
    """scopewatch's bench configuration. All pages are on one host:
    per_host = concurrency and no host_delay, or the per-host politeness
    limits would be timed. No retries: the peers do not retry either. With
    follow_every = K, every K-th source also follows the link in its
    page's aside (to another bench page, on 127.0.0.1)."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"""[daemon]
concurrency = {concurrency}
{daemon}
[http]
per_host = {concurrency}
host_delay = "0s"
retries = 0
""")
        for n, url in enumerate(urls):
            f.write(f'\n[[source]]\nid = "p{n:05d}"\nurl = "{url}"\n'
                    'ignore = [".feedback", "time"]\n')
            if follow_every and n % follow_every == 0:
                f.write('allow_private = true\nfollow = { select = "aside a", max = 1 }\n')


class Scopewatch:
    name = "scopewatch"

    def __init__(self, root, binary, urls, concurrency, config_name="scopewatch.toml"):
        self.binary = binary
        self.config = os.path.join(root, config_name)
        write_scopewatch_config(self.config, urls, concurrency)

    def pass_(self, db, config=None):
        return timed([self.binary, "--config", config or self.config, "--db", db, "check"],
                     ok=(0, 1))


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

# Peak memory allowed at each number of sources (issue targets; see
# docs/performance.md for why these values).
MEMORY_LIMIT_MB = {1000: 30, 10000: 60, 100000: 150}
SCALE_PASSES = ["first", "unchanged", "changed-10%"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=1000,
                    help="the largest number of sources: scopewatch's first, unchanged and "
                         "changed-10%% passes also run at 10,000, 100,000... up to it")
    ap.add_argument("--compare-pages", type=int, default=1000,
                    help="pages of the comparison with the other tools (default: %(default)s)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--slow-runs", type=int,
                    help="runs of verify and export on the history (default: --runs)")
    ap.add_argument("--scale-runs", type=int,
                    help="runs of the passes at 10,000 sources and more (default: --runs)")
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--history", type=int, default=50,
                    help="stored versions per page before the after-history pass "
                         "(0: no such pass)")
    ap.add_argument("--peer-history", type=int,
                    help="the same for urlwatch and changedetection.io (default: --history); "
                         "urlwatch's passes slow down as its history grows, so 50 versions "
                         "take it about an hour to store")
    ap.add_argument("--history-years", default="",
                    help="years of 6-hourly sweeps to generate, e.g. 1,3: the first is measured "
                         "in full, the changed-10%% pass runs on each")
    ap.add_argument("--export-days", type=float, default=0,
                    help="export only the last N days of the history (0: all of it); an "
                         "export that holds the bundle in memory needs gigabytes for a year")
    ap.add_argument("--no-idle", action="store_true", help="skip the idle daemon measurement")
    ap.add_argument("--scopewatch", required=True, help="the scopewatch binary")
    ap.add_argument("--history-generator", help="the history example binary")
    ap.add_argument("--parse-floor", help="the parse_floor example binary")
    ap.add_argument("--urlwatch-venv", help="venv with urlwatch 2.29 (omit to skip urlwatch)")
    ap.add_argument("--with-changedetection", action="store_true",
                    help="also time changedetection.io in its batch mode")
    ap.add_argument("--changedetection-venv",
                    default=os.path.join(os.environ.get("XDG_CACHE_HOME")
                                         or os.path.expanduser("~/.cache"),
                                         "scopewatch-bench", "cdio"),
                    help="venv with changedetection.io 0.60.10 (default: %(default)s)")
    ap.add_argument("--workdir", help="keep the pages and databases here (default: a temp dir, "
                                      "removed); generated histories are reused from it")
    args = ap.parse_args()
    if args.peer_history is None:
        args.peer_history = args.history
    args.slow_runs = args.slow_runs or args.runs
    args.scale_runs = args.scale_runs or args.runs
    args.history_years = [float(y) for y in args.history_years.split(",") if y.strip()]
    if args.history_years and not args.history_generator:
        sys.exit("--history-years needs --history-generator (bench/run.sh passes it)")
    args.compare_pages = min(args.compare_pages, args.pages)

    root = args.workdir or tempfile.mkdtemp(prefix="scopewatch-bench-")
    os.makedirs(root, exist_ok=True)
    os.chmod(root, 0o755)
    site = Site(root, args.pages)
    print(f"writing {args.pages} pages", file=sys.stderr)
    site.write(range(args.pages), 0)
    # A kept work directory keeps its port, so histories generated there
    # (their URLs name it) can be measured again.
    port_file = os.path.join(root, "port")
    port = int(open(port_file).read()) if os.path.exists(port_file) else None
    nginx = Nginx(root, site, port)
    with open(port_file, "w") as f:
        f.write(str(nginx.port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))
    try:
        run(args, root, site, nginx)
    finally:
        nginx.stop()
    if not args.workdir:
        shutil.rmtree(root)


def machine():
    """What the figures were measured on."""
    def out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
        except OSError:
            return "?"
    model = re.search(r"Model name:\s*(.*)", out(["lscpu"]))
    mem = re.search(r"Mem:\s+(\S+)", out(["free", "-g"]))
    return (f"{os.cpu_count()} CPUs ({model.group(1) if model else '?'}), "
            f"{mem.group(1) if mem else '?'} GiB RAM, Linux {os.uname().release}, "
            f"{out(['nginx', '-v']) or subprocess.run(['nginx', '-v'], capture_output=True, text=True).stderr.strip()}, "
            f"{out(['curl', '--version']).splitlines()[0].split(' (')[0]}")


def load():
    return "load {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def run(args, root, site, nginx):
    urls = [site.url(nginx.port, i) for i in range(args.pages)]
    cmp_urls = urls[:args.compare_pages]
    scopewatch = Scopewatch(root, args.scopewatch, cmp_urls, args.concurrency)
    tools = [scopewatch]
    if args.urlwatch_venv:
        tools.append(Urlwatch(root, args.urlwatch_venv, cmp_urls, args.concurrency))
    if args.with_changedetection:
        tools.append(Changedetection(root, args.changedetection_venv, cmp_urls, args.concurrency))
    tools.append(Curl(root, cmp_urls, args.concurrency))
    report = Report(args)
    report.note(f"machine: {machine()}")
    report.note(f"{args.compare_pages} pages of {site.bytes(args.compare_pages) / args.compare_pages / 1024:.1f} KB "
                f"on 127.0.0.1:{nginx.port}, concurrency {args.concurrency}, {args.runs} runs, "
                f"work dir {root}; at the start: {load()}")

    histories = generate_histories(args, root, site, nginx, cmp_urls, report)
    passes = ["first", "unchanged", "changed-10%", "errors-10%"]
    if args.history > 0:
        passes.append("after-history")
    passes += [f"after-{years:g}y" for years, _ in histories]
    results = {(t.name, p): [] for t in tools for p in passes}

    def measure(tool, pass_name, db, config=None):
        # changedetection.io's datastore is a directory, the others' a SQLite file.
        size_of = getattr(tool, "size", db_size)
        rows_of = getattr(tool, "rows", db_rows)
        size, rows = size_of(db), rows_of(db)
        # Nothing the harness wrote (a history copy, the pages) is left
        # dirty for the timed pass's first fsync to flush.
        os.sync()
        wall, cpu, rss = tool.pass_(db, config) if config else tool.pass_(db)
        results[(tool.name, pass_name)].append(
            (wall, cpu, rss, size_of(db) - size, rows_of(db) - rows))

    everything = range(args.compare_pages)
    # The history: `--history` versions of every page, stored by each tool
    # once; each run then starts from a copy of it.
    history = {}
    last = max(args.history - 1, 0)
    if args.history > 0:
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
    report.note(f"comparison runs start: {load()}")
    for n in range(args.runs):
        tenth = rng.sample(range(args.compare_pages), max(1, args.compare_pages // 10))
        for tool in tools:
            db = os.path.join(root, f"run-{tool.name.split()[0]}.db")
            if hasattr(tool, "fresh"):
                tool.fresh(db)
            else:
                remove_db(db)
            site.write(everything, 0)
            measure(tool, "first", db)
            measure(tool, "unchanged", db)
            site.write(tenth, 1000 + n)
            measure(tool, "changed-10%", db)
            site.set_errors(tenth)
            nginx.reload((cmp_urls[tenth[0]], 404))
            measure(tool, "errors-10%", db)
            site.set_errors([])
            nginx.reload((cmp_urls[tenth[0]], 200))
            if args.history > 0:
                # The same changed-10% pass, on a copy of the history.
                site.write(everything, last)
                if hasattr(tool, "restore"):
                    tool.restore(history[tool.name], db)
                elif not isinstance(tool, Curl):
                    copy_db(history[tool.name], db)
                site.write(tenth, 1000 + n)
                measure(tool, "after-history", db)
            if isinstance(tool, Scopewatch):
                # The same changed-10% pass, on a copy of each generated
                # history (which ends with every page at version 0).
                for years, hist in histories:
                    site.write(everything, 0)
                    copy_db(hist["db"], db)
                    site.write(tenth, 1000 + n)
                    measure(tool, f"after-{years:g}y", db)
            elif histories:
                site.write(everything, 0)
                site.write(tenth, 1000 + n)
                if isinstance(tool, Curl):
                    for years, _ in histories:
                        measure(tool, f"after-{years:g}y", db)
        print(f"run {n + 1}/{args.runs} done", file=sys.stderr)
    remove_db(os.path.join(root, "run-scopewatch.db"))
    report.note(f"comparison runs end: {load()}")
    site.write(everything, 0)
    report.passes(tools, passes, results)

    if histories:
        measure_history(args, root, scopewatch, histories[0], report)
    scale = measure_scale(args, root, site, urls, scopewatch, results, report)
    measure_config_check(args, root, urls, report)
    floor = measure_floor(args, root, report)
    report.targets_from_passes(results, histories, scale, floor)
    if not args.no_idle:
        measure_idle(args, root, cmp_urls, report)
    report.note(f"at the end: {load()}")
    report.print()


def remove_db(db):
    for ext in ("", "-wal", "-shm"):
        if os.path.exists(db + ext):
            os.remove(db + ext)


def copy_db(src, db):
    """A copy of a SQLite database, its WAL too (it may hold committed pages
    not yet in the main file)."""
    remove_db(db)
    for ext in ("", "-wal"):
        if os.path.exists(src + ext):
            shutil.copyfile(src + ext, db + ext)


def median(values):
    return statistics.median(values)


def generate_histories(args, root, site, nginx, urls, report):
    """The history databases, [(years, {db, end, ...})], written by the
    history example through scopewatch's own sweep: the longest one is
    generated from its start; each shorter one is a copy of the longest's
    first years (so only the longest span is generated once). Reused from
    a kept work directory when made for the same pages and port."""
    if not args.history_years:
        return []
    config = os.path.join(root, "history.toml")
    # Every 50th source follows its page's link too (2 % of the sources).
    write_scopewatch_config(config, urls, args.concurrency, follow_every=50)
    spans = sorted(args.history_years)
    now = int(time.time())
    end = now - now % (6 * 3600)
    start = end - int(spans[-1] * 365 * 86400)
    working = os.path.join(root, "history-generating.db")
    histories = {}
    meta_of = lambda years: os.path.join(root, f"history-{years:g}y.json")
    wanted = {"pages": len(urls), "port": nginx.port}
    cached = {}
    for years in spans:
        path = meta_of(years)
        if os.path.exists(path):
            meta = json.load(open(path))
            if all(meta.get(k) == v for k, v in wanted.items()) and os.path.exists(meta["db"]):
                cached[years] = meta
    if len(cached) == len(spans):
        for years in spans:
            report.note(f"history {years:g}y reused from {cached[years]['db']} "
                        f"(generated in {cached[years]['generated_s']:.0f} s)")
        return [(years, cached[years]) for years in spans]

    site.write(range(len(urls)), 0)
    remove_db(working)
    done = 0.0
    generated = 0.0
    print(f"generating {spans[-1]:g} years of history: {load()}", file=sys.stderr)
    for years in spans:
        span_start = start + int(done * 365 * 86400)
        wall, cpu, rss = timed([args.history_generator, config, os.path.join(root, "www"), working,
                                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(span_start)),
                                f"{years - done:g}", "1"])
        generated += wall
        done = years
        db = os.path.join(root, f"history-{years:g}y.db")
        copy_db(working, db)
        meta = dict(wanted, db=db, years=years, config=config,
                    start=start, end=start + int(years * 365 * 86400),
                    generated_s=generated, generator_cpu_s=cpu, generator_rss_kb=rss,
                    bytes=db_size(db))
        json.dump(meta, open(meta_of(years), "w"))
        histories[years] = meta
        report.note(f"history {years:g}y: generated in {generated:.0f} s wall "
                    f"(this span {wall:.0f} s, {cpu:.0f} s CPU, {rss / 1024:.0f} MB peak), "
                    f"{meta['bytes'] / 1e6:.0f} MB; {load()}")
    remove_db(working)
    return [(years, histories[years]) for years in spans]


def iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def measure_history(args, root, scopewatch, history, report):
    """The reading commands on a copy of the first history database."""
    years, meta = history
    db = os.path.join(root, "history-query.db")
    copy_db(meta["db"], db)
    base = [scopewatch.binary, "--config", meta["config"], "--db", db]
    sources = len(open(meta["config"]).read().split("[[source]]")) - 1
    report.note(f"history queries on {years:g} year(s): {load()}")
    report.history_bytes(years, meta["bytes"], sources, db)

    # Two snapshots of one source a content change apart, by date: the
    # first and the last content change of the history.
    listed = json.loads(subprocess.run(base + ["history", "p00001", "--json", "--limit", "100000"],
                                       capture_output=True, text=True, check=True).stdout)
    changed = [r["id"] for r in listed if r.get("change") == "content"]
    if len(changed) < 2:
        changed = [listed[-1]["id"], listed[0]["id"]]
    queries = [
        ("changes --json, last 30 days",
         ["changes", "--json", "--since", iso(meta["end"] - 30 * 86400)]),
        ("scope --at DATE", ["scope", "--at", iso(meta["end"] - 182 * 86400)]),
        ("history SOURCE", ["history", "p00001"]),
        ("diff SOURCE FROM TO (a year apart)", ["diff", "p00001", str(min(changed)), str(max(changed))]),
    ]
    for name, cmd in queries:
        runs = [timed(base + cmd, ok=(0, 1)) for _ in range(args.runs)]
        report.target(name, median(r[0] for r in runs), "s", 0.050, "<")
    verify = [timed(base + ["verify"], ok=(0, 1)) for _ in range(args.slow_runs)]
    report.target("verify, whole store: wall", median(r[0] for r in verify), "s", 10, "<")
    report.target("verify, whole store: peak memory", median(r[2] for r in verify) / 1024,
                  "MB", 100, "<=")
    if "--last-checkpoint" in subprocess.run([scopewatch.binary, "verify", "--help"],
                                             capture_output=True, text=True).stdout:
        last = [timed(base + ["verify", "--last-checkpoint"], ok=(0, 1))
                for _ in range(args.runs)]
        report.target("verify, last checkpoint interval", median(r[0] for r in last), "s", 1, "<")
    else:
        report.missing("verify, last checkpoint interval", "< 1 s",
                       "verify has no mode that checks only the last interval")
    out = os.path.join(root, "export")
    exports = []
    since = meta["end"] - args.export_days * 86400 if args.export_days else meta["start"]
    span = f"last {args.export_days:g} days" if args.export_days else f"{years:g} year(s)"
    for _ in range(args.slow_runs):
        if os.path.exists(out):
            shutil.rmtree(out)
        exports.append(timed(base + ["export", "--out", out, "--since", iso(since)]))
    size = tree_bytes(out)
    shutil.rmtree(out)
    report.target(f"export of the {span} ({size / 1e6:.0f} MB bundle, "
                  f"{median(r[0] for r in exports):.1f} s): peak memory",
                  median(r[2] for r in exports) / 1024, "MB", 100, "<=")
    remove_db(db)


def measure_scale(args, root, site, urls, scopewatch, results, report):
    """First, unchanged and changed-10% passes at 10,000, 100,000... sources
    (the comparison's own passes are the 1,000-source figures)."""
    scale = {args.compare_pages: {p: results[("scopewatch", p)] for p in SCALE_PASSES}}
    n = args.compare_pages * 10
    rng = random.Random(11)
    while n <= args.pages:
        config = os.path.join(root, f"scopewatch-{n}.toml")
        write_scopewatch_config(config, urls[:n], args.concurrency)
        db = os.path.join(root, f"scale-{n}.db")
        got = {p: [] for p in SCALE_PASSES}
        report.note(f"scale {n} ({args.scale_runs} runs): {load()}")
        for r in range(args.scale_runs):
            remove_db(db)
            site.write(range(n), 0)
            for p in SCALE_PASSES:
                if p == "changed-10%":
                    site.write(rng.sample(range(n), n // 10), 2000 + r)
                os.sync()
                size = db_size(db)
                wall, cpu, rss = scopewatch.pass_(db, config)
                got[p].append((wall, cpu, rss, db_size(db) - size, 0))
            print(f"scale {n}: run {r + 1}/{args.scale_runs} done", file=sys.stderr)
        remove_db(db)
        site.write(range(n), 0)
        scale[n] = got
        n *= 10
    return scale


def measure_config_check(args, root, urls, report):
    n = args.pages
    config = os.path.join(root, f"scopewatch-{n}.toml")
    if not os.path.exists(config):
        write_scopewatch_config(config, urls[:n], args.concurrency)
    runs = [timed([args.scopewatch, "--config", config, "config", "check"])
            for _ in range(args.runs)]
    limit = 2.0 * n / 100000
    report.target(f"config check of {n:,} sources", median(r[0] for r in runs), "s", limit, "<",
                  extra=f"{median(r[2] for r in runs) / 1024:.0f} MB peak")


def measure_floor(args, root, report):
    if not args.parse_floor:
        return None
    out = subprocess.run([args.parse_floor, os.path.join(root, "www", "p"),
                          os.path.join(root, "scopewatch.toml"), str(max(args.runs, 5)),
                          str(args.compare_pages)],
                         capture_output=True, text=True, check=True).stdout
    floor = json.loads(out.strip().splitlines()[-1])
    report.note("parse_floor: " + "; ".join(
        f"{k} {v * 1e3:.0f} ms" for k, v in floor.items() if k.endswith("_s")))
    return floor


def proc_status(pid):
    """(RSS KB, context switches of every thread, CPU ticks) of a process."""
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    switches = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                        switches += int(line.split()[1])
        except FileNotFoundError:
            pass
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return rss, switches, int(fields[11]) + int(fields[12])


def measure_idle(args, root, urls, report):
    """`scopewatch run` on a schedule that is not due again for a year:
    its first sweep, then a minute of idling; then a second daemon on the
    same database, with nothing due, for the start-up size."""
    config = os.path.join(root, "idle.toml")
    write_scopewatch_config(config, urls, args.concurrency,
                            daemon='schedule = "0 0 1 1 *"\njitter = "0s"\n')
    db = os.path.join(root, "idle.db")
    remove_db(db)

    def daemon(wait_for):
        proc = subprocess.Popen([args.scopewatch, "--config", config, "--db", db, "run"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 600
        for line in proc.stderr:
            if wait_for in line:
                break
            if time.time() > deadline:
                break
        # Keep reading its log, so it never blocks on a full pipe.
        import threading
        threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()
        return proc

    report.note(f"idle daemon: {load()}")
    proc = daemon("sweep finished")
    # The runtime's spare blocking threads exit 10 s after their last job.
    time.sleep(15)
    rss_after, switches, ticks = proc_status(proc.pid)
    time.sleep(60)
    _, switches_end, ticks_end = proc_status(proc.pid)
    proc.terminate()
    proc.wait()
    proc = daemon("scheduler started")
    time.sleep(5)
    rss_start, _, _ = proc_status(proc.pid)
    proc.terminate()
    proc.wait()
    hz = os.sysconf("SC_CLK_TCK")
    cpu_share = (ticks_end - ticks) / hz / 60
    report.target("idle daemon: wakeups a minute (context switches, all threads)",
                  switches_end - switches, "", 60, "<=")
    report.target("idle daemon: CPU between sweeps", cpu_share * 100, "%", 0.1, "<=")
    report.target(f"idle daemon: RSS after a sweep of {len(urls):,} sources vs start-up "
                  f"({rss_after / 1024:.1f} vs {rss_start / 1024:.1f} MB)",
                  rss_after / rss_start, "x", 1.25, "<=")
    remove_db(db)


class Report:
    """The notes, the passes table and the one table of targets."""

    def __init__(self, args):
        self.args = args
        self.notes = []
        self.lines = []
        self.rows = []

    def note(self, text):
        print(text, file=sys.stderr)
        self.notes.append(text)

    def target(self, name, value, unit, limit, op, extra=""):
        met = value < limit if op == "<" else value <= limit if op == "<=" else value >= limit
        shown = f"{value * 1e3:.1f} ms" if unit == "s" and limit < 1 else (
            f"{value:.3f} s" if unit == "s" else f"{value:.2f}{unit}" if unit in ("x", "%")
            else f"{value:,.1f} {unit}".rstrip())
        lim = f"{limit * 1e3:g} ms" if unit == "s" and limit < 1 else f"{limit:g}{' ' + unit if unit not in ('x', '%') else unit}"
        self.rows.append((name, shown + (f" ({extra})" if extra else ""), f"{op} {lim}",
                          "met" if met else "NOT MET"))

    def info(self, name, shown):
        self.rows.append((name, shown, "(reported)", ""))

    def missing(self, name, limit, why):
        self.rows.append((name, why, limit, "NOT MET"))

    def history_bytes(self, years, size, sources, db):
        self.info(f"database bytes per source-year ({years:g} y, {sources:,} sources)",
                  f"{size / sources / years:,.0f} B ({size / 1e6:.0f} MB)")

    def passes(self, tools, passes, results):
        med = {k: [median(x[i] for x in v) for i in range(5)] for k, v in results.items() if v}
        self.med = med
        peers = [t.name for t in tools if t.name != "scopewatch"]
        head = ["tool", "pass", "wall s", "CPU s", "peak RSS MB", "disk +bytes", "bytes/page",
                "rows +"] + [f"scopewatch/{p.split()[0]} wall" for p in peers]
        lines = [f"Passes: medians of {self.args.runs} runs, {self.args.compare_pages} pages, "
                 f"concurrency {self.args.concurrency}.", "",
                 "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for t in tools:
            for p in passes:
                if (t.name, p) not in med:
                    continue
                wall, cpu, rss, disk, rows = med[(t.name, p)]
                cells = [t.name, p, f"{wall:.3f}", f"{cpu:.3f}", f"{rss / 1024:.1f}",
                         f"{disk:,.0f}", f"{disk / self.args.compare_pages:,.0f}", f"{rows:,.0f}"]
                for peer in peers:
                    ok = t.name == "scopewatch" and (peer, p) in med
                    cells.append(f"{wall / med[(peer, p)][0]:.3f}" if ok else "")
                lines.append("| " + " | ".join(cells) + " |")
        self.lines += lines

    def targets_from_passes(self, results, histories, scale, floor):
        med = self.med
        sw = lambda p: med[("scopewatch", p)]
        fresh = sw("changed-10%")[0]
        for years, _ in histories:
            self.target(f"changed-10% pass on {years:g} year(s) of history vs fresh "
                        f"({sw(f'after-{years:g}y')[0] * 1e3:.0f} vs {fresh * 1e3:.0f} ms)",
                        sw(f"after-{years:g}y")[0] / fresh, "x", 1.2, "<=")
        if len(histories) > 1:
            (y1, _), (y3, _) = histories[0], histories[-1]
            a, b = sw(f"after-{y1:g}y")[0], sw(f"after-{y3:g}y")[0]
            self.target(f"changed-10% pass, {y3:g} vs {y1:g} year(s) of history "
                        f"({b * 1e3:.0f} vs {a * 1e3:.0f} ms)", b / a, "x", 1.1, "<=")
        base_n = min(scale)
        for n in sorted(scale):
            got = {p: [median(x[i] for x in scale[n][p]) for i in range(5)] for p in SCALE_PASSES}
            if n in MEMORY_LIMIT_MB:
                peak = max(got[p][2] for p in SCALE_PASSES) / 1024
                self.target(f"peak memory at {n:,} sources (largest pass)", peak, "MB",
                            MEMORY_LIMIT_MB[n], "<=")
            if n == base_n:
                base = got
                continue
            for p in SCALE_PASSES:
                for i, what in ((0, "wall"), (1, "CPU")):
                    per, per_base = got[p][i] / n, base[p][i] / base_n
                    self.target(f"{p} at {n:,} sources: {what} per source vs {base_n:,} "
                                f"({per * 1e6:.0f} vs {per_base * 1e6:.0f} us)",
                                per / per_base, "x", 1.3, "<=")
        if floor is not None:
            curl = med[("curl (floor)", "first")][0]
            parse = floor["parse_every_core_s"]
            self.target(f"first pass vs floor ({sw('first')[0]:.3f} s vs curl {curl:.3f} s "
                        f"+ parse on {floor['cores']} cores {parse:.3f} s)",
                        sw("first")[0] / (curl + parse), "x", 2, "<=")
        if ("urlwatch", "changed-10%") in med:
            self.target("changed-10% pass: urlwatch wall / scopewatch wall "
                        f"({med[('urlwatch', 'changed-10%')][0]:.3f} vs {fresh:.3f} s)",
                        med[("urlwatch", "changed-10%")][0] / fresh, "x", 20, ">=")
        curl_unchanged = med[("curl (floor)", "unchanged")][0]
        self.target(f"unchanged pass vs curl ({sw('unchanged')[0]:.3f} vs {curl_unchanged:.3f} s)",
                    sw("unchanged")[0] / curl_unchanged, "x", 3, "<=")
        self.target("unchanged pass: bytes stored per source",
                    sw("unchanged")[3] / self.args.compare_pages, "B", 300, "<=")

    def print(self):
        print()
        for note in self.notes:
            print(f"- {note}")
        print()
        print("\n".join(self.lines))
        print("\nTargets (medians of the runs above, side by side in this run):\n")
        print("| target | measured | limit | |")
        print("|---|---|---|---|")
        for row in self.rows:
            print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
