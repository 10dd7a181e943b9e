"""Exports scikit-learn's bundled 8x8 digits (1797 images, shipped inside the wheel) as JSON."""
import json
import sys

from sklearn.datasets import load_digits

d = load_digits()
json.dump({"x": [float(v) / 16.0 for v in d.data.ravel()], "y": [int(v) for v in d.target], "nFeatures": int(d.data.shape[1])}, sys.stdout)
