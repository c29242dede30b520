#!/usr/bin/env python3
"""Writes golden/data/shapes/*.json: what PyTorch gives for model specs (shapes per layer, reprs, parameter counts).

Each case is a deepshape model spec (PyTorch constructor syntax, one unit per line). This script evaluates the same
lines with torch.nn, runs a forward pass on a random batch and records every layer's input and output shape (the first
tensor a module returns: an RNN's output sequence), its repr and its parameter count. The Java test
ShapeGoldenTest reads the spec back, runs deepshape's shape rules and compares. Run: /usr/bin/python3 golden/make_shapes.py
"""
import json
import os
import re

import torch
from torch import nn


class Unsqueeze(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return x.unsqueeze(self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class Select(nn.Module):
    def __init__(self, dim, index):
        super().__init__()
        self.dim, self.index = dim, index

    def forward(self, x):
        return x.select(self.dim, self.index)

    def extra_repr(self):
        return f"dim={self.dim}, index={self.index}"


UNITS = {name: getattr(nn, name) for name in ["Conv2d", "ConvTranspose2d", "MaxPool2d", "RNN", "GRU", "LSTM", "Linear", "ReLU", "Flatten"]}
UNITS.update(Unsqueeze=Unsqueeze, Select=Select)

# Single-unit configurations (the golden table's kind: odd sizes, stride > kernel, dilation, groups, output_padding,
# ceil_mode, several layers, bidirectional, batch_first both ways, unbatched inputs), then multi-layer specs.
CASES = {
    "conv_basic": "input: (3, 1, 28, 28)\nConv2d(1, 32, kernel_size=3, stride=1, padding=1)",
    "conv_odd_stride_gt_kernel": "input: (2, 3, 13, 11)\nConv2d(3, 5, kernel_size=2, stride=3)",
    "conv_dilation_groups": "input: (2, 4, 17, 9)\nConv2d(4, 6, kernel_size=(3, 2), stride=(2, 1), padding=(2, 1), dilation=(2, 3), groups=2, bias=False)",
    "conv_same": "input: (2, 3, 10, 7)\nConv2d(3, 4, kernel_size=(4, 3), padding='same', dilation=(1, 2))",
    "conv_valid": "input: (2, 3, 10, 7)\nConv2d(3, 4, 3, padding='valid')",
    "conv_unbatched": "input: (2, 9, 9)\nConv2d(2, 3, 5, 2, 2)",
    "deconv_basic": "input: (3, 64, 7, 7)\nConvTranspose2d(64, 32, kernel_size=2, stride=2)",
    "deconv_output_padding": "input: (2, 4, 5, 6)\nConvTranspose2d(4, 6, kernel_size=3, stride=2, padding=1, output_padding=1, groups=2)",
    "deconv_dilation": "input: (2, 3, 4, 3)\nConvTranspose2d(3, 2, kernel_size=(2, 3), stride=(3, 1), padding=(0, 1), output_padding=(2, 0), dilation=(1, 2), bias=False)",
    "pool_basic": "input: (3, 32, 28, 28)\nMaxPool2d(kernel_size=2, stride=2)",
    "pool_ceil": "input: (2, 3, 10, 9)\nMaxPool2d(3, stride=2, ceil_mode=True)",
    "pool_ceil_padding": "input: (2, 1, 7, 6)\nMaxPool2d(kernel_size=(3, 2), stride=(2, 3), padding=1, ceil_mode=True)",
    "pool_dilation_default_stride": "input: (2, 2, 11, 8)\nMaxPool2d(2, dilation=(2, 3), padding=(1, 0))",
    "pool_stride_gt_kernel": "input: (2, 2, 13, 13)\nMaxPool2d(2, stride=5)",
    "rnn_batch_first": "input: (3, 5, 7)\nRNN(7, 4, batch_first=True)",
    "rnn_seq_first_relu": "input: (5, 3, 7)\nRNN(7, 4, nonlinearity='relu', bias=False)",
    "rnn_two_layers_bidirectional": "input: (3, 5, 7)\nRNN(7, 4, num_layers=2, batch_first=True, bidirectional=True)",
    "rnn_unbatched": "input: (5, 7)\nRNN(7, 4)",
    "gru_batch_first": "input: (3, 5, 7)\nGRU(7, 6, batch_first=True)",
    "gru_stacked_bidirectional": "input: (5, 3, 7)\nGRU(7, 6, 3, bidirectional=True, dropout=0.5)",
    "lstm_batch_first": "input: (3, 5, 7)\nLSTM(7, 6, batch_first=True)",
    "lstm_two_layers_bidirectional": "input: (3, 5, 7)\nLSTM(7, 6, num_layers=2, batch_first=True, bidirectional=True, bias=False)",
    "lstm_unbatched": "input: (5, 7)\nLSTM(7, 3, 2)",
    "linear_2d": "input: (3, 32)\nLinear(32, 10)",
    "linear_3d_no_bias": "input: (3, 4, 5)\nLinear(5, 2, bias=False)",
    "flatten_partial": "input: (2, 3, 4, 5)\nFlatten(0, 1)",
    "combined": open(os.path.join(os.path.dirname(__file__), "..", "core", "src", "main", "resources", "dev", "deepshape", "shape", "combined.spec")).read(),
    "lenet": """input: (4, 1, 28, 28)
c1 = Conv2d(1, 6, 5, padding=2)
ReLU()
p = MaxPool2d(2)
c2 = Conv2d(6, 16, 5)
ReLU()
p
Flatten()
f1 = Linear(400, 120)
ReLU()
f2 = Linear(120, 84)
ReLU()
f3 = Linear(84, 10)""",
    "autoencoder": """input: (2, 3, 33, 31)
enc1 = Conv2d(3, 8, 3, stride=2, padding=1)
ReLU()
enc2 = Conv2d(8, 16, 3, stride=2, padding=1, groups=2)
ReLU()
dec1 = ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1)
ReLU()
dec2 = ConvTranspose2d(8, 3, 3, stride=2, padding=1, output_padding=(0, 0), dilation=1)""",
    "conv_to_sequence": """input: (3, 2, 12, 12)
conv = Conv2d(2, 4, 3, padding=1)
pool = MaxPool2d(2, ceil_mode=True)
Flatten(2)
Select(1, 0)
Unsqueeze(1)
lstm = LSTM(36, 8, batch_first=True, bidirectional=True)
gru = GRU(16, 5, num_layers=2, batch_first=True)
Select(1, -1)
head = Linear(5, 3)""",
    "sequence_first_stack": """input: (6, 2, 10)
rnn = RNN(10, 12, num_layers=2, nonlinearity='relu')
lstm = LSTM(12, 7, bidirectional=True)
Select(0, -1)
fc = Linear(14, 4)""",
}


def build(spec):
    """Evaluates a spec with torch.nn: (input shape, [(name, module, reused)])."""
    shape, layers, named = None, [], {}
    for raw in spec.splitlines():
        line = raw.split("#")[0].strip()
        if not line:
            continue
        m = re.match(r"input\s*:\s*(.*)$", line)
        if m:
            shape = list(eval(m.group(1)))
            continue
        m = re.match(r"(\w+)\s*=\s*(.*)$", line)
        if m:
            module = eval(m.group(2), {}, UNITS)
            named[m.group(1)] = module
            layers.append((m.group(1), module, False))
        elif re.fullmatch(r"\w+", line):
            layers.append((line, named[line], True))
        else:
            layers.append((str(len(layers)), eval(line, {}, UNITS), False))
    return shape, layers


def main():
    torch.manual_seed(0)
    out_dir = os.path.join(os.path.dirname(__file__), "data", "shapes")
    os.makedirs(out_dir, exist_ok=True)
    for case, spec in CASES.items():
        shape, layers = build(spec)
        model = nn.Sequential()
        for name, module, reused in layers:
            if not reused:
                model.add_module(name, module)
        x = torch.randn(*shape)
        rows = []
        with torch.no_grad():
            for i, (name, module, reused) in enumerate(layers):
                y = module(x)
                if isinstance(y, tuple):
                    y = y[0]
                rows.append({
                    "index": i, "name": name, "type": type(module).__name__, "repr": repr(module),
                    "input_shape": list(x.shape), "output_shape": list(y.shape),
                    "params": sum(p.numel() for p in module.parameters()),
                    "param_shapes": {k: list(v.shape) for k, v in module.named_parameters()},
                })
                x = y
        doc = {"spec": spec, "input_shape": shape, "output_shape": list(x.shape),
               "total_params": sum(p.numel() for p in model.parameters()),
               "state_dict_keys": list(model.state_dict().keys()), "layers": rows, "torch": torch.__version__}
        with open(os.path.join(out_dir, case + ".json"), "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
    print(f"wrote {len(CASES)} cases to {out_dir}")


if __name__ == "__main__":
    main()
