"""Oracle for test/lattice: the Python `concepts` package (Sebastian Bank).

stdin: JSON {"contexts": [{"objects", "attributes", "rows": [[attr idx...]]} | {"example": "EXAMPLE"}]}
stdout: per context its objects/attributes/rows (as concepts read them), the
concepts with extents, intents and upper covers (by intent), the canonical
basis (pseudo-intents found by Ganter's NextClosure over the closure operator
of `concepts`), and the context written by concepts as .cxt.
Exit 3 when `concepts` is not installed.
"""
import json
import sys

try:
    import concepts
except ImportError:
    sys.exit(3)


def examples():
    return {
        "EXAMPLE": concepts.EXAMPLE,
        "family": """
     |male|female|adult|child|
man  |  X |      |  X  |     |
woman|    |   X  |  X  |     |
boy  |  X |      |     |  X  |
girl |    |   X  |     |  X  |
""",
    }


def basis(ctx):
    props = list(ctx.properties)
    m = len(props)

    def close(attrs):
        return set(ctx.intension(ctx.extension([props[i] for i in sorted(attrs)])))

    def idx(names):
        return {props.index(n) for n in names}

    imps = []

    def lclose(x):
        x = set(x)
        changed = True
        while changed:
            changed = False
            for p, c in imps:
                if p <= x and p != x and not c <= x:
                    x |= c
                    changed = True
        return x

    a = lclose(set())
    while True:
        closed = idx(close(a))
        if closed != a:
            imps.append((frozenset(a), frozenset(closed - a)))
        nxt = None
        for i in reversed(range(m)):
            if i in a:
                continue
            b = lclose({k for k in a if k < i} | {i})
            if {k for k in b if k < i} == {k for k in a if k < i}:
                nxt = b
                break
        if nxt is None:
            break
        a = nxt
    return [{"premise": sorted(p), "conclusion": sorted(c)} for p, c in imps]


def run(spec):
    if "example" in spec:
        ctx = concepts.Context.fromstring(examples()[spec["example"]])
    else:
        objs, attrs = spec["objects"], spec["attributes"]
        rows = [set(r) for r in spec["rows"]]
        ctx = concepts.Context(objs, attrs, [tuple(j in r for j in range(len(attrs))) for r in rows])
    props = list(ctx.properties)
    out = {
        "objects": list(ctx.objects),
        "attributes": props,
        "rows": [[j for j, b in enumerate(bs) if b] for bs in ctx.bools],
        "concepts": [],
        "cxt": ctx.tostring(frmat="cxt"),
    }
    for c in ctx.lattice:
        out["concepts"].append({
            "extent": list(c.extent),
            "intent": list(c.intent),
            "upper": sorted(sorted(u.intent) for u in c.upper_neighbors),
        })
    if spec.get("basis", True):
        out["basis"] = [{"premise": [props[i] for i in b["premise"]], "conclusion": [props[i] for i in b["conclusion"]]} for b in basis(ctx)]
    return out


req = json.load(sys.stdin)
json.dump({"version": concepts.__version__, "results": [run(s) for s in req["contexts"]]}, sys.stdout)
