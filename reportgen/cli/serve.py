"""``reportgen serve CONFIG``: the scorecard in the browser, rebuilt as its files change.

A watcher polls the config, its template folders and its data files; on a change it rebuilds and bumps
a version the served page polls (a small script injected into the *served* page only: the built HTML
files stay script-free), so the browser reloads itself. Errors are shown in the page, one line each
with file:line, as the CLI prints them. Loading the data is the expensive step, so the loaded data is
kept keyed by the data files' fingerprints (path, size, modification time) and the config's
``datasets`` section: a template or KPI edit re-renders from the data already in DuckDB. Only HTML is
rendered here (no PDF), and the server binds 127.0.0.1 only: it serves a company's numbers.
"""
from __future__ import annotations

import html
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import click

from reportgen.cli.app import _error_lines, main
from reportgen.errors import ReportgenError

HOST = "127.0.0.1"
POLL_SECONDS = 0.25
#: Injected before </body> of the served page: reload when the server's version moves on.
RELOAD_SCRIPT = """<script>(function(){var v=%d;setInterval(function(){fetch('/__reportgen/status')
.then(function(r){return r.json()}).then(function(s){if(s.version!==v){location.reload()}})
.catch(function(){})},300)})();</script>"""


#: Config fields that change how the scorecard reads, not its numbers: editing them re-renders only.
PRESENTATION: dict[str, Any] = {
    "scorecard": {"title", "company", "logo", "primary_color", "accent_color", "font_family", "page_size",
                  "orientation", "pdf_a", "author", "output_dir", "template_dirs", "export_xlsx"},
    "audiences": {"__all__": {"template", "title", "summary", "recommendations", "max_pages"}},
    "smtp": True, "deliveries": True, "ledger": True,
}


@dataclass
class Preview:
    """The latest page (or the errors), the version the page polls, and the data kept between builds."""

    config: Path
    audience: str | None = None
    version: int = 0
    page: str = "<p>building...</p>"
    errors: list[str] = field(default_factory=list)
    loads: int = 0  # how often the data was read: a template edit must not add one
    computes: int = 0  # how often the KPIs were computed: a template or wording edit must not add one
    renders: int = 0
    seconds: float = 0.0
    _data_files: list[Path] = field(default_factory=list)
    _template_dirs: list[Path] = field(default_factory=list)
    _data_key: Any = None
    _data: Any = None
    _metrics_key: Any = None
    _metrics: Any = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def watched(self) -> dict[Path, tuple[int, int]]:
        """(size, mtime) of the config, its data files and every file under its template folders (as
        the last build's config named them, so a poll does not parse the config)."""
        files = [self.config, *self._data_files,
                 *(p for d in self._template_dirs if d.is_dir() for p in d.rglob("*") if p.is_file())]
        out = {}
        for p in files:
            try:
                st = p.stat()
                out[p] = (st.st_size, st.st_mtime_ns)
            except OSError:
                out[p] = (-1, -1)
        return out

    def rebuild(self) -> None:
        """Render the page again; read the data again only when its files or its mapping changed."""
        t0 = time.perf_counter()
        try:
            page = self._render()
            errors: list[str] = []
        except ReportgenError as exc:
            page, errors = "", _error_lines(exc)
        except Exception as exc:  # noqa: BLE001 - a preview shows any failure in the page, not in a log
            page, errors = "", [f"{exc.__class__.__name__}: {exc}"]
        with self.lock:
            self.page, self.errors = page, errors
            self.version += 1
            self.seconds = time.perf_counter() - t0
        state = "; ".join(errors) if errors else f"rebuilt in {self.seconds:.2f} s (data read {self.loads}x)"
        click.echo(f"[{datetime.now():%H:%M:%S}] {state}", err=True)  # stdout says only where to look

    def _render(self) -> str:
        from markupsafe import Markup

        from reportgen.assets import font_faces_css
        from reportgen.config.load import load_config
        from reportgen.data import load_datasets
        from reportgen.pipeline.build import audiences_of, breakdown_kpis_for, compute_for_config
        from reportgen.pipeline.checks import raise_on_issues
        from reportgen.render.document import scorecard_views
        from reportgen.render.environment import shared_environment, template_dirs, template_name
        from reportgen.render.sandbox import render_template

        loaded = load_config(self.config)
        self._data_files = [(loaded.base_dir / rel).resolve() for ds in loaded.config.datasets.values()
                            for rel in [ds.path, *(lk.path for lk in ds.lookups)] if rel]
        self._template_dirs = [(loaded.base_dir / d).resolve() for d in loaded.config.scorecard.template_dirs]
        raise_on_issues(loaded)
        now = datetime.now(UTC)
        files = self.watched()
        key = (tuple((str(p), files[p]) for p in self._data_files), now.date(),
               json.dumps(loaded.config.model_dump(mode="json", include={"datasets", "quality"}), sort_keys=True))
        if key != self._data_key:
            self._data = self._data_key = self._metrics_key = None
            self._data = load_datasets(loaded, today=now.date())
            self._data_key = key
            self.loads += 1
        audiences = audiences_of(loaded, self.audience)
        numbers = (key, self.audience, json.dumps(loaded.config.model_dump(mode="json", exclude=PRESENTATION),
                                                  sort_keys=True))
        if numbers != self._metrics_key:  # a template or wording edit reuses the numbers too
            self._metrics = compute_for_config(loaded, now=now, data=self._data,
                                               breakdown_kpis=breakdown_kpis_for(loaded, audiences))
            self._metrics_key = numbers
            self.computes += 1
        metrics = self._metrics
        name, audience = next(iter(audiences.items()))
        views = scorecard_views(metrics, loaded, name, audience, now=now)
        env = shared_environment(template_dirs(loaded), views.formats)
        self.renders += 1
        font_css = font_faces_css(embed=True, language=views.context["lang"])
        context = {**views.context, "media": "screen", "font_css": Markup(font_css)}
        return str(render_template(env, template_name(audience.template), context))

    def document(self) -> str:
        """The page to serve: the scorecard, or the errors, with the reload script."""
        with self.lock:
            version, page, errors = self.version, self.page, self.errors
        script = RELOAD_SCRIPT % version
        if errors:
            items = "".join(f"<li>{html.escape(e)}</li>" for e in errors)
            return (f"<!doctype html><html><head><meta charset='utf-8'><title>reportgen: error</title></head>"
                    f"<body style='font-family:sans-serif;margin:2em'><h1>The scorecard cannot be built</h1>"
                    f"<ul id='reportgen-errors' style='color:#b00020;font-family:monospace'>{items}</ul>"
                    f"<p>Fix the file and save: this page reloads by itself.</p>{script}</body></html>")
        at = page.lower().rfind("</body>")
        return page[:at] + script + page[at:] if at >= 0 else page + script

    def status(self) -> dict[str, Any]:
        with self.lock:
            return {"version": self.version, "errors": self.errors, "loads": self.loads, "computes": self.computes,
                    "renders": self.renders,
                    "seconds": round(self.seconds, 3)}


def watch(preview: Preview, stop: threading.Event) -> None:
    """Rebuild whenever a watched file's size or modification time moves."""
    seen = preview.watched()
    while not stop.wait(POLL_SECONDS):
        now = preview.watched()
        if now != seen:
            seen = now
            preview.rebuild()
            seen = preview.watched()  # the config may name other files now


def handler_for(preview: Preview) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/__reportgen/status"):
                body, kind = json.dumps(preview.status()).encode(), "application/json"
            elif self.path in ("/", "/index.html"):
                body, kind = preview.document().encode(), "text/html; charset=utf-8"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@main.command("serve")
@click.argument("config", type=click.Path(path_type=Path))
@click.option("--audience", help="Audience to show (default: the config's first).")
@click.option("--port", default=8000, show_default=True, help="Port on 127.0.0.1 (0: any free port).")
def serve_command(config: Path, audience: str | None, port: int) -> None:
    """Show the scorecard in the browser, rebuilt when the config, a template or a data file changes."""
    preview = Preview(config.resolve(), audience)
    preview.rebuild()
    try:
        server = ThreadingHTTPServer((HOST, port), handler_for(preview))
    except OSError as exc:
        raise ReportgenError(f"cannot listen on {HOST}:{port} ({exc.strerror}); pass --port 0 for any free port") \
            from None
    stop = threading.Event()
    threading.Thread(target=watch, args=(preview, stop), name="reportgen-watch", daemon=True).start()
    click.echo(f"serving http://{HOST}:{server.server_address[1]}/ (Ctrl-C to stop)", err=False)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server_close()
