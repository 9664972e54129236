"""Jupyter server extension of the course (`make lab`, instructors' servers on the hub).

1. A Content-Security-Policy on every HTML page that forbids inline script except the server's
   own: a page's inline <script> (or on... attribute) runs only when its text is one that
   JupyterLab's, Jupyter server's or the formgrader's templates write (variables filled in), so
   script smuggled into a student's notebook does not run on the formgrader or any other page,
   even where a sanitiser missed it. Plugins and styles still load from the server itself.
2. The formgrader renders submissions with the course's template (autograded test cells' scores
   locked behind "Override the autograder") and shows the mark scheme under each written answer
   (instructor/grading/markscheme.py).

Enabled by jupyter_server_config.py at the repository root.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import html
import re
from functools import cache
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent / "grading" / "templates"
SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.S | re.I)
HANDLER = re.compile(r"""\son[a-z]+\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I)
JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
FILLED = r"[^\"'<>\\\n]*"
STATIC_POLICY = (
    "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self' ws: wss:; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
)


def digest(text: str) -> str:
    """A CSP source for this exact script text."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def executable(attributes: str) -> bool:
    """Whether a <script> with these attributes is run by the browser (not a data block)."""
    if re.search(r"\bsrc\s*=", attributes, re.I):
        return False
    kind = re.search(r"""\btype\s*=\s*["']?([^"'\s>]+)""", attributes, re.I)
    return not kind or kind.group(1).lower() in {"text/javascript", "application/javascript",
                                                   "module"}


def template_pattern(text: str) -> re.Pattern:
    """A template's script text as a pattern: each {{ ... }} matches one filled-in value."""
    parts = JINJA.split(text.strip())
    return re.compile(r"\s*" + FILLED.join(re.escape(p) for p in parts) + r"\s*", re.S)


def template_files() -> list[Path]:
    """The templates whose inline scripts are the server's own."""
    import jupyter_server
    import jupyterlab
    import nbgrader

    nbgrader_root = Path(nbgrader.__file__).parent / "server_extensions"
    files = list(nbgrader_root.rglob("*.tpl")) + list(nbgrader_root.rglob("*.j2"))
    files += list((Path(jupyter_server.__file__).parent / "templates").glob("*.html"))
    files += [Path(jupyterlab.__file__).parent / "static" / "index.html"]
    try:
        import jupyterlab_server

        files += list((Path(jupyterlab_server.__file__).parent / "templates").glob("*.html"))
    except ImportError:
        pass
    return [f for f in files if f.is_file()]


@cache
def known() -> tuple[tuple[re.Pattern, ...], frozenset[str]]:
    """(patterns of the templates' inline scripts, their inline event handlers' texts)."""
    scripts, handlers = [], set()
    for path in template_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for attributes, body in SCRIPT.findall(text):
            if executable(attributes) and body.strip():
                scripts.append(template_pattern(body))
        for double, single in HANDLER.findall(text):
            value = double or single
            if value and not JINJA.search(value):
                handlers.add(value)
    return tuple(scripts), frozenset(handlers)


def policy_for(page: str) -> str:
    """The CSP for one HTML page: only the server's own inline scripts and handlers may run."""
    patterns, handlers = known()
    sources = {"'self'", "'unsafe-eval'"}  # JupyterLab compiles its settings schemas
    for attributes, body in SCRIPT.findall(page):
        if executable(attributes) and body.strip():
            if any(p.fullmatch(body) for p in patterns):
                sources.add(digest(body))
    used = {html.unescape(d or s) for d, s in HANDLER.findall(page)}
    allowed = sorted(used & handlers)
    if allowed:
        sources.add("'unsafe-hashes'")
        sources.update(digest(h) for h in allowed)
    return f"script-src {' '.join(sorted(sources))}; {STATIC_POLICY}"


def _patch_handlers() -> None:
    """Set the policy from each HTML page's body, just before its headers are sent."""
    from jupyter_server.base.handlers import JupyterHandler

    if getattr(JupyterHandler, "_course_csp", False):
        return
    original = JupyterHandler.flush

    def flush(self, include_footers=False):
        if not self._headers_written:
            kind = str(self._headers.get("Content-Type", ""))
            if "html" in kind and self._write_buffer:
                page = b"".join(self._write_buffer).decode("utf-8", errors="replace")
                self.set_header("Content-Security-Policy", policy_for(page))
        return original(self, include_footers)

    JupyterHandler.flush = flush
    JupyterHandler._course_csp = True


def _course_exporter(formgrader):
    """The formgrader's exporter: the course template and the mark scheme preprocessor."""
    from nbconvert.exporters import HTMLExporter
    from nbgrader.server_extensions.formgrader import handlers

    from instructor.grading.markscheme import MarkScheme

    config = copy.deepcopy(formgrader.config)  # set before the exporter is made: nbconvert
    config.HTMLExporter.template_name = "formgrade_course"  # finds its templates at creation
    config.HTMLExporter.extra_template_basedirs = [str(TEMPLATES), handlers.template_path]
    config.HTMLExporter.extra_template_paths = [handlers.template_path]  # 'formgrade/...'
    exporter = HTMLExporter(config=config)
    exporter.register_preprocessor(MarkScheme(root=formgrader.coursedir.root), enabled=True)
    return exporter


def _patch_formgrader() -> None:
    """After the formgrader sets itself up, swap in the course's exporter."""
    from nbgrader.server_extensions.formgrader.formgrader import FormgradeExtension

    if getattr(FormgradeExtension, "_course_exporter", False):
        return
    original = FormgradeExtension.init_tornado_settings

    def init_tornado_settings(self, webapp):
        original(self, webapp)
        webapp.settings["nbgrader_exporter"] = _course_exporter(self)

    FormgradeExtension.init_tornado_settings = init_tornado_settings
    FormgradeExtension._course_exporter = True


def _jupyter_server_extension_points():
    return [{"module": "instructor.labserver"}]


def _load_jupyter_server_extension(serverapp):
    """Install the policy and the formgrader's course template."""
    _patch_handlers()
    _patch_formgrader()
    formgrader = serverapp.web_app.settings.get("nbgrader_formgrader")
    if formgrader is not None:  # the formgrader loaded first
        serverapp.web_app.settings["nbgrader_exporter"] = _course_exporter(formgrader)
    serverapp.log.info("course extension: content security policy and formgrader template on")
