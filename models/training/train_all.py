"""Retrain every CACO model and rewrite its ONNX file, features.json, test cases and metrics.

    npm run models:train        # = nice -n 10 /usr/bin/python3 models/training/train_all.py

Needs Debian's python3-torch (1.13), python3-xgboost (1.7), python3-onnx (1.12), python3-numpy,
python3-pandas. Seeds are fixed; one CPU thread per job. Takes roughly 15-25 minutes on a
shared 2-core machine (carbon LSTM ~10-15, price LSTM ~4, runtime model < 1). Afterwards run
`npm test -- test/models` (ONNX vs training-framework parity) and `npm run bench -- forecast`.
"""
import subprocess
import sys
from os.path import dirname, join

here = dirname(__file__)
steps = [
    [sys.executable, join(here, 'train_runtime.py')],
    [sys.executable, join(here, 'train_forecaster.py'), '--target', 'price'],
    [sys.executable, join(here, 'train_forecaster.py'), '--target', 'carbon'],
]
for cmd in steps:
    print('$', ' '.join(cmd[1:]), flush=True)
    subprocess.run(cmd, check=True)
