"""Every module of the package imports on its own, first thing in a fresh interpreter: a cycle
between modules shows only when the first import is the wrong one (a benchmark or a Lambda
handler importing `bot.slack.scope` before the subcommands did).

One interpreter per module would take about a hundred starts. Instead one fresh interpreter
imports the third-party packages the bot imports and compiles the package (never importing a
module of its own: no bot module is in ``sys.modules``), then forks one child per module; each child imports its module first, so
it meets the package exactly as a fresh interpreter would, without starting Python and loading
boto3 again."""

from __future__ import annotations

import ast
import json

from tests.fixtures.project import ROOT, python_json

# Run in the fresh interpreter: argv[1] the third-party packages, argv[2] the bot's modules,
# argv[3] where to keep their compiled code. Compiling is not importing: each child reads the
# bytecode instead of compiling the package again. Prints the modules that failed, each with
# its error's last line, as JSON.
_FORK_EACH = """
import compileall, importlib, json, os, sys, traceback
sys.pycache_prefix = sys.argv[3]
compileall.compile_dir("bot", quiet=1)
for name in json.loads(sys.argv[1]):
    try:
        importlib.import_module(name)
    except ImportError:
        pass  # an optional package: the child that needs it says so
assert not [m for m in sys.modules if m == "bot" or m.startswith("bot.")]
failures = {}
for module in json.loads(sys.argv[2]):
    read, write = os.pipe()
    if os.fork() == 0:
        os.close(read)
        try:
            importlib.import_module(module)
            os._exit(0)
        except BaseException:
            last = traceback.format_exc().strip().splitlines()[-1]
            os.write(write, last.encode())
            os._exit(1)
    os.close(write)
    with os.fdopen(read) as said:
        error = said.read()
    _, status = os.wait()
    if status:
        failures[module] = error or f"exit status {status}"
print(json.dumps(failures))
"""


def _modules() -> list[str]:
    package = ROOT / "bot"
    return sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in package.rglob("*.py")
        if path.name != "__main__.py"  # `python -m bot`: importing it runs the CLI
    )


def _third_party() -> list[str]:
    """Every absolute import of the package that is not the package itself."""
    names: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
    return sorted(n for n in names if n.split(".")[0] not in {"bot", "__future__"})


def test_every_module_imports_first(tmp_path) -> None:
    modules = _modules()
    assert "bot.slack.scope" in modules and "bot.lambda_handler" in modules
    args = [json.dumps(_third_party()), json.dumps(modules), str(tmp_path)]
    failures = python_json(_FORK_EACH, *args)
    assert not failures, failures
