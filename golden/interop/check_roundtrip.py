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
import os
import sys

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "golden"))
from tutorial import CombinedModel, mnist_test_images, read_safetensors, write_safetensors  # noqa: E402


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
