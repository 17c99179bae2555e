"""The code's layout holds: imports go one way, none hide in functions, handlers stay short.

The service's modules (app.py, csat/, schemas/) are read with `ast`, never imported, so a
module that only imports another inside a function is still seen. Layers, from the top; a
module may import its own layer and the layers below it, never one above:

    app.py                                    the factory
    csat.routes                               blueprints
    csat.parsing, csat.exports, csat.openapi  what the routes use besides queries
    csat.queries                              query functions and their caches
    csat (every other module)                 infrastructure: db, errors, auth, config, ...
    schemas                                   marshmallow schemas

csat.openapi is infrastructure's only exception: it describes every route's responses, the
export formats' media types among them, so it sits above what it describes.

A handler's length is the lines of its body without the docstring: from the first statement
after the docstring to the end of the last one, blank lines and comments between them
included; the `def` line and the decorators are not counted.
"""

import ast
import inspect
import textwrap

import pytest

from app import create_app
from tests.servers import ROOT, make_settings

LAYERS = (
    ("app",),
    ("csat.routes",),
    ("csat.parsing", "csat.exports", "csat.openapi"),
    ("csat.queries",),
    ("csat",),
    ("schemas",),
)
MAX_HANDLER_LINES = 10
# Outside the service's packages, but run by gunicorn in every deployment.
ALSO_WITHOUT_FUNCTION_IMPORTS = ("gunicorn.conf.py",)


def module_files(root):
    """{module name: path} of app.py, csat/ and schemas/ under root."""
    files = {"app": root / "app.py"} if (root / "app.py").exists() else {}
    for package in ("csat", "schemas"):
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return files


def import_graph(files):
    """{module: {the service's modules it imports}}, wherever in the file the import is."""
    graph = {}
    for module, path in files.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        graph[module] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for name in _imported_names(node, package):
                target = _known_module(name, files)
                if target is not None and target != module:
                    graph[module].add(target)
    return graph


def _imported_names(node, package):
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            parent = package.split(".")[:len(package.split(".")) - node.level + 1]
            base = ".".join(part for part in [*parent, base] if part)
        return [f"{base}.{alias.name}" for alias in node.names] + [base]
    return []


def _known_module(name, files):
    """The longest prefix of a dotted name that is one of the service's modules."""
    while name and name not in files:
        name = name.rpartition(".")[0]
    return name or None


def cycles(graph):
    """Every import cycle, each as the list of modules around it (Tarjan's components)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(module):
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph.get(module, ())):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def layer_of(module):
    """The index in LAYERS of the layer a module belongs to (its longest matching prefix)."""
    matches = [(len(prefix), number) for number, layer in enumerate(LAYERS) for prefix in layer
               if module == prefix or module.startswith(prefix + ".")]
    return max(matches)[1]


def upward_imports(graph):
    """(importer, imported) pairs where a lower layer imports a higher one."""
    return sorted((module, target) for module, targets in graph.items() for target in targets
                  if layer_of(target) < layer_of(module))


def function_imports(path):
    """(line, statement) of every import inside a function of the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            found += [(inner.lineno, ast.unparse(inner)) for inner in ast.walk(node)
                      if isinstance(inner, (ast.Import, ast.ImportFrom))]
    return sorted(set(found))


def body_lines(function):
    """Lines of a function's body without its docstring (see the module docstring)."""
    definition = ast.parse(textwrap.dedent(inspect.getsource(function))).body[0]
    body = definition.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        body = body[1:]
    return body[-1].end_lineno - body[0].lineno + 1 if body else 0


SERVICE_MODULES = module_files(ROOT)
SERVICE_GRAPH = import_graph(SERVICE_MODULES)


def test_the_service_has_no_import_cycle():
    assert cycles(SERVICE_GRAPH) == []


def test_imports_go_down_the_layers():
    assert upward_imports(SERVICE_GRAPH) == []


@pytest.mark.parametrize("path", [*SERVICE_MODULES.values(), *(ROOT / name for name in ALSO_WITHOUT_FUNCTION_IMPORTS)],
                         ids=lambda path: str(path.relative_to(ROOT)))
def test_no_import_hides_in_a_function(path):
    assert function_imports(path) == []


def test_every_handler_is_at_most_ten_lines():
    app = create_app(make_settings("postgresql://127.0.0.1:1/never-connected"))
    lengths = {endpoint: body_lines(inspect.unwrap(view))
               for endpoint, view in app.view_functions.items() if endpoint != "static"}
    assert len(lengths) >= 10  # every blueprint registered: the check saw the real handlers
    assert {endpoint: lines for endpoint, lines in lengths.items() if lines > MAX_HANDLER_LINES} == {}


# The checks above pass on a good layout; these make sure they would see a bad one.

def write_modules(root, sources):
    for module, source in sources.items():
        path = root / (module.replace(".", "/") + ".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source), encoding="utf-8")
    for package in ("csat", "csat/routes", "csat/queries", "schemas"):
        (root / package).mkdir(parents=True, exist_ok=True)
        (root / package / "__init__.py").touch()
    return module_files(root)


def test_a_cycle_hidden_in_a_function_is_found(tmp_path):
    files = write_modules(tmp_path, {
        "csat.db": "from csat.errors import ServiceUnavailable\n",
        "csat.errors": "def handler(exc):\n    from csat.db import is_unavailable\n",
    })
    assert cycles(import_graph(files)) == [["csat.db", "csat.errors"]]
    assert function_imports(files["csat.errors"]) == [(2, "from csat.db import is_unavailable")]


def test_a_query_importing_a_route_is_found(tmp_path):
    files = write_modules(tmp_path, {
        "csat.routes.ratings": "from csat.queries import ratings\n",
        "csat.queries.ratings": "from csat.routes.ratings import bp\nimport schemas\n",
    })
    assert upward_imports(import_graph(files)) == [("csat.queries.ratings", "csat.routes.ratings")]


def test_a_long_handler_is_counted_without_its_docstring():
    def handler():
        """A docstring of
        three lines
        is not counted."""
        first = 1

        # a comment between statements counts
        return first + 1

    assert body_lines(handler) == 4
