/* One decoder step of a weight-only int8 draft, in a single call: a few tokens, each in its own
 * row of the cache at its own position (one token for each of several windows, or a few
 * consecutive tokens of one window, or both).
 *
 * A draft step of base through PyTorch issues about a thousand small operations (views,
 * transposes, layer norms, attention, ~40 linear calls), and on a 2-core machine their dispatch
 * costs more than the arithmetic: measured alone, about half of a step was outside any
 * operator. Here every layer runs in C: layer norms, the int8 linears (sw_int8_linear), causal
 * self-attention over the cached keys/values (which this step extends, in the caller's
 * buffers, so PyTorch code can go on with the same cache), cross-attention over the encoder's
 * keys/values (bfloat16 or float32; the self-attention cache too), exact GELU. The caller
 * applies the final layer norm and the output layer.
 *
 * The int8 linears read each weight once for all the tokens of a call, so feeding two tokens
 * (a draft resuming after a fully accepted proposal) costs little more than feeding one.
 *
 * The numbers are a draft's: the softmax uses a polynomial exp (relative error ~1e-7) and sums
 * in another order than PyTorch. The verifier decides what is kept, so this changes how often
 * drafts are accepted, never the output.
 *
 * sw_attend, at the end, is the attention alone, for an int8 main model (its plain decoding and
 * its verification alike, so both compute the same numbers).
 */
#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int sw_int8_linear(const float *x, const int8_t *w, const float *scale, const float *bias,
                   float *y, int M, int N, int K, int threads);

/* The pointers of one layer, in this order (the Python side builds the table). */
enum {
    LN1_W, LN1_B, QKV_W, QKV_S, QKV_B, SO_W, SO_S, SO_B,
    LN2_W, LN2_B, CQ_W, CQ_S, CQ_B, CO_W, CO_S, CO_B,
    LN3_W, LN3_B, FC1_W, FC1_S, FC1_B, FC2_W, FC2_S, FC2_B,
    KEYS, VALUES, CROSS_KEYS, CROSS_VALUES, PER_LAYER
};

/* An int8 linear layer; its first failure is the step's status (-1 shape, -2 memory). */
#define LINEAR(...)                                                                            \
    do {                                                                                       \
        int failed_ = sw_int8_linear(__VA_ARGS__);                                             \
        if (failed_ && !status) status = failed_;                                              \
    } while (0)

#define F32(i) ((float *)(intptr_t)layer[i])
#define I8(i) ((const int8_t *)(intptr_t)layer[i])

static void layer_norm(const float *x, const float *w, const float *b, float *y, int d,
                       float eps) {
    double mean = 0.0, var = 0.0;
    for (int i = 0; i < d; i++) mean += x[i];
    mean /= d;
    for (int i = 0; i < d; i++) var += (x[i] - mean) * (x[i] - mean);
    float inv = 1.0f / sqrtf((float)(var / d) + eps);
    for (int i = 0; i < d; i++) y[i] = ((float)(x[i] - mean)) * inv * w[i] + b[i];
}

/* e^x for x <= 0 (scores minus their maximum): 2^n e^r with |r| <= ln2 / 2, degree-7 series. */
static inline __m512 exp_nonpositive(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504089f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187e-06f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040.0f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}

/* 16 consecutive elements from index i of a float32 or bfloat16 array, as float32. */
static inline __m512 load16(const void *base, size_t i, int bf16) {
    if (bf16) {
        __m256i half = _mm256_loadu_si256((const __m256i *)((const uint16_t *)base + i));
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(half), 16));
    }
    return _mm512_loadu_ps((const float *)base + i);
}

/* The sums of 16 vectors, as one vector (lane t: the sum of v[t]): a transpose-and-add tree,
 * 45 operations where 16 separate horizontal sums take about three times as many. */
static inline __m512 sum16(const __m512 v[16]) {
    __m512 pairs[8], quads[4];
    for (int i = 0; i < 8; i++)
        pairs[i] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]),
                                 _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
    for (int i = 0; i < 4; i++) {
        __m512d a = _mm512_castps_pd(pairs[2 * i]), b = _mm512_castps_pd(pairs[2 * i + 1]);
        quads[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)),
                                 _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
    }
    __m512 low = _mm512_add_ps(_mm512_shuffle_f32x4(quads[0], quads[1], 0x88),
                               _mm512_shuffle_f32x4(quads[0], quads[1], 0xDD));
    __m512 high = _mm512_add_ps(_mm512_shuffle_f32x4(quads[2], quads[3], 0x88),
                                _mm512_shuffle_f32x4(quads[2], quads[3], 0xDD));
    return _mm512_add_ps(_mm512_shuffle_f32x4(low, high, 0x88),
                         _mm512_shuffle_f32x4(low, high, 0xDD));
}

/* One head: out = softmax(q . K_j) V over keys 0 .. length - 1 (q already scaled). K and V are
 * (length, hd) rows; hd is a multiple of 16, at most 128. scores has room for length floats.
 * Inlined into a float32 and a bfloat16 copy, so the element type is no branch in the loops. */
static inline __attribute__((always_inline)) void attend(const float *q, const void *K,
                                                         const void *V, const int bf16,
                                                         int length, int hd, float *out,
                                                         float *scores) {
    const int vectors = hd / 16;
    __m512 query[8];
    for (int v = 0; v < vectors; v++) query[v] = _mm512_loadu_ps(q + 16 * v);
    __m512 tops = _mm512_set1_ps(-INFINITY);
    int j = 0;
    for (; j + 16 <= length; j += 16) {  /* 16 keys at a time: one sum tree for all of them */
        __m512 acc[16];
        for (int t = 0; t < 16; t++) {
            acc[t] = _mm512_setzero_ps();
            for (int v = 0; v < vectors; v++)
                acc[t] = _mm512_fmadd_ps(query[v], load16(K, (size_t)(j + t) * hd + 16 * v, bf16),
                                         acc[t]);
        }
        __m512 block = sum16(acc);
        _mm512_storeu_ps(scores + j, block);
        tops = _mm512_max_ps(tops, block);
    }
    float top = _mm512_reduce_max_ps(tops);
    for (; j < length; j++) {
        __m512 acc = _mm512_setzero_ps();
        for (int v = 0; v < vectors; v++)
            acc = _mm512_fmadd_ps(query[v], load16(K, (size_t)j * hd + 16 * v, bf16), acc);
        scores[j] = _mm512_reduce_add_ps(acc);
        top = fmaxf(top, scores[j]);
    }
    __m512 sums = _mm512_setzero_ps();
    for (j = 0; j + 16 <= length; j += 16) {
        __m512 e = exp_nonpositive(_mm512_sub_ps(_mm512_loadu_ps(scores + j), _mm512_set1_ps(top)));
        _mm512_storeu_ps(scores + j, e);
        sums = _mm512_add_ps(sums, e);
    }
    float sum = _mm512_reduce_add_ps(sums);
    for (; j < length; j++) {
        scores[j] = expf(scores[j] - top);
        sum += scores[j];
    }
    __m512 acc[8];
    for (int v = 0; v < vectors; v++) acc[v] = _mm512_setzero_ps();
    for (j = 0; j < length; j++) {
        __m512 weight = _mm512_set1_ps(scores[j]);
        for (int v = 0; v < vectors; v++)
            acc[v] = _mm512_fmadd_ps(weight, load16(V, (size_t)j * hd + 16 * v, bf16), acc[v]);
    }
    __m512 inverse = _mm512_set1_ps(1.0f / sum);
    for (int v = 0; v < vectors; v++) _mm512_storeu_ps(out + 16 * v, _mm512_mul_ps(acc[v], inverse));
}

static void attend_f32(const float *q, const void *K, const void *V, int length, int hd,
                       float *out, float *scores) {
    attend(q, K, V, 0, length, hd, out, scores);
}

static void attend_bf16(const float *q, const void *K, const void *V, int length, int hd,
                        float *out, float *scores) {
    attend(q, K, V, 1, length, hd, out, scores);
}

/* Every head of every token, split between the threads. Token t's queries start at
 * q + t * q_stride (head h at + h * hd), its output at out + t * heads * hd; its keys/values at
 * element slots[t] * row + h * head of K and V (slots[t]: its cache row). Token t attends over
 * positions[t] + 1 keys, or over length keys when positions is NULL. scores: score_room floats
 * per thread. */
static void attend_rows(const float *q, size_t q_stride, const char *K, const char *V, int bf16,
                        size_t row, size_t head, const int *slots, const int *positions,
                        int length, int tokens, int heads, int hd, float *out, float *scores,
                        int score_room, int threads) {
    const size_t element = bf16 ? 2 : 4;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int task = 0; task < tokens * heads; task++) {
        int t = task / heads, h = task % heads;
        size_t at = ((size_t)slots[t] * row + (size_t)h * head) * element;
        int keys = positions ? positions[t] + 1 : length;
        (bf16 ? attend_bf16 : attend_f32)(q + t * q_stride + (size_t)h * hd, K + at, V + at, keys,
                                          hd, out + ((size_t)t * heads + h) * hd,
                                          scores + (size_t)omp_get_thread_num() * score_room);
    }
}

/* n floats into a float32 or bfloat16 array at element index i; bfloat16 rounded to nearest
 * even, as PyTorch converts (the cache is also written by PyTorch's own layers). */
static void store(char *base, size_t i, const float *from, int n, int bf16) {
    if (!bf16) {
        memcpy(base + i * 4, from, n * sizeof(float));
        return;
    }
    uint16_t *to = (uint16_t *)base + i;
    for (int k = 0; k < n; k++) {
        uint32_t bits;
        memcpy(&bits, from + k, 4);
        if ((bits & 0x7f800000u) == 0x7f800000u && (bits & 0x7fffffu)) {
            to[k] = (uint16_t)((bits >> 16) | 0x40); /* NaN stays NaN */
            continue;
        }
        to[k] = (uint16_t)((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
    }
}

static void add_into(float *x, const float *y, int d) {
    for (int i = 0; i < d; i++) x[i] += y[i];
}

/* x (tokens x d floats): in, each token's embedding plus its position's; out, the hidden
 * states after the last layer (before the final layer norm). Token t belongs to cache row
 * slots[t] (its window) and sits at positions[t]; the step writes its keys/values at that index
 * of that row, all tokens' before any attention, so a token also sees the earlier tokens of its
 * row in the same call. The caller guarantees that each row's keys/values before every position
 * it feeds are in the cache or fed in this call. The table's cache and cross-attention pointers
 * are row 0's; row r's follow at r times a row's size (PyTorch's (rows, heads, slots, head_dim)
 * contiguous tensors). rows: cache rows; cache: slots per head in the self-attention buffers;
 * frames: cross-attention keys per head. Returns 0; -1 for shapes it does not handle (an int8
 * linear's too); -2 when memory runs out. */
int sw_decoder_step(const int64_t *table, int layers, int d, int heads, int ffn, int cache,
                    int frames, int cross_bf16, int cache_bf16, int rows, int tokens,
                    const int *slots, const int *positions, float eps, float scaling, float *x,
                    int threads) {
    const int hd = heads > 0 ? d / heads : 0;
    if (layers < 0 || d < 32 || ffn < 32 || heads < 1 || hd * heads != d || hd % 16 ||
        hd > 128 || d % 32 || ffn % 32 || frames < 1 || threads < 1 || rows < 1 || tokens < 1)
        return -1;
    for (int t = 0; t < tokens; t++)
        if (positions[t] < 0 || positions[t] >= cache || slots[t] < 0 || slots[t] >= rows)
            return -1;
    const int score_room = frames > cache ? frames : cache;
    /* Elements from one row's (or head's) keys/values to the next. */
    const size_t self_row = (size_t)heads * cache * hd, self_head = (size_t)cache * hd;
    const size_t cross_row = (size_t)heads * frames * hd, cross_head = (size_t)frames * hd;
    float *work =
        aligned_alloc(64, ((size_t)tokens * (6 * d + ffn) * sizeof(float) + 63) / 64 * 64);
    float *scores = malloc((size_t)threads * score_room * sizeof(float));
    if (!work || !scores) {
        free(work);
        free(scores);
        return -2;
    }
    float *normed = work, *qkv = normed + (size_t)tokens * d;
    float *mixed = qkv + (size_t)tokens * 3 * d;
    float *out = mixed + (size_t)tokens * d, *inner = out + (size_t)tokens * d;
    int status = 0;
    for (int l = 0; l < layers && status == 0; l++) {
        const int64_t *layer = table + (size_t)l * PER_LAYER;
        char *keys = (char *)(intptr_t)layer[KEYS], *values = (char *)(intptr_t)layer[VALUES];
        const char *cross_keys = (const char *)(intptr_t)layer[CROSS_KEYS];
        const char *cross_values = (const char *)(intptr_t)layer[CROSS_VALUES];

        for (int t = 0; t < tokens; t++)
            layer_norm(x + (size_t)t * d, F32(LN1_W), F32(LN1_B), normed + (size_t)t * d, d, eps);
        LINEAR(normed, I8(QKV_W), F32(QKV_S), F32(QKV_B), qkv, tokens, 3 * d, d, threads);
        for (int t = 0; t < tokens; t++) {
            float *own = qkv + (size_t)t * 3 * d;
            for (int i = 0; i < d; i++) own[i] *= scaling;
            for (int h = 0; h < heads; h++) {
                size_t slot = (size_t)slots[t] * self_row + h * self_head +
                              (size_t)positions[t] * hd;
                store(keys, slot, own + d + h * hd, hd, cache_bf16);
                store(values, slot, own + 2 * d + h * hd, hd, cache_bf16);
            }
        }
        attend_rows(qkv, 3 * d, keys, values, cache_bf16, self_row, self_head, slots, positions,
                    0, tokens, heads, hd, mixed, scores, score_room, threads);
        LINEAR(mixed, I8(SO_W), F32(SO_S), F32(SO_B), out, tokens, d, d, threads);
        add_into(x, out, tokens * d);

        for (int t = 0; t < tokens; t++)
            layer_norm(x + (size_t)t * d, F32(LN2_W), F32(LN2_B), normed + (size_t)t * d, d, eps);
        LINEAR(normed, I8(CQ_W), F32(CQ_S), F32(CQ_B), qkv, tokens, d, d, threads);
        for (size_t i = 0; i < (size_t)tokens * d; i++) qkv[i] *= scaling;
        attend_rows(qkv, d, cross_keys, cross_values, cross_bf16, cross_row, cross_head, slots,
                    NULL, frames, tokens, heads, hd, mixed, scores, score_room, threads);
        LINEAR(mixed, I8(CO_W), F32(CO_S), F32(CO_B), out, tokens, d, d, threads);
        add_into(x, out, tokens * d);

        for (int t = 0; t < tokens; t++)
            layer_norm(x + (size_t)t * d, F32(LN3_W), F32(LN3_B), normed + (size_t)t * d, d, eps);
        LINEAR(normed, I8(FC1_W), F32(FC1_S), F32(FC1_B), inner, tokens, ffn, d, threads);
        for (size_t i = 0; i < (size_t)tokens * ffn; i++)
            inner[i] = 0.5f * inner[i] * (1.0f + erff(inner[i] * 0.70710678118654752f));
        LINEAR(inner, I8(FC2_W), F32(FC2_S), F32(FC2_B), out, tokens, d, ffn, threads);
        add_into(x, out, tokens * d);
    }
    free(work);
    free(scores);
    return status;
}

/* Attention alone, for an int8 main model's decoder in PyTorch (decoding.lean_decoder): its
 * activations are quantized row by row, so a token's attention must not depend on which other
 * tokens or rows share the call. Here each token-head is computed alone, in one fixed order,
 * whatever the call holds (attend_rows). q: tokens x heads x hd floats (token t at
 * t * q_stride); K, V: PyTorch's contiguous (rows, heads, keys, hd) float32 or bfloat16 tensors,
 * row a cache row; out: tokens x heads x hd floats. Token t reads row slots[t] and attends over
 * positions[t] + 1 keys, or over length keys when positions is NULL. Returns 0; -1 for shapes
 * it does not handle; -2 when memory runs out. */
int sw_attend(const float *q, int q_stride, const void *K, const void *V, int bf16, int rows,
              int keys, const int *slots, const int *positions, int length, int tokens,
              int heads, int hd, float *out, int threads) {
    if (hd % 16 || hd < 16 || hd > 128 || heads < 1 || tokens < 1 || rows < 1 || keys < 1 ||
        threads < 1 || q_stride < heads * hd || (!positions && (length < 1 || length > keys)))
        return -1;
    int room = positions ? 0 : length;
    for (int t = 0; t < tokens; t++) {
        if (slots[t] < 0 || slots[t] >= rows) return -1;
        if (positions) {
            if (positions[t] < 0 || positions[t] >= keys) return -1;
            if (positions[t] + 1 > room) room = positions[t] + 1;
        }
    }
    float *scores = malloc((size_t)threads * room * sizeof(float));
    if (!scores) return -2;
    const size_t head = (size_t)keys * hd, row = (size_t)heads * head;
    attend_rows(q, (size_t)q_stride, (const char *)K, (const char *)V, bf16, row, head, slots,
                positions, length, tokens, heads, hd, out, scores, room, threads);
    free(scores);
    return 0;
}
