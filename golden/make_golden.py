#!/usr/bin/python3
"""Writes the golden reference files deepshape's tests compare against: PyTorch's forward and backward of every unit
configuration in CONFIGS, and the whole CombinedModel on real MNIST batches.

Run from anywhere with the Debian python (torch 1.13, numpy; no other packages):

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 golden/make_golden.py            # everything
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 golden/make_golden.py --units    # only the unit configurations
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 golden/make_golden.py --model    # only CombinedModel: 1 batch, 5 and 200 steps
    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 golden/make_golden.py --trained  # only CombinedModel after one epoch

Every unit file holds `input`, `param.<state_dict key>`, `output`, `out_weight`, `grad.input`, `grad.param.<key>`;
recurrent units also `h_n` (+ `c_n`), `hn_weight` (+ `cn_weight`) and, when the config passes an initial state,
`h_0` (+ `c_0`) with `grad.h_0` (+ `grad.c_0`). The scalar whose gradients are stored is
`(output * out_weight).sum() + (h_n * hn_weight).sum() + (c_n * cn_weight).sum()` (the terms a unit has).
CrossEntropyLoss files hold logits as `input` and an I64 `target`. Safetensors is written by hand (F32, I64).
"""
import argparse
import gzip
import json
import os
import struct
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from tutorial import CombinedModel, write_safetensors  # noqa: E402
OUT = os.path.join(HERE, "data")
MNIST = os.environ.get("DEEPSHAPE_DATA", os.path.join(HERE, "..", "..", "..", "shared", "datasets", "mnist"))
if not os.path.isdir(MNIST):
    MNIST = "/work/shared/datasets/mnist"


# ---------------------------------------------------------------------------------------------------- safetensors

# ---------------------------------------------------------------------------------------------------- unit configs

def C(name, unit, args, kwargs, input_shape, **extra):
    return dict(name=name, unit=unit, args=args, kwargs=kwargs, input_shape=input_shape, **extra)


CONFIGS = [
    # Conv2d(in, out, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True)
    C("conv2d_plain", "Conv2d", [3, 4, 3], {}, [2, 3, 8, 8]),
    C("conv2d_no_bias", "Conv2d", [3, 4, 3], {"bias": False}, [2, 3, 7, 7]),
    C("conv2d_stride2", "Conv2d", [3, 5, 3], {"stride": 2}, [2, 3, 9, 9]),
    C("conv2d_padding2", "Conv2d", [2, 4, 3], {"padding": 2}, [2, 2, 6, 7]),
    C("conv2d_dilation2", "Conv2d", [3, 4, 3], {"dilation": 2, "padding": 1}, [2, 3, 9, 8]),
    C("conv2d_groups2", "Conv2d", [4, 6, 3], {"groups": 2, "padding": 1}, [2, 4, 7, 6]),
    C("conv2d_same_k4", "Conv2d", [3, 4, 4], {"padding": "same"}, [2, 3, 7, 8]),
    C("conv2d_same_k3_dil2", "Conv2d", [2, 3, 3], {"padding": "same", "dilation": 2}, [2, 2, 6, 7]),
    C("conv2d_valid", "Conv2d", [3, 4, 3], {"padding": "valid"}, [2, 3, 8, 6]),
    C("conv2d_rect_k3x5_s2x1", "Conv2d", [3, 4, [3, 5]], {"stride": [2, 1], "padding": [1, 2]}, [2, 3, 9, 8]),
    C("conv2d_odd_13x11", "Conv2d", [2, 3, 3], {"stride": 2, "padding": 1}, [3, 2, 13, 11]),
    C("conv2d_mnist_conv1", "Conv2d", [1, 6, 3], {"stride": 1, "padding": 1}, [2, 1, 12, 12]),
    # MaxPool2d(kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False)
    C("maxpool2d_k2s2", "MaxPool2d", [2, 2], {}, [2, 3, 8, 8]),
    C("maxpool2d_k2s2_odd", "MaxPool2d", [2, 2], {}, [2, 3, 13, 11]),
    C("maxpool2d_k3s2_ceil", "MaxPool2d", [3, 2], {"ceil_mode": True}, [2, 3, 8, 10]),
    C("maxpool2d_k3_pad1", "MaxPool2d", [3], {"stride": 1, "padding": 1}, [2, 2, 7, 6]),
    C("maxpool2d_dilation2", "MaxPool2d", [2], {"stride": 1, "dilation": 2}, [2, 2, 8, 7]),
    C("maxpool2d_stride_gt_kernel", "MaxPool2d", [2], {"stride": 3}, [2, 2, 11, 13]),
    C("maxpool2d_k3s2_pad1_ceil", "MaxPool2d", [3, 2], {"padding": 1, "ceil_mode": True}, [2, 2, 10, 9]),
    # ConvTranspose2d(in, out, kernel_size, stride=1, padding=0, output_padding=0, groups=1, bias=True, dilation=1)
    C("convtranspose2d_k2s2", "ConvTranspose2d", [4, 3, 2], {"stride": 2}, [2, 4, 5, 5]),
    C("convtranspose2d_k3_pad1", "ConvTranspose2d", [3, 4, 3], {"padding": 1}, [2, 3, 6, 5]),
    C("convtranspose2d_outpad1_s2", "ConvTranspose2d", [3, 2, 3], {"stride": 2, "padding": 1, "output_padding": 1}, [2, 3, 5, 4]),
    C("convtranspose2d_groups2", "ConvTranspose2d", [4, 6, 3], {"stride": 2, "groups": 2}, [2, 4, 4, 5]),
    C("convtranspose2d_dilation2", "ConvTranspose2d", [3, 2, 3], {"dilation": 2, "padding": 1}, [2, 3, 5, 6]),
    C("convtranspose2d_no_bias", "ConvTranspose2d", [3, 4, 2], {"stride": 2, "bias": False}, [2, 3, 4, 4]),
    C("convtranspose2d_rect_k2x3_s2x1", "ConvTranspose2d", [2, 3, [2, 3]], {"stride": [2, 1], "padding": [0, 1]}, [2, 2, 4, 5]),
    # RNN(input_size, hidden_size, num_layers=1, nonlinearity='tanh', bias=True, batch_first=False, dropout=0, bidirectional=False)
    C("rnn_tanh", "RNN", [5, 4], {"batch_first": True}, [3, 5, 5]),
    C("rnn_relu", "RNN", [5, 4], {"nonlinearity": "relu", "batch_first": True}, [3, 4, 5]),
    C("rnn_2layers", "RNN", [4, 3], {"num_layers": 2, "batch_first": True}, [2, 5, 4]),
    C("rnn_bidirectional", "RNN", [4, 3], {"bidirectional": True, "batch_first": True}, [2, 4, 4]),
    C("rnn_seq_first", "RNN", [4, 5], {}, [5, 2, 4]),
    C("rnn_with_h0", "RNN", [4, 3], {"num_layers": 2, "bidirectional": True}, [4, 2, 4], initial_state=True),
    C("rnn_no_bias", "RNN", [3, 4], {"bias": False, "batch_first": True}, [2, 3, 3]),
    # GRU(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0, bidirectional=False)
    C("gru_batch_first", "GRU", [5, 4], {"batch_first": True}, [3, 5, 5]),
    C("gru_2layers_bidirectional", "GRU", [4, 3], {"num_layers": 2, "bidirectional": True, "batch_first": True}, [2, 4, 4]),
    C("gru_no_bias", "GRU", [4, 3], {"bias": False}, [4, 2, 4]),
    C("gru_with_h0", "GRU", [4, 3], {"batch_first": True}, [2, 5, 4], initial_state=True),
    # LSTM(input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0, bidirectional=False)
    C("lstm_1layer", "LSTM", [5, 4], {}, [4, 3, 5]),
    C("lstm_2layers_bidirectional", "LSTM", [4, 3], {"num_layers": 2, "bidirectional": True, "batch_first": True}, [2, 5, 4]),
    C("lstm_with_h0_c0", "LSTM", [4, 3], {"batch_first": True}, [3, 4, 4], initial_state=True),
    C("lstm_no_bias", "LSTM", [3, 2], {"bias": False, "batch_first": True}, [2, 3, 3]),
    # Linear(in_features, out_features, bias=True)
    C("linear", "Linear", [6, 4], {}, [3, 6]),
    C("linear_no_bias", "Linear", [6, 4], {"bias": False}, [3, 6]),
    C("linear_3d_input", "Linear", [5, 3], {}, [2, 4, 5]),
    # ReLU(), Flatten(start_dim=1, end_dim=-1)
    C("relu", "ReLU", [], {}, [2, 3, 4, 5]),
    C("flatten", "Flatten", [], {}, [2, 3, 4, 5]),
    C("flatten_1_2", "Flatten", [1, 2], {}, [2, 3, 4, 5]),
    # CrossEntropyLoss(weight=None, size_average=None, ignore_index=-100, reduce=None, reduction='mean', label_smoothing=0.0)
    C("cross_entropy_mean", "CrossEntropyLoss", [], {}, [4, 6]),
    C("cross_entropy_sum", "CrossEntropyLoss", [], {"reduction": "sum"}, [4, 6]),
    C("cross_entropy_label_smoothing", "CrossEntropyLoss", [], {"label_smoothing": 0.1}, [5, 6]),
    C("cross_entropy_label_smoothing_sum", "CrossEntropyLoss", [], {"reduction": "sum", "label_smoothing": 0.1}, [3, 4]),
]


def build(cfg):
    args = [tuple(a) if isinstance(a, list) else a for a in cfg["args"]]
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in cfg["kwargs"].items()}
    return getattr(nn, cfg["unit"])(*args, **kwargs)


def make_unit(cfg):
    torch.manual_seed(cfg["seed"])
    module = build(cfg)
    x = torch.randn(*cfg["input_shape"])
    tensors = {"input": x.clone()}
    for k, p in module.state_dict().items():
        tensors["param." + k] = p.clone()
    x.requires_grad_(True)
    unit = cfg["unit"]
    leaves = {"input": x}
    if unit == "CrossEntropyLoss":
        target = torch.randint(0, x.shape[1], (x.shape[0],))
        tensors["target"] = target
        out = module(x, target)
        results = [("output", out)]
    elif unit in ("RNN", "GRU", "LSTM"):
        directions = 2 if module.bidirectional else 1
        batch = x.shape[0] if module.batch_first else x.shape[1]
        state_shape = (module.num_layers * directions, batch, module.hidden_size)
        if cfg.get("initial_state"):
            h0 = torch.randn(*state_shape)
            tensors["h_0"] = h0.clone()
            h0.requires_grad_(True)
            leaves["h_0"] = h0
            if unit == "LSTM":
                c0 = torch.randn(*state_shape)
                tensors["c_0"] = c0.clone()
                c0.requires_grad_(True)
                leaves["c_0"] = c0
                out, (hn, cn) = module(x, (h0, c0))
            else:
                out, hn = module(x, h0)
        else:
            out, hn = module(x)
            if unit == "LSTM":
                hn, cn = hn
        results = [("output", out), ("h_n", hn)]
        if unit == "LSTM":
            results.append(("c_n", cn))
    else:
        results = [("output", module(x))]
    weight_names = {"output": "out_weight", "h_n": "hn_weight", "c_n": "cn_weight"}
    scalar = 0
    for name, t in results:
        w = torch.randn(t.shape)
        tensors[name] = t.detach().clone()
        tensors[weight_names[name]] = w
        scalar = scalar + (t * w).sum()
    scalar.backward()
    for name, leaf in leaves.items():
        tensors["grad." + name] = leaf.grad.clone()
    for k, p in module.named_parameters():
        tensors["grad.param." + k] = p.grad.clone()
    write_safetensors(os.path.join(OUT, cfg["file"]), tensors,
                      {"name": cfg["name"], "unit": unit, "torch_version": torch.__version__, "seed": cfg["seed"],
                       "generator": "golden/make_golden.py"})
    return {k: (list(v.shape), "I64" if not v.dtype.is_floating_point else "F32") for k, v in tensors.items()}


def make_units():
    index = []
    for i, cfg in enumerate(CONFIGS):
        cfg = dict(cfg)
        cfg["seed"] = 1000 + i
        cfg["file"] = cfg["name"] + ".safetensors"
        make_unit(cfg)
        index.append(cfg)
        print(f"{cfg['name']:36s} {os.path.getsize(os.path.join(OUT, cfg['file'])):7d} bytes")
    with open(os.path.join(OUT, "index.json"), "w") as f:
        f.write("[\n" + ",\n".join(" " + json.dumps(c) for c in index) + "\n]\n")  # one configuration a line
    print(f"{len(index)} unit configurations")


# ---------------------------------------------------------------------------------------------------- the model

def read_idx(name):
    with gzip.open(os.path.join(MNIST, name), "rb") as f:
        raw = f.read()
    magic, n = struct.unpack(">II", raw[:8])
    if magic == 2051:
        rows, cols = struct.unpack(">II", raw[8:16])
        return torch.from_numpy(np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, 1, rows, cols).copy())
    if magic == 2049:
        return torch.from_numpy(np.frombuffer(raw, dtype=np.uint8, offset=8).astype(np.int64))
    raise ValueError(f"{name}: magic {magic} is neither 2051 nor 2049")


def normalise(images_u8):
    # ToTensor (p/255) then Normalize(0.5, 0.5), in float32 and in that order, as torchvision computes it.
    return (images_u8.to(torch.float32).div(255.0) - 0.5) / 0.5


def params(model, prefix="param."):
    return {prefix + k: v.detach().clone() for k, v in model.state_dict().items()}


def make_model_files():
    meta = {"torch_version": torch.__version__, "generator": "golden/make_golden.py", "model": "CombinedModel"}
    train_x = normalise(read_idx("train-images-idx3-ubyte.gz"))
    train_y = read_idx("train-labels-idx1-ubyte.gz")
    test_x = normalise(read_idx("t10k-images-idx3-ubyte.gz"))
    test_y = read_idx("t10k-labels-idx1-ubyte.gz")

    # 1. one batch of 64 test images: logits, loss, gradients of the loss
    torch.manual_seed(0)
    model = CombinedModel()
    x, y = test_x[:64], test_y[:64]
    t = params(model)
    out = model(x)
    loss = F.cross_entropy(out, y)
    loss.backward()
    t.update({"input": x, "target": y, "output": out.detach(), "loss": loss.detach()})
    t.update({"grad.param." + k: p.grad.clone() for k, p in model.named_parameters()})
    write_safetensors(os.path.join(OUT, "combined_b64.safetensors"), t, dict(meta, seed=0, images="test[0:64]"))
    print(f"combined_b64: loss {loss.item():.6f}")

    # 2. five Adam steps on train[64i, 64i+64)
    torch.manual_seed(0)
    model = CombinedModel()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    t = params(model)
    for i in range(5):
        xb, yb = train_x[64 * i:64 * i + 64], train_y[64 * i:64 * i + 64]
        t[f"batch{i}.input"], t[f"batch{i}.target"] = xb, yb
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        t[f"step{i + 1}.loss"] = loss.detach()
        if i + 1 in (1, 5):  # parameters after steps 1 and 5 only, to keep the file small
            t.update(params(model, f"step{i + 1}.param."))
    write_safetensors(os.path.join(OUT, "combined_adam5.safetensors"), t, dict(meta, seed=0, lr="0.001", steps=5, params_after_steps="1,5"))
    print("combined_adam5: losses", [round(t[f"step{i}.loss"].item(), 6) for i in range(1, 6)])

    # 3. 200 Adam steps on train[64i, 64i+64), no shuffle: initial params and the 200 losses
    torch.manual_seed(0)
    model = CombinedModel()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    t = params(model)
    losses = []
    for i in range(200):
        xb, yb = train_x[64 * i:64 * i + 64], train_y[64 * i:64 * i + 64]
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    t["losses"] = torch.tensor(losses, dtype=torch.float32)
    # The same 200 steps with 1 thread instead of 2: only the summation order changes. How far PyTorch drifts from
    # itself is the float32 noise floor that training amplifies; the Java test uses it as the envelope after the
    # early steps, where no implementation can stay within 1e-3 of another.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = CombinedModel()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses1 = []
    for i in range(200):
        xb, yb = train_x[64 * i:64 * i + 64], train_y[64 * i:64 * i + 64]
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        losses1.append(loss.item())
    torch.set_num_threads(threads)
    t["losses_1thread"] = torch.tensor(losses1, dtype=torch.float32)
    write_safetensors(os.path.join(OUT, "combined_train200.safetensors"), t, dict(meta, seed=0, lr="0.001", steps=200, batches="train[64i:64i+64], no shuffle"))
    print(f"combined_train200: loss[0] {losses[0]:.6f} loss[199] {losses[-1]:.6f}")



def make_trained_files():
    """One epoch as the tutorial trains (seed 0, shuffled batches of 64 from torch's generator, Adam 1e-3)."""
    train_x = normalise(read_idx("train-images-idx3-ubyte.gz"))
    train_y = read_idx("train-labels-idx1-ubyte.gz")
    test_x = normalise(read_idx("t10k-images-idx3-ubyte.gz"))
    test_y = read_idx("t10k-labels-idx1-ubyte.gz")
    torch.manual_seed(0)
    model = CombinedModel()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(train_x, train_y), batch_size=64, shuffle=True)
    model.train()
    correct_train, total_loss = 0, 0.0
    for xb, yb in loader:
        opt.zero_grad()
        out = model(xb)
        loss = F.cross_entropy(out, yb)
        loss.backward()
        opt.step()
        total_loss += loss.item()
        correct_train += (out.argmax(1) == yb).sum().item()
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(test_x[i:i + 1000]).argmax(1) for i in range(0, 10000, 1000)])
    correct = int((pred == test_y).sum().item())
    write_safetensors(os.path.join(OUT, "combined_trained.safetensors"), {k: v.detach().clone() for k, v in model.state_dict().items()})
    summary = {"epochs": 1, "seed": 0, "batch_size": 64, "lr": 1e-3, "train_loss": round(total_loss / len(loader), 6),
               "train_accuracy": round(100.0 * correct_train / len(train_y), 4), "test_correct": correct,
               "test_total": 10000, "test_accuracy": round(100.0 * correct / 10000, 4),
               "test_predictions": "".join(str(int(v)) for v in pred), "torch_version": torch.__version__}
    with open(os.path.join(OUT, "combined_trained.json"), "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    print(f"combined_trained: train loss {summary['train_loss']}, test {correct}/10000 = {summary['test_accuracy']}%")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--units", action="store_true", help="only the unit configurations")
    ap.add_argument("--model", action="store_true", help="only the CombinedModel files of one batch, 5 and 200 steps")
    ap.add_argument("--trained", action="store_true", help="only the state dict after one epoch and its test accuracy")
    a = ap.parse_args()
    everything = not (a.units or a.model or a.trained)
    torch.set_num_threads(2)
    torch.set_default_dtype(torch.float32)
    os.makedirs(OUT, exist_ok=True)
    if a.units or everything:
        make_units()
    if a.model or everything:
        make_model_files()
    if a.trained or everything:
        make_trained_files()


if __name__ == "__main__":
    sys.exit(main())
