// deepshape's CUDA kernels, compiled at run time by NVRTC (Kernels.java) with --fmad=false, so that every a*b+c is
// rounded twice as in the Java reference kernels, and fmaf() sits exactly where the reference calls Math.fma.
// Layouts are the CPU backend's: dense row-major, NCHW. Every kernel loops grid-stride, so any launch size is correct.
// Kernels whose name ends in _acc take a flag `acc`: 1 adds to the output (the Backend's += convention), 0 overwrites.

// NOTE: 32-bit indices (Gpu.launch refuses 2^31 elements or more): 64-bit division costs several times more and
// im2col, col2im and pooling are mostly index arithmetic.
#define FOR(i, n) for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += blockDim.x * gridDim.x)

__device__ __forceinline__ float sigmoidf_(float x) { return 1.0f / (1.0f + expf(-x)); }
__device__ __forceinline__ bool isnan_(float x) { return x != x; }

// ---------------------------------------------------------------- convolution helpers (Conv2dGeometry's names)

// col (n, c·kh·kw, oh·ow) ← x (n, c, h, w): column (ci, ky, kx) of output pixel (oy, ox) of sample ni reads
// x[ni, ci, oy·sh − ph + ky·dh, ox·sw − pw + kx·dw], zero outside (one GEMM per sample reads it).
extern "C" __global__ void im2col(const float* x, float* col, int n, int c, int h, int w, int kh, int kw,
                                  int sh, int sw, int ph, int pw, int dh, int dw, int oh, int ow) {
    int ohw = oh * ow;
    int total = n * c * kh * kw * ohw;
    FOR(i, total) {
        int p = i % ohw, r = i / ohw;
        int kx = r % kw; r /= kw;
        int ky = r % kh; r /= kh;            // r = ni·c + ci
        int oy = p / ow, ox = p % ow;
        int iy = oy * sh - ph + ky * dh, ix = ox * sw - pw + kx * dw;
        col[i] = (iy >= 0 && iy < h && ix >= 0 && ix < w) ? x[(r * h + iy) * w + ix] : 0.0f;
    }
}

// The batch-wide layout, col (c·kh·kw, n·oh·ow) (one GEMM for the whole batch): block row blockIdx.y is column row
// (ci, ky, kx), decoded once; threads run along its n·oh·ow entries.
extern "C" __global__ void im2col_rows(const float* x, float* col, int n, int c, int h, int w, int kh, int kw,
                                       int sh, int sw, int ph, int pw, int dh, int dw, int oh, int ow) {
    int row = blockIdx.y;
    int kx = row % kw, ky = (row / kw) % kh, ci = row / (kw * kh);
    int ohw = oh * ow, len = n * ohw;
    float* out = col + row * len;
    for (int t = blockIdx.x * blockDim.x + threadIdx.x; t < len; t += blockDim.x * gridDim.x) {
        int ni = t / ohw, p = t - ni * ohw;
        int oy = p / ow, ox = p - oy * ow;
        int iy = oy * sh - ph + ky * dh, ix = ox * sw - pw + kx * dw;
        out[t] = (iy >= 0 && iy < h && ix >= 0 && ix < w) ? x[((ni * c + ci) * h + iy) * w + ix] : 0.0f;
    }
}

// x (n, c, h, w) (+)= col2im(col), col in either of im2col's layouts (cn: the batch-wide one): the adjoint of
// im2col, written as a gather (each x element sums the columns that read it, in increasing (ky, kx)), so no atomics
// and the same sum every run. Without acc the sum starts from bias[ci] (may be null): the transposed convolution's
// forward, bias first as the reference adds it.
extern "C" __global__ void col2im_acc(const float* col, float* x, const float* bias, int n, int c, int h, int w,
                                      int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw, int oh, int ow,
                                      int cn, int acc) {
    int ohw = oh * ow;
    int total = n * c * h * w;
    FOR(i, total) {
        int ix = i % w, iy = (i / w) % h;
        int r = i / (h * w);         // ni·c + ci
        int ni = r / c, ci = r % c;
        float s = acc ? x[i] : (bias ? bias[ci] : 0.0f);
        for (int ky = 0; ky < kh; ky++) {
            int ty = iy + ph - ky * dh;
            if (ty < 0 || ty % sh != 0) continue;
            int oy = ty / sh;
            if (oy >= oh) continue;
            for (int kx = 0; kx < kw; kx++) {
                int tx = ix + pw - kx * dw;
                if (tx < 0 || tx % sw != 0) continue;
                int ox = tx / sw;
                if (ox >= ow) continue;
                int row = (ci * kh + ky) * kw + kx;
                int q = oy * ow + ox;
                s += cn ? col[(row * n + ni) * ohw + q] : col[(r * kh + ky) * kw * ohw + kx * ohw + q];
            }
        }
        x[i] = s;
    }
}

// out (n, c, plane) += bias[c]
extern "C" __global__ void add_bias_planes(float* out, const float* bias, int n, int c, int plane) {
    int total = n * c * plane;
    FOR(i, total) out[i] += bias[(i / plane) % c];
}

// out (n, c, plane) = bias[c] (the transposed convolution's start: bias first, then the columns added)
extern "C" __global__ void fill_bias_planes(float* out, const float* bias, int n, int c, int plane) {
    int total = n * c * plane;
    FOR(i, total) out[i] = bias == 0 ? 0.0f : bias[(i / plane) % c];
}

// dbias[c] (+)= Σ over n and the plane of dout (n, c, plane): one block per channel, a fixed reduction tree.
extern "C" __global__ void bias_grad_planes(const float* dout, float* dbias, int n, int c, int plane, int acc) {
    __shared__ float part[256];
    int ch = blockIdx.x;
    float s = 0.0f;
    int total = n * plane;
    for (int k = threadIdx.x; k < total; k += blockDim.x) {
        int b = k / plane, q = k % plane;
        s += dout[(b * c + ch) * plane + q];
    }
    part[threadIdx.x] = s;
    __syncthreads();
    for (int half = blockDim.x / 2; half > 0; half /= 2) {
        if (threadIdx.x < half) part[threadIdx.x] += part[threadIdx.x + half];
        __syncthreads();
    }
    if (threadIdx.x == 0) dbias[ch] = acc ? dbias[ch] + part[0] : part[0];
}

// out[j] (+)= Σ_r m[r·len + j], for j < len: column sums (bias gradients of row-major activations, and the sum of
// per-sample weight gradients)
extern "C" __global__ void sum_rows_acc(const float* m, float* out, int rows, int len, int acc) {
    FOR(j, len) {
        float s = 0.0f;
        for (int r = 0; r < rows; r++) s += m[r * len + j];
        out[j] = acc ? out[j] + s : s;
    }
}

// out (rows, cols) += bias[col]
extern "C" __global__ void add_bias_rows(float* out, const float* bias, int rows, int cols) {
    int total = rows * cols;
    FOR(i, total) out[i] += bias[i % cols];
}

// ---------------------------------------------------------------- ReLU and max pooling

__device__ __forceinline__ float relu_(float v) { return v <= 0.0f ? 0.0f : v; }   // NaN stays NaN

extern "C" __global__ void relu_fwd(const float* x, float* out, int n) {
    FOR(i, n) out[i] = relu_(x[i]);
}

// dx += dout where out (relu's result) is not <= 0
extern "C" __global__ void relu_bwd(const float* dout, const float* out, float* dx, int n) {
    FOR(i, n) if (!(out[i] <= 0.0f)) dx[i] += dout[i];
}

// Layouts of an (n, c, plane) tensor: NCHW, or with cn "CNHW" (c, n, plane), the batch-wide GEMM's output.
__device__ __forceinline__ int plane_of(int ni, int ci, int n, int c, int cn) { return cn ? ci * n + ni : ni * c + ci; }

// Max pooling of x (n, c, h, w) → out (n, c, oh, ow); with bias (may be null), of x + bias[c], the convolution's
// bias added here rather than in a pass of its own; with relu, of relu of that. x is in layout inCN, out and the
// indices in outCN. The index of a window's maximum (flat iy·w + ix in the plane) goes to idx_i (int) or idx_f
// (float), either may be null. PyTorch's rule: scan in order, take v when v > best or v is NaN; an all −∞ window
// points at its first element.
extern "C" __global__ void maxpool_fwd(const float* x, const float* bias, float* out, int* idx_i, float* idx_f, int relu, int n, int c,
                                       int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw,
                                       int oh, int ow, int inCN, int outCN) {
    int total = n * c * oh * ow;
    FOR(i, total) {
        int ox = i % ow, oy = (i / ow) % oh;
        int q = i / (oh * ow);
        int ni = outCN ? q % n : q / c, ci = outCN ? q / n : q % c;
        const float* xp = x + plane_of(ni, ci, n, c, inCN) * h * w;
        float b = bias ? bias[ci] : 0.0f;
        float best = __int_as_float(0xff800000);   // -inf
        int arg = -1;
        for (int ky = 0; ky < kh; ky++) {
            int iy = oy * sh - ph + ky * dh;
            if (iy < 0 || iy >= h) continue;
            for (int kx = 0; kx < kw; kx++) {
                int ix = ox * sw - pw + kx * dw;
                if (ix < 0 || ix >= w) continue;
                float v = xp[iy * w + ix];
                if (bias) v = v + b;
                if (relu) v = relu_(v);
                if (arg < 0) arg = iy * w + ix;
                if (v > best || isnan_(v)) { best = v; arg = iy * w + ix; }
            }
        }
        out[i] = best;
        if (idx_i) idx_i[i] = arg;
        if (idx_f) idx_f[i] = (float) arg;
    }
}

// dx (n, c, h, w) (+)= the gradient of max pooling: each x element gathers dout of the windows whose saved index is
// itself, in increasing output order (the reference's order). With relu, only where out (the pooled relu) is not
// <= 0: ReLU passed its input there. dx is in layout inCN; dout, the indices and out in outCN.
extern "C" __global__ void maxpool_bwd_acc(const float* dout, const int* idx_i, const float* idx_f, const float* out,
                                           float* dx, int relu, int n, int c, int h, int w, int kh, int kw, int sh,
                                           int sw, int ph, int pw, int dh, int dw, int oh, int ow, int inCN, int outCN,
                                           int acc) {
    int total = n * c * h * w;
    FOR(i, total) {
        int ix = i % w, iy = (i / w) % h;
        int q = i / (h * w);
        int ni = inCN ? q % n : q / c, ci = inCN ? q / n : q % c;
        int op = plane_of(ni, ci, n, c, outCN);
        int self = iy * w + ix;
        float s = acc ? dx[i] : 0.0f;
        for (int ky = kh - 1; ky >= 0; ky--) {          // descending ky = ascending oy
            int ty = iy + ph - ky * dh;
            if (ty < 0 || ty % sh != 0) continue;
            int oy = ty / sh;
            if (oy >= oh) continue;
            for (int kx = kw - 1; kx >= 0; kx--) {
                int tx = ix + pw - kx * dw;
                if (tx < 0 || tx % sw != 0) continue;
                int ox = tx / sw;
                if (ox >= ow) continue;
                int o = (op * oh + oy) * ow + ox;
                int arg = idx_i ? idx_i[o] : (int) idx_f[o];
                if (arg != self) continue;
                if (relu && out[o] <= 0.0f) continue;
                s += dout[o];
            }
        }
        dx[i] = s;
    }
}

// ---------------------------------------------------------------- recurrent cells, one time step from a zero state
// gi (b, G) is x·W_ihᵀ without bias (one GEMM); the hidden projection h0·W_hhᵀ is zero, so the hidden gates are
// b_hh: PyTorch's cells with hx = 0, operation for operation.

// RNN tanh: h = tanh((gi + b_ih) + b_hh)
extern "C" __global__ void rnn_tanh_fwd(const float* gi, const float* bih, const float* bhh, float* h, int b, int hs) {
    int total = b * hs;
    FOR(i, total) { int j = i % hs; h[i] = tanhf((gi[i] + bih[j]) + bhh[j]); }
}

// dgate = dh·(1 − h²)
extern "C" __global__ void rnn_tanh_bwd(const float* dh, const float* h, float* dgate, int b, int hs) {
    int total = b * hs;
    FOR(i, total) dgate[i] = dh[i] * (1.0f - h[i] * h[i]);
}

// GRU (gates r, z, n): r = σ(gi_r + gh_r), z = σ(gi_z + gh_z), n = tanh(gi_n + r·gh_n), h = n + z·(h0 − n), with
// gi = x·W_ihᵀ + b_ih and gh = b_hh. Saves r, z, n (b, 3H) for the backward pass.
extern "C" __global__ void gru_fwd(const float* gi, const float* bih, const float* bhh, float* h, float* rzn, int b, int hs) {
    int total = b * hs;
    FOR(i, total) {
        int row = i / hs; int j = i % hs;
        const float* g = gi + row * 3 * hs;
        float r = sigmoidf_((g[j] + bih[j]) + bhh[j]);
        float z = sigmoidf_((g[hs + j] + bih[hs + j]) + bhh[hs + j]);
        float n = tanhf((g[2 * hs + j] + bih[2 * hs + j]) + r * bhh[2 * hs + j]);
        h[i] = n + z * (0.0f - n);
        float* s = rzn + row * 3 * hs;
        s[j] = r; s[hs + j] = z; s[2 * hs + j] = n;
    }
}

// From dh: dgi (the input gates' gradient) and dgh (the hidden gates'), each (b, 3H).
extern "C" __global__ void gru_bwd(const float* dh, const float* rzn, const float* bhh, float* dgi, float* dgh, int b, int hs) {
    int total = b * hs;
    FOR(i, total) {
        int row = i / hs; int j = i % hs;
        const float* s = rzn + row * 3 * hs;
        float r = s[j], z = s[hs + j], n = s[2 * hs + j];
        float d = dh[i];
        float dn = d * (1.0f - z);
        float dz = d * (0.0f - n);
        float dgn = dn * (1.0f - n * n);
        float dr = dgn * bhh[2 * hs + j];
        float dgr = dr * r * (1.0f - r);
        float dgz = dz * z * (1.0f - z);
        float* a = dgi + row * 3 * hs;
        float* c = dgh + row * 3 * hs;
        a[j] = dgr; a[hs + j] = dgz; a[2 * hs + j] = dgn;
        c[j] = dgr; c[hs + j] = dgz; c[2 * hs + j] = dgn * r;
    }
}

// LSTM (gates i, f, g, o): c = f·c0 + i·g, h = o·tanh(c), with c0 = 0. Saves i, f, g, o, c (b, 5H).
extern "C" __global__ void lstm_fwd(const float* gi, const float* bih, const float* bhh, float* h, float* save, int b, int hs) {
    int total = b * hs;
    FOR(i, total) {
        int row = i / hs; int j = i % hs;
        const float* g = gi + row * 4 * hs;
        float ig = sigmoidf_((g[j] + bih[j]) + bhh[j]);
        float fg = sigmoidf_((g[hs + j] + bih[hs + j]) + bhh[hs + j]);
        float gg = tanhf((g[2 * hs + j] + bih[2 * hs + j]) + bhh[2 * hs + j]);
        float og = sigmoidf_((g[3 * hs + j] + bih[3 * hs + j]) + bhh[3 * hs + j]);
        float c = fg * 0.0f + ig * gg;
        h[i] = og * tanhf(c);
        float* s = save + row * 5 * hs;
        s[j] = ig; s[hs + j] = fg; s[2 * hs + j] = gg; s[3 * hs + j] = og; s[4 * hs + j] = c;
    }
}

extern "C" __global__ void lstm_bwd(const float* dh, const float* save, float* dgates, int b, int hs) {
    int total = b * hs;
    FOR(i, total) {
        int row = i / hs; int j = i % hs;
        const float* s = save + row * 5 * hs;
        float ig = s[j], fg = s[hs + j], gg = s[2 * hs + j], og = s[3 * hs + j], c = s[4 * hs + j];
        float tc = tanhf(c);
        float d = dh[i];
        float dog = d * tc;
        float dc = d * og * (1.0f - tc * tc);
        float dig = dc * gg;
        float dgg = dc * ig;
        float dfg = dc * 0.0f;               // c0 = 0
        float* a = dgates + row * 4 * hs;
        a[j] = dig * ig * (1.0f - ig);
        a[hs + j] = dfg * fg * (1.0f - fg);
        a[2 * hs + j] = dgg * (1.0f - gg * gg);
        a[3 * hs + j] = dog * og * (1.0f - og);
    }
}

// ---------------------------------------------------------------- loss, data, optimiser

// Cross-entropy with mean reduction over b rows of `classes` logits: dlogits = (softmax − onehot) / b;
// stats[0] = the mean loss (float bits), stats[1] = rows whose first maximum is the label (torch.argmax: a NaN
// counts as the maximum), stats[2] = 0 (the non-finite gradient count that count_nonfinite adds to). One block.
extern "C" __global__ void cross_entropy(const float* logits, const int* labels, float* dlogits, float* rowLoss,
                                         int* stats, int b, int classes) {
    __shared__ int hits;
    if (threadIdx.x == 0) hits = 0;
    __syncthreads();
    int myHits = 0;
    for (int r = threadIdx.x; r < b; r += blockDim.x) {
        const float* z = logits + r * classes;
        float mx = z[0]; int arg = 0;
        for (int k = 1; k < classes; k++) if (z[k] > mx || (isnan_(z[k]) && !isnan_(mx))) { mx = z[k]; arg = k; }
        float se = 0.0f;
        for (int k = 0; k < classes; k++) se += expf(z[k] - mx);
        float lse = mx + logf(se);
        int y = labels[r];
        rowLoss[r] = lse - z[y];
        if (arg == y) myHits++;
        if (dlogits) {
            float inv = 1.0f / (float) b;
            for (int k = 0; k < classes; k++) {
                float p = expf(z[k] - lse);
                dlogits[r * classes + k] = (p - (k == y ? 1.0f : 0.0f)) * inv;
            }
        }
    }
    atomicAdd(&hits, myHits);
    __syncthreads();
    if (threadIdx.x == 0) {
        float s = 0.0f;
        for (int r = 0; r < b; r++) s += rowLoss[r];   // in row order: the same sum on every run
        stats[0] = __float_as_int(s / (float) b);
        stats[1] = hits;
        stats[2] = 0;
    }
}

// stats[2] += the number of non-finite values in g[0..n)
extern "C" __global__ void count_nonfinite(const float* g, int n, int* stats) {
    int bad = 0;
    FOR(i, n) { float v = g[i]; if (isnan_(v) || v - v != 0.0f) bad++; }
    if (bad) atomicAdd(&stats[2], bad);
}

// x (b, size) = images[order[i]] for the batch's b examples; y (b) = labels[order[i]]
extern "C" __global__ void gather_batch(const float* images, const int* labels, const int* order, float* x, int* y,
                                        int b, int size) {
    int total = b * size;
    FOR(i, total) {
        int r = i / size; int j = i % size;
        x[i] = images[order[r] * size + j];
        if (j == 0) y[r] = labels[order[r]];
    }
}

// One Adam step, AdamKernels.adamUpdate operation for operation (fmaf where it calls Math.fma). vmax may be null.
extern "C" __global__ void adam(float* p, const float* g, float* m, float* v, float* vmax, int n, float negStep,
                                float bc2Sqrt, float beta1, float omb1, float beta2, float omb2, float eps, float wd) {
    FOR(j, n) {
        float gj = wd != 0.0f ? fmaf(wd, p[j], g[j]) : g[j];
        float mj = fmaf(omb1, gj, m[j] * beta1);
        float vj = fmaf(omb2 * gj, gj, v[j] * beta2);
        m[j] = mj;
        v[j] = vj;
        if (vmax) { vj = (isnan_(vmax[j]) || isnan_(vj)) ? __int_as_float(0x7fc00000) : fmaxf(vmax[j], vj); vmax[j] = vj; }
        float denom = sqrtf(vj) / bc2Sqrt + eps;
        p[j] = p[j] + negStep * mj / denom;
    }
}
