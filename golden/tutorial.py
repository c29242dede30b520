"""What the PyTorch-side scripts share: the tutorial's CombinedModel, safetensors by hand, and MNIST's IDX files.

Used by golden/make_golden.py, golden/interop/check_roundtrip.py and bench/peer_pytorch.py (Debian's python3-torch;
no safetensors package needed: 8-byte little-endian header length, JSON header, raw little-endian data).
"""
import gzip
import json
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


def mnist_dir():
    """$DEEPSHAPE_DATA, else ../shared/datasets/mnist beside the repository, as the Java tests find it."""
    return os.environ.get("DEEPSHAPE_DATA") or os.path.join(HERE, "..", "..", "shared", "datasets", "mnist")


class CombinedModel(nn.Module):
    """The tutorial's model, written as the tutorial writes it (shared/SEED_MODEL.md): names are the state-dict prefixes."""

    def __init__(self):
        super(CombinedModel, self).__init__()
        self.conv1 = nn.Conv2d(1, 32, kernel_size=3, stride=1, padding=1)
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=3, stride=1, padding=1)
        self.deconv = nn.ConvTranspose2d(64, 32, kernel_size=2, stride=2)
        self.rnn = nn.RNN(input_size=32 * 14 * 14, hidden_size=128, num_layers=1, batch_first=True)
        self.gru = nn.GRU(input_size=128, hidden_size=64, num_layers=1, batch_first=True)
        self.lstm = nn.LSTM(input_size=64, hidden_size=32, num_layers=1, batch_first=True)
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
        x = self.fc(x)
        return x


DTYPES = {"F32": torch.float32, "I64": torch.int64}


def write_safetensors(path, tensors, metadata=None):
    """Floats as F32, integers as I64, names in the given order, data 8-byte aligned; written to a temporary name first."""
    header = {}
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    blobs = []
    at = 0
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        if t.dtype.is_floating_point:
            arr = t.to(torch.float32).numpy().astype("<f4")
            dtype = "F32"
        else:
            arr = t.to(torch.int64).numpy().astype("<i8")
            dtype = "I64"
        raw = arr.tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [at, at + len(raw)]}
        blobs.append(raw)
        at += len(raw)
    js = json.dumps(header, separators=(",", ":")).encode("utf-8")
    js += b" " * ((8 - len(js) % 8) % 8)  # data starts 8-byte aligned, as the reference writer does
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(js)))
        f.write(js)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def read_safetensors(path):
    """(tensors by name, metadata) for F32 and I64 entries."""
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


def mnist_test_images(count, data_dir=None):
    """The first `count` test images, normalised as the tutorial: (p/255 - 0.5)/0.5, shape (count, 1, 28, 28)."""
    path = os.path.join(data_dir or mnist_dir(), "t10k-images-idx3-ubyte.gz")
    with gzip.open(path, "rb") as f:
        magic, n, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 2051, f"{path}: expected IDX magic 2051, got {magic}"
        pixels = f.read(count * rows * cols)
    x = torch.frombuffer(bytearray(pixels), dtype=torch.uint8).to(torch.float32).reshape(count, 1, rows, cols)
    return (x / 255.0 - 0.5) / 0.5
