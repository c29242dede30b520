#!/usr/bin/env python3
"""PyTorch weights both ways, checked with the tutorial's own model class.

deepshape → PyTorch: loads a state dict that deepshape wrote (safetensors; default
golden/data/interop/combined_seed7.safetensors, a CombinedModel built with Rng.manualSeed(7)) into the tutorial's
PyTorch CombinedModel with load_state_dict(strict=True), unchanged: no renaming, no reshaping, no gate reordering.
It then runs the model in eval mode on a fixed input (the first 8 MNIST test images, normalised as the tutorial:
(p/255 - 0.5)/0.5) and writes the input and PyTorch's logits to golden/data/interop/combined_seed7_logits.safetensors.
The Java test PyTorchRoundTripTest loads the same state dict into deepshape and compares its logits on that input
with these (max |diff| <= 1e-4).

PyTorch → deepshape: with --write-torch FILE it also writes the state dict of a fresh PyTorch CombinedModel
(torch.manual_seed(--seed)) as safetensors, which deepshape loads (CombinedModel.loadStateDict, or
`./deepshape export --checkpoint FILE`), and that model's input and logits to FILE_logits.safetensors (FILE without
its extension).

The safetensors package is not needed: the format (8-byte little-endian header length, JSON header, raw
little-endian data) is read and written by hand below.

Run: /usr/bin/python3 golden/interop/check_roundtrip.py [--state FILE] [--out FILE] [--write-torch FILE --seed 0]
MNIST is read from $DEEPSHAPE_DATA, else ../shared/datasets/mnist next to the repository.
"""
import argparse
import gzip
import json
import os
import struct

import torch
from torch import nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class CombinedModel(nn.Module):
    """The tutorial's model, exactly (SEED_MODEL.md): the names are the state-dict key prefixes."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, kernel_size=3, stride=1, padding=1)
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3, stride=1, padding=1)
        self.deconv = nn.ConvTranspose2d(64, 32, kernel_size=2, stride=2)
        self.rnn = nn.RNN(32 * 14 * 14, 128, batch_first=True)
        self.gru = nn.GRU(128, 64, batch_first=True)
        self.lstm = nn.LSTM(64, 32, batch_first=True)
        self.fc = nn.Linear(32, 10)

    def forward(self, x):
        x = self.pool(F.relu(self.conv1(x)))
        x = self.pool(F.relu(self.conv2(x)))
        x = self.deconv(x)
        x = x.view(x.size(0), -1)
        x = x.unsqueeze(1)
        x, _ = self.rnn(x)
        x, _ = self.gru(x)
        x, _ = self.lstm(x)
        x = x[:, -1, :]
        return self.fc(x)


# ---------------------------------------------------------------- safetensors by hand

DTYPES = {"F32": torch.float32, "I64": torch.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    out = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        dtype = DTYPES[entry["dtype"]]
        t = torch.frombuffer(bytearray(data[begin:end]), dtype=dtype) if end > begin else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(entry["shape"]).clone()
    return out, header.get("__metadata__", {})


def write_safetensors(path, tensors, metadata=None):
    header, chunks, at = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        t = t.detach().contiguous().to(torch.float32)
        raw = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [at, at + len(raw)]}
        chunks.append(raw)
        at += len(raw)
    js = json.dumps(header, separators=(",", ":")).encode("utf-8")
    js += b" " * ((8 - len(js) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(js)))
        f.write(js)
        for c in chunks:
            f.write(c)
    os.replace(tmp, path)


# ---------------------------------------------------------------- MNIST

def mnist_test_images(count):
    data = os.environ.get("DEEPSHAPE_DATA") or os.path.join(ROOT, "..", "shared", "datasets", "mnist")
    path = os.path.join(data, "t10k-images-idx3-ubyte.gz")
    with gzip.open(path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 2051, f"{path}: expected IDX magic 2051, got {magic}"
        pixels = f.read(count * rows * cols)
    x = torch.frombuffer(bytearray(pixels), dtype=torch.uint8).to(torch.float32).reshape(count, 1, rows, cols)
    return (x / 255.0 - 0.5) / 0.5


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--state", default=os.path.join(ROOT, "golden/data/interop/combined_seed7.safetensors"),
                    help="a CombinedModel state dict written by deepshape")
    ap.add_argument("--out", default=os.path.join(ROOT, "golden/data/interop/combined_seed7_logits.safetensors"),
                    help="where to write the input and PyTorch's logits")
    ap.add_argument("--images", type=int, default=8, help="how many MNIST test images make the fixed input")
    ap.add_argument("--write-torch", metavar="FILE", help="also write a fresh PyTorch CombinedModel's state dict here")
    ap.add_argument("--seed", type=int, default=0, help="torch.manual_seed for --write-torch")
    args = ap.parse_args()

    state, meta = read_safetensors(args.state)
    model = CombinedModel()
    model.load_state_dict(state, strict=True)  # unchanged: deepshape's keys and layouts are PyTorch's
    model.eval()
    own = model.state_dict()
    assert all(torch.equal(own[k], state[k]) for k in own), "a tensor changed on loading"
    print(f"loaded {len(state)} tensors ({sum(t.numel() for t in state.values()):,} values) from {args.state} "
          f"into torch.nn CombinedModel with load_state_dict(strict=True)")

    x = mnist_test_images(args.images)
    with torch.no_grad():
        logits = model(x)
    write_safetensors(args.out, {"input": x, "logits": logits},
                      {"torch": torch.__version__, "state": os.path.basename(args.state),
                       "input": f"MNIST test images 0..{args.images - 1}, (p/255 - 0.5)/0.5"})
    print(f"wrote {args.out}: input {tuple(x.shape)}, logits {tuple(logits.shape)}, "
          f"predictions {logits.argmax(1).tolist()}")

    if args.write_torch:
        torch.manual_seed(args.seed)
        fresh = CombinedModel()
        write_safetensors(args.write_torch, fresh.state_dict(), {"torch": torch.__version__, "seed": str(args.seed)})
        with torch.no_grad():
            fresh_logits = fresh.eval()(x)
        logits_file = os.path.splitext(args.write_torch)[0] + "_logits.safetensors"
        write_safetensors(logits_file, {"input": x, "logits": fresh_logits}, {"torch": torch.__version__, "seed": str(args.seed)})
        print(f"wrote {args.write_torch}: PyTorch CombinedModel state dict, torch.manual_seed({args.seed}); "
              f"its logits on the same input: {logits_file}")


if __name__ == "__main__":
    main()
