"""Peer for omnitide's Gaussian copula: the `copulas` package (the engine under
SDV's GaussianCopulaSynthesizer). Reads {"columns": {name: [numbers]}, "rows": n,
"seed": s} on stdin, fits GaussianMultivariate, samples n rows, and prints
{"columns": {...}, "fitMs": ..., "sampleMs": ...}. Exit 3 when `copulas` is missing."""
import json
import sys
import time

try:
    import numpy as np
    import pandas as pd
    from copulas.multivariate import GaussianMultivariate
    from copulas.univariate import BetaUnivariate
except ImportError as e:  # the caller skips (or fails under CI) with this reason
    print(f"copulas not importable: {e}", file=sys.stderr)
    sys.exit(3)

req = json.load(sys.stdin)
np.random.seed(req["seed"])
real = pd.DataFrame(req["columns"])
t0 = time.perf_counter()
# SDV's GaussianCopulaSynthesizer defaults to a beta marginal per numeric column.
model = GaussianMultivariate(distribution=BetaUnivariate)
model.fit(real)
t1 = time.perf_counter()
fake = model.sample(req["rows"])
t2 = time.perf_counter()
json.dump({"columns": {c: fake[c].astype(float).tolist() for c in real.columns}, "fitMs": (t1 - t0) * 1e3, "sampleMs": (t2 - t1) * 1e3}, sys.stdout)
