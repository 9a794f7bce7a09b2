"""Check that mcp_docvl's imports point down its layers and form no cycle.

    python tools/check_layers.py            # prints every violation; exit status 1 if there is one

Reads every module's imports with `ast` (module level and inside functions alike: an import inside a function
is still a dependency), maps each module to its layer (LAYERS, bottom first, the one place the order is
written), and reports:
- an upward import: a module importing one of a higher layer;
- a cycle: modules that import each other, directly or around a loop (inside a layer too).
tests/test_layers.py runs it in CI.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

PACKAGE = "mcp_docvl"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE

# Bottom to top. A module may import its own layer and the layers below it. Keys are module-name prefixes
# relative to the package ("" is the package itself, i.e. its __init__: the library API).
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("core", ("version", "errors", "config", "limits", "tokens", "page_ranges", "cursor", "models", "samples",
              "untrusted")),
    ("sources", ("sources",)),
    ("documents", ("documents",)),
    ("extract", ("extract",)),  # pure words -> structure
    ("engines", ("engines",)),
    ("cache", ("cache",)),
    ("pipeline", ("pipeline",)),  # session + the one page builder
    ("features", ("features",)),  # one use case per module
    ("mcp", ("mcp",)),  # the MCP adapter
    ("entry", ("", "cli", "__main__")),  # the package API and the command line
]


def module_name(path: Path, root: Path = ROOT) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = [p for p in rel.parts if p != "__init__"]
    return ".".join(parts)


def layer_of(module: str) -> int:
    """The index in LAYERS of `module` (relative to the package); the longest matching prefix wins."""
    best, best_len = -1, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            matches = module == prefix or (prefix and module.startswith(prefix + "."))
            if matches and len(prefix) > best_len:
                best, best_len = index, len(prefix)
    if best < 0:
        raise SystemExit(f"{PACKAGE}.{module} belongs to no layer: add it to LAYERS in {Path(__file__).name}.")
    return best


def imports_of(path: Path, module: str, known: set[str]) -> set[str]:
    """The package modules `path` imports (relative names), resolved to modules that exist."""
    tree = ast.parse(path.read_text(), str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                target = ".".join([PACKAGE, *[p for p in base if p], *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            # `from pkg import sub` depends on the submodule; `from pkg.mod import func` on the module.
            rel_target = target[len(PACKAGE) + 1:] if target.startswith(PACKAGE + ".") else ""
            subs = [f"{target}.{alias.name}" for alias in node.names
                    if f"{rel_target}.{alias.name}".lstrip(".") in known]
            names = subs if len(subs) == len(node.names) else [target, *subs]
        for name in names:
            if name != PACKAGE and not name.startswith(PACKAGE + "."):
                continue
            rel = name[len(PACKAGE) + 1:]
            while rel and rel not in known:
                rel = rel.rpartition(".")[0]
            if rel != module:
                found.add(rel)
    return found


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each as a sorted list."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10_000)
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return out


def check(root: Path = ROOT) -> list[str]:
    """Every violation, as a line of text (empty: the layers hold)."""
    paths = {module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    known = set(paths)
    graph = {module: imports_of(path, module, known) for module, path in paths.items()}
    problems = []
    for module, targets in sorted(graph.items()):
        own = layer_of(module)
        for target in sorted(targets):
            if own == -1 or target == "":
                if target == "" and own != len(LAYERS) - 1:
                    problems.append(f"{PACKAGE}.{module} imports the package itself ({PACKAGE}/__init__.py, the "
                                    "API layer); import the module that defines the name instead")
                continue
            theirs = layer_of(target)
            if theirs > own:
                problems.append(f"upward import: {PACKAGE}.{module} ({LAYERS[own][0]}) imports {PACKAGE}.{target} "
                                f"({LAYERS[theirs][0]})")
    for cycle in find_cycles(graph):
        problems.append("import cycle: " + " <-> ".join(f"{PACKAGE}.{m}" for m in cycle))
    return problems


def main() -> int:
    problems = check()
    for line in problems:
        print(line)
    order = " < ".join(name for name, _ in LAYERS)
    print(f"{len(problems)} violation(s); layers, bottom first: {order}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
