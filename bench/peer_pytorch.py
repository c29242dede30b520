#!/usr/bin/python3
"""The PyTorch column of bench/compare.sh: the tutorial's CombinedModel and training loop, one epoch on MNIST
preloaded as tensors (batch 64, Adam 1e-3, cross-entropy, the given batch order), then the 10,000 test images in
order (eval mode, no_grad, batches of 64). Prints one JSON line with the same fields as `deepshape bench --epoch --json`.

Usage: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/peer_pytorch.py DATA_DIR ORDER_FILE [THREADS] [SEED]
"""
import gzip
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "golden"))
from tutorial import CombinedModel  # noqa: E402


def idx(data_dir, name):
    path = os.path.join(data_dir, name)
    raw = open(path, "rb").read() if os.path.exists(path) else gzip.open(path + ".gz", "rb").read()
    magic = int.from_bytes(raw[0:4], "big")
    ndim = magic & 0xff
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def images(data_dir, name):
    # ToTensor then Normalize((0.5,), (0.5,)), in float32 as torchvision computes it.
    x = torch.from_numpy(idx(data_dir, name).astype(np.float32)).div_(255.0)
    return x.sub_(0.5).div_(0.5).unsqueeze(1).contiguous()


def peak_rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return -1


def main():
    data_dir, order_file = sys.argv[1], sys.argv[2]
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    seed = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    train_x, train_y = images(data_dir, "train-images-idx3-ubyte"), torch.from_numpy(idx(data_dir, "train-labels-idx1-ubyte").astype(np.int64))
    test_x, test_y = images(data_dir, "t10k-images-idx3-ubyte"), torch.from_numpy(idx(data_dir, "t10k-labels-idx1-ubyte").astype(np.int64))
    order = torch.from_numpy(np.fromfile(order_file, dtype="<i4").astype(np.int64))
    batch = 64

    model = CombinedModel()
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    steps, step_ms, batching, loss_sum, correct = 0, [], 0.0, 0.0, 0
    e0 = time.perf_counter()
    for start in range(0, len(order), batch):
        b0 = time.perf_counter()
        idxs = order[start:start + batch]
        x, y = train_x[idxs], train_y[idxs]
        t0 = time.perf_counter()
        batching += t0 - b0
        # The tutorial's loop.
        outputs = model(x)
        loss = criterion(outputs, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        t1 = time.perf_counter()
        if len(idxs) == batch:
            step_ms.append((t1 - t0) * 1e3)
        steps += 1
        loss_sum += loss.item()
        correct += (outputs.argmax(1) == y).sum().item()
    epoch = time.perf_counter() - e0

    model.eval()
    test_correct = 0
    i0 = time.perf_counter()
    with torch.no_grad():
        for start in range(0, len(test_y), batch):
            out = model(test_x[start:start + batch])
            test_correct += (out.argmax(1) == test_y[start:start + batch]).sum().item()
    inference = time.perf_counter() - i0
    print(json.dumps({
        "name": "pytorch", "backend": "torch %s, %s" % (torch.__version__, os.environ.get("PEER_BLAS", "BLAS as the system selects")),
        "threads": torch.get_num_threads(), "batch": batch, "steps": steps, "epoch_s": epoch,
        "step_ms": statistics.median(step_ms), "batching_s": batching, "loss": loss_sum / steps,
        "train_accuracy": 100.0 * correct / len(order), "test_count": len(test_y), "inference_s": inference,
        "test_accuracy": 100.0 * test_correct / len(test_y), "peak_rss_bytes": peak_rss_bytes(),
        "load_average": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
