package dev.deepshape.cli.graph;

import java.util.List;

/** The reference model's steps as SEED_MODEL.md lists them (names, reprs, parameter counts, shapes with batch N). */
final class Fixtures {
    private Fixtures() {}

    static final int N = -1;

    static List<LayerBox> combined(int n) {
        return List.of(
                new LayerBox("conv1", "Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))", 320, s(n, 1, 28, 28), s(n, 32, 28, 28), false),
                new LayerBox("1", "ReLU()", 0, s(n, 32, 28, 28), s(n, 32, 28, 28), false),
                new LayerBox("pool", "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)", 0, s(n, 32, 28, 28), s(n, 32, 14, 14), false),
                new LayerBox("conv2", "Conv2d(32, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))", 18_496, s(n, 32, 14, 14), s(n, 64, 14, 14), false),
                new LayerBox("4", "ReLU()", 0, s(n, 64, 14, 14), s(n, 64, 14, 14), false),
                new LayerBox("pool", "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)", 0, s(n, 64, 14, 14), s(n, 64, 7, 7), true),
                new LayerBox("deconv", "ConvTranspose2d(64, 32, kernel_size=(2, 2), stride=(2, 2))", 8_224, s(n, 64, 7, 7), s(n, 32, 14, 14), false),
                new LayerBox("7", "Flatten(start_dim=1, end_dim=-1)", 0, s(n, 32, 14, 14), s(n, 6272), false),
                new LayerBox("8", "Unsqueeze(dim=1)", 0, s(n, 6272), s(n, 1, 6272), false),
                new LayerBox("rnn", "RNN(6272, 128, batch_first=True)", 819_456, s(n, 1, 6272), s(n, 1, 128), false),
                new LayerBox("gru", "GRU(128, 64, batch_first=True)", 37_248, s(n, 1, 128), s(n, 1, 64), false),
                new LayerBox("lstm", "LSTM(64, 32, batch_first=True)", 12_544, s(n, 1, 64), s(n, 1, 32), false),
                new LayerBox("12", "Select(dim=1, index=-1)", 0, s(n, 1, 32), s(n, 32), false),
                new LayerBox("fc", "Linear(in_features=32, out_features=10, bias=True)", 330, s(n, 32), s(n, 10), false));
    }

    static int[] s(int... d) { return d; }
}
