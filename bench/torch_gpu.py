#!/usr/bin/env python3
"""The PyTorch peer of deepshape's CUDA backend (bench/gpu.sh run torch): the tutorial's CombinedModel on MNIST
preloaded on the GPU, batch 64, Adam 1e-3, cross-entropy, a shuffled order (seed 0).

Prints, after a 50-step warm-up that is not timed: the wall time of each full epoch and its median step (CUDA
events); then inference on a batch of 1000 test images (eval mode, no_grad): median and minimum of 100 passes, each
bracketed by torch.cuda.synchronize() and also timed with CUDA events, once with PyTorch's defaults and once with
torch.backends.cudnn.benchmark = True; and the test accuracy over all 10,000. Human-readable lines, then one JSON line.

NOTE: the training loop keeps the loss and the correct count on the device (no loss.item() per step), so the host
never waits for the GPU inside an epoch: PyTorch at its best, which is what the ratio should be taken against.

Usage: python3 bench/torch_gpu.py DATA_DIR [--epochs 2] [--steps N] [--device cuda|cpu] [--no-tf32]
       python3 bench/torch_gpu.py ../shared/datasets/mnist --steps 20 --passes 5   # a smoke test on the CPU
"""
import argparse
import gzip
import json
import os
import statistics
import struct
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "golden"))
from tutorial import CombinedModel  # noqa: E402


def idx(data_dir, name):
    """An IDX file (raw or .gz) as a uint8 tensor of its shape. Without numpy, which PyTorch 2.x does not require."""
    path = os.path.join(data_dir, name)
    raw = open(path, "rb").read() if os.path.exists(path) else gzip.open(path + ".gz", "rb").read()
    (magic,) = struct.unpack(">I", raw[:4])
    ndim = magic & 0xff
    if magic >> 8 != 0x08:
        raise ValueError(f"{path}: expected IDX magic 0x0000080N (unsigned bytes), got {magic:#010x}")
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return torch.frombuffer(bytearray(raw[4 + 4 * ndim:]), dtype=torch.uint8).reshape(dims)


def images(data_dir, name, device):
    # ToTensor then Normalize((0.5,), (0.5,)), in float32, as torchvision computes it (and bench/peer_pytorch.py).
    x = idx(data_dir, name).to(device=device, dtype=torch.float32).div_(255.0)
    return x.sub_(0.5).div_(0.5).unsqueeze(1).contiguous()


def labels(data_dir, name, device):
    return idx(data_dir, name).to(device=device, dtype=torch.int64)


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


class StepTimer:
    """Per-step times without making the host wait inside an epoch: CUDA events on the GPU, perf_counter on the CPU."""

    def __init__(self, device):
        self.cuda = device.type == "cuda"
        self.marks = []

    def mark(self):
        if self.cuda:
            e = torch.cuda.Event(enable_timing=True)
            e.record()
            self.marks.append(e)
        else:
            self.marks.append(time.perf_counter())

    def intervals_ms(self):
        """Milliseconds between marks 0-1, 2-3, ...; call after a synchronize."""
        pairs = zip(self.marks[0::2], self.marks[1::2])
        return [a.elapsed_time(b) if self.cuda else (b - a) * 1e3 for a, b in pairs]


def train_steps(model, criterion, optimizer, x, y, order, batch, timer=None):
    """The tutorial's loop over the batches of `order`; returns (loss sum, correct count) as device tensors."""
    loss_sum = torch.zeros((), device=x.device)
    correct = torch.zeros((), dtype=torch.int64, device=x.device)
    for start in range(0, len(order), batch):
        idxs = order[start:start + batch]
        if timer:
            timer.mark()
        outputs = model(x[idxs])
        loss = criterion(outputs, y[idxs])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if timer:
            timer.mark()
        loss_sum += loss.detach()
        correct += (outputs.argmax(1) == y[idxs]).sum()
    return loss_sum, correct


def time_inference(model, x, device, warmup, passes):
    """Median and minimum milliseconds of `passes` forward passes on x, by wall clock (synchronized) and by CUDA events."""
    with torch.no_grad():
        for _ in range(warmup):
            model(x)
        sync(device)
        wall, events = [], []
        for _ in range(passes):
            sync(device)
            if device.type == "cuda":
                e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                e0.record()
            t0 = time.perf_counter()
            model(x)
            if device.type == "cuda":
                e1.record()
            sync(device)
            wall.append((time.perf_counter() - t0) * 1e3)
            if device.type == "cuda":
                events.append(e0.elapsed_time(e1))
    out = {"wall_median_ms": statistics.median(wall), "wall_min_ms": min(wall)}
    if events:
        out.update(event_median_ms=statistics.median(events), event_min_ms=min(events))
    return out


def describe(name, r):
    line = f"inference, batch {r['batch']}, {name}: {r['wall_median_ms']:.3f} ms median, {r['wall_min_ms']:.3f} ms min (wall, synchronized)"
    if "event_median_ms" in r:
        line += f"; {r['event_median_ms']:.3f} ms median, {r['event_min_ms']:.3f} ms min (CUDA events)"
    return line


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data_dir", help="folder with the four MNIST IDX files (raw or .gz)")
    ap.add_argument("--epochs", type=int, default=2, help="timed epochs (default 2)")
    ap.add_argument("--steps", type=int, default=0, help="at most N steps per epoch: a smoke test, not a measurement")
    ap.add_argument("--warmup", type=int, default=50, help="untimed training steps first (default 50)")
    ap.add_argument("--passes", type=int, default=100, help="timed inference passes (default 100, after 20 untimed)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", help="cuda when available, else cpu")
    ap.add_argument("--no-tf32", action="store_true", help="cuDNN convolutions in full FP32 (PyTorch allows TF32 there by default)")
    args = ap.parse_args()
    device = torch.device(args.device)
    if args.no_tf32:
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    batch = 64

    env = {"torch": torch.__version__, "cuda": torch.version.cuda, "device": str(device),
           "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
           "tf32_cudnn": torch.backends.cudnn.allow_tf32, "tf32_matmul": torch.backends.cuda.matmul.allow_tf32}
    if device.type == "cuda":
        env["device_name"] = torch.cuda.get_device_name(device)
        env["capability"] = "%d.%d" % torch.cuda.get_device_capability(device)
    else:
        env["threads"] = torch.get_num_threads()
    print("PyTorch %s, CUDA %s, cuDNN %s on %s%s; TF32: cuDNN %s, matmul %s" % (
        env["torch"], env["cuda"], env["cudnn"], env.get("device_name", "the CPU"),
        " (compute capability %s)" % env["capability"] if "capability" in env else " (%d threads)" % env["threads"],
        env["tf32_cudnn"], env["tf32_matmul"]), flush=True)

    t0 = time.perf_counter()
    train_x, train_y = images(args.data_dir, "train-images-idx3-ubyte", device), labels(args.data_dir, "train-labels-idx1-ubyte", device)
    test_x, test_y = images(args.data_dir, "t10k-images-idx3-ubyte", device), labels(args.data_dir, "t10k-labels-idx1-ubyte", device)
    sync(device)
    print(f"MNIST on {device}: {len(train_y)} training and {len(test_y)} test images in {time.perf_counter() - t0:.2f} s")

    torch.manual_seed(0)
    model = CombinedModel().to(device)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    shuffle = torch.Generator().manual_seed(0)  # on the CPU, so the order is the same on every device
    model.train()

    # Warm-up: CUDA context, cuBLAS/cuDNN handles, kernel selection and the caching allocator, outside the timing.
    n = len(train_y) if args.steps <= 0 else min(len(train_y), args.steps * batch)
    warmup = args.warmup if args.steps <= 0 else min(args.warmup, args.steps)
    warm = torch.randperm(len(train_y), generator=shuffle)[:warmup * batch].to(device)
    t0 = time.perf_counter()
    train_steps(model, criterion, optimizer, train_x, train_y, warm, batch)
    sync(device)
    print(f"warm-up: {len(warm) // batch} steps in {time.perf_counter() - t0:.2f} s (not timed)")

    epochs = []
    for e in range(1, args.epochs + 1):
        order = torch.randperm(len(train_y), generator=shuffle)[:n].to(device)
        timer = StepTimer(device)
        sync(device)
        t0 = time.perf_counter()
        loss_sum, correct = train_steps(model, criterion, optimizer, train_x, train_y, order, batch, timer)
        sync(device)
        seconds = time.perf_counter() - t0
        steps = (n + batch - 1) // batch
        full = [ms for i, ms in enumerate(timer.intervals_ms()) if (i + 1) * batch <= n]  # the last, short batch left out
        r = {"epoch": e, "steps": steps, "epoch_s": seconds, "step_median_ms": statistics.median(full) if full else None,
             "loss": loss_sum.item() / steps, "train_accuracy": 100.0 * correct.item() / n}
        epochs.append(r)
        print(f"epoch {e}: {seconds:.2f} s for {steps} steps ({n} images), median step {r['step_median_ms']:.3f} ms, "
              f"loss {r['loss']:.4f}, train accuracy {r['train_accuracy']:.2f}%", flush=True)

    model.eval()
    inference = {}
    x = test_x[:1000]
    for name, benchmark in (("default", False), ("cudnn.benchmark", True)):
        torch.backends.cudnn.benchmark = benchmark
        r = time_inference(model, x, device, warmup=20, passes=args.passes)
        r["batch"] = len(x)
        inference[name] = r
        print(describe(name, r), flush=True)
    torch.backends.cudnn.benchmark = False

    with torch.no_grad():
        correct = sum((model(test_x[i:i + 1000]).argmax(1) == test_y[i:i + 1000]).sum().item() for i in range(0, len(test_y), 1000))
    accuracy = 100.0 * correct / len(test_y)
    print(f"test accuracy: {accuracy:.2f}% ({correct}/{len(test_y)})")
    if device.type == "cuda":
        print(f"peak GPU memory allocated: {torch.cuda.max_memory_allocated(device) / 2**20:.0f} MiB")

    print(json.dumps({"name": "pytorch-gpu", **env, "batch": batch, "warmup_steps": len(warm) // batch,
                      "smoke_test": args.steps > 0, "epochs": epochs, "inference": inference, "test_accuracy": accuracy,
                      "peak_gpu_bytes": torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None}))


if __name__ == "__main__":
    main()
