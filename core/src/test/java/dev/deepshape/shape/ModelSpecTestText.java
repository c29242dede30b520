package dev.deepshape.shape;

/** The spec of the reference model, verbatim. */
final class ModelSpecTestText {
    private ModelSpecTestText() {}

    static final String REFERENCE = """
            input: (64, 1, 28, 28)
            conv1 = Conv2d(1, 32, kernel_size=3, stride=1, padding=1)
            ReLU()
            pool = MaxPool2d(kernel_size=2, stride=2)
            conv2 = Conv2d(32, 64, kernel_size=3, stride=1, padding=1)
            ReLU()
            pool
            deconv = ConvTranspose2d(64, 32, kernel_size=2, stride=2)
            Flatten()
            Unsqueeze(1)
            rnn = RNN(6272, 128, batch_first=True)
            gru = GRU(128, 64, batch_first=True)
            lstm = LSTM(64, 32, batch_first=True)
            Select(1, -1)
            fc = Linear(32, 10)
            """;
}
