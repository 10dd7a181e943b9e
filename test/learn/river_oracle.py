"""River as the oracle for omnitide/learn.

Prints one JSON document: the data sets (rows in River's feature order, labels as 0/1) and what
River computes on them with the given hyper-parameters: prequential predictions and accuracy of
LogisticRegression (plain and behind a StandardScaler), GaussianNB and HoeffdingTreeClassifier,
and the indices where ADWIN flags drift on synthetic streams with known change points.
"""
import json
import random
import sys

from river import datasets, drift, linear_model, naive_bayes, optim, preprocessing, tree
from river.datasets import synth


def rows(stream):
    xs, ys = [], []
    keys = None
    for x, y in stream:
        keys = keys or list(x.keys())
        xs.append([float(x[k]) for k in keys])
        ys.append(int(y))
    return keys, xs, ys


def sea_with_drifts(segment, seed):
    """SEA concepts 0, 1, 2, 3 back to back: the concept changes at segment, 2*segment, 3*segment."""
    out = []
    for variant in range(4):
        gen = synth.SEA(variant=variant, seed=seed + variant, noise=0.05)
        out.extend(gen.take(segment))
    return out


def prequential(model, keys, xs, ys):
    preds = []
    correct = 0
    for x, y in zip(xs, ys):
        d = dict(zip(keys, x))
        p = model.predict_one(d)
        p = int(p) if p is not None else -1
        preds.append(p)
        correct += p == y
        model.learn_one(d, bool(y) if isinstance(model_last(model), linear_model.LogisticRegression) else y)
    return {"accuracy": correct / len(ys), "predictions": preds}


def model_last(model):
    return model.steps[list(model.steps)[-1]] if hasattr(model, "steps") else model


MODELS = {
    "logistic-regression": lambda: linear_model.LogisticRegression(),
    "logistic-regression-adam-l2": lambda: linear_model.LogisticRegression(optimizer=optim.Adam(0.05), l2=0.001),
    "scaled-logistic-regression": lambda: preprocessing.StandardScaler() | linear_model.LogisticRegression(),
    "gaussian-nb": lambda: naive_bayes.GaussianNB(),
    "hoeffding-tree": lambda: tree.HoeffdingTreeClassifier(),
    "hoeffding-tree-gini-mc": lambda: tree.HoeffdingTreeClassifier(grace_period=100, split_criterion="gini", leaf_prediction="mc", delta=1e-5),
}


def main():
    data = {}
    for name, ds in (("phishing", datasets.Phishing()), ("bananas", datasets.Bananas()), ("sea-drift", sea_with_drifts(2500, 7))):
        keys, xs, ys = rows(ds)
        data[name] = {"keys": [str(k) for k in keys], "x": xs, "y": ys}

    results = {}
    for dname, d in data.items():
        for mname, make in MODELS.items():
            results[f"{dname}/{mname}"] = prequential(make(), d["keys"], d["x"], d["y"])

    # ADWIN on streams with known change points.
    rng = random.Random(11)
    gauss = [rng.gauss(0.2, 0.1) for _ in range(2000)] + [rng.gauss(0.8, 0.1) for _ in range(2000)] + [rng.gauss(0.4, 0.1) for _ in range(2000)]
    bern = [float(rng.random() < 0.1) for _ in range(3000)] + [float(rng.random() < 0.4) for _ in range(3000)] + [float(rng.random() < 0.15) for _ in range(3000)]
    streams = {"gauss": {"values": gauss, "changes": [2000, 4000]}, "bernoulli": {"values": bern, "changes": [3000, 6000]}}
    for name, s in streams.items():
        det = drift.ADWIN()
        hits = []
        for i, v in enumerate(s["values"]):
            det.update(v)
            if det.drift_detected:
                hits.append(i)
        s["adwin"] = hits
        ddm = drift.binary.DDM()
        ph = drift.PageHinkley()
        s["ddm"], s["pageHinkley"] = [], []
        for i, v in enumerate(s["values"]):
            if name == "bernoulli":
                ddm.update(v)
                if ddm.drift_detected:
                    s["ddm"].append(i)
            ph.update(v)
            if ph.drift_detected:
                s["pageHinkley"].append(i)

    import river
    json.dump({"river": river.__version__, "data": data, "results": results, "streams": streams}, sys.stdout)


if __name__ == "__main__":
    main()
