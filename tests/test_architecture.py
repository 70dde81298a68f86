"""The package's shape (docs/architecture.md): no import circle, lazy imports included, and
layers that point one way. Read from the source with the AST: nothing is imported."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "chorale"


def import_graph() -> dict[str, set[str]]:
    """{module: the package's modules it imports}, every import statement counted."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        modules[name] = path
    graph = {}
    for name, path in modules.items():
        base = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if node.level:
                    parts = base.split(".")[: len(base.split(".")) - node.level + 1]
                    module = ".".join(parts + ([module] if module else []))
                found |= {module} | {f"{module}.{a.name}" for a in node.names}
        graph[name] = {m for m in found if m in modules and m not in (name, "chorale")}
    return graph


def test_no_import_circle():
    graph, state, path = import_graph(), {}, []

    def visit(module):
        state[module] = "open"
        path.append(module)
        for other in sorted(graph[module]):
            assert state.get(other) != "open", " -> ".join(path[path.index(other):] + [other])
            if other not in state:
                visit(other)
        path.pop()
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module)


def test_layers_point_one_way():
    graph = import_graph()

    def within(module: str, layer: str) -> bool:
        return module == layer or module.startswith(layer + ".")

    def imports(layer: str, forbidden: str) -> list[str]:
        return sorted(f"{m} -> {o}" for m, found in graph.items() if within(m, layer)
                      for o in found if within(o, forbidden))

    assert imports("chorale.model", "chorale.sampling") == []  # the model layer never knows the sampler
    assert imports("chorale.io", "chorale.data") == []  # files know nothing of datasets
    assert imports("chorale.music", "chorale.data") == []  # measures are of grids
    shared = ("chorale.api", "chorale.forecast", "chorale.defaults", "chorale.limits", "chorale.checks",
              "chorale.registry", "chorale.cli")
    assert sorted(f"{m} -> {o}" for m, found in graph.items() if within(m, "chorale.cli")
                  for o in found if not any(within(o, s) for s in shared)) == []  # the CLI: parse, call the API, print
    assert "chorale.forecast.models" not in graph["chorale.cli.forecast"]  # the forecaster through its API
