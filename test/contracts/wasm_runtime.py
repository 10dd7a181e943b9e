"""Runs modules compiled by omnitide/contracts under wasmtime (a second, non-Node runtime).

stdin: {"cases": [{"module", "store", "requests": base64, "storeBase", "requestsBase", "count"}]}
stdout: {"decisions": [[0|1, ...], ...]}. Exit 3 when the wasmtime package is missing.
The inputs were encoded for fixed addresses; a fresh instance's allocator must return them.
"""
import base64
import json
import sys

try:
    from wasmtime import Engine, Instance, Module, Store
except ImportError:
    sys.exit(3)


def run(engine, case):
    store = Store(engine)
    module = Module(engine, base64.b64decode(case["module"]))
    ex = Instance(store, module, []).exports(store)
    mem, alloc = ex["memory"], ex["alloc"]

    def place(data, base):
        assert ex["heap"].value(store) == base, "heap top differs from the encoding's base"
        p = alloc(store, len(data))
        assert p == base, f"alloc returned {p}, expected {base}"
        mem.write(store, data, p)
        return p

    s = place(base64.b64decode(case["store"]), case["storeBase"])
    assert ex["load"](store, s) == 0
    blob = place(base64.b64decode(case["requests"]), case["requestsBase"])
    raw = mem.read(store, blob + 8, blob + 8 + 4 * case["count"])
    ptrs = [int.from_bytes(raw[4 * i : 4 * i + 4], "little") for i in range(case["count"])]
    return [ex["authorize"](store, p) for p in ptrs]


def main():
    engine = Engine()
    cases = json.load(sys.stdin)["cases"]
    json.dump({"decisions": [run(engine, c) for c in cases]}, sys.stdout)


main()
