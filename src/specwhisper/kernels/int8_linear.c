/* y = x W^T * scale + bias for a few rows of float32 x and int8 W (one scale per output
 * channel): the draft's linear layers, one token (or a few) at a time.
 *
 * Each row of x is rounded to int16 with its own scale, and the products are exact integer
 * dot products (AVX512-VNNI vpdpwssd: 32 int16 x int16 products per instruction, int32 sums).
 * The int16 range is chosen per call so that no sum can overflow int32 (|w| <= 127), which
 * keeps about 15 bits of each activation: far closer to float32 than PyTorch's dynamic int8,
 * whose 7-bit activations cost a draft most of its disagreement with the main model.
 *
 * Built on first use by specwhisper.kernels (cc -fopenmp -mavx512vnni); callers fall back to
 * PyTorch kernels where it cannot be built or the processor lacks AVX512-VNNI.
 */
#include <immintrin.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct {
    const int16_t *xq;  /* M x K */
    const float *xs;    /* M */
    const int8_t *w;    /* N x K */
    const float *scale; /* N */
    const float *bias;  /* N or NULL */
    float *y;           /* M x N */
    int M, N, K, n0, n1;
} job_t;

/* ROWS output channels x MC activation rows per pass, with constant trip counts so that the
 * ROWS * MC accumulators stay in registers (enough independent sums to hide vpdpwssd's latency). */
#define DEFINE_PASS(ROWS, MC)                                                                    \
    static inline __attribute__((always_inline)) void pass_##ROWS##_##MC(const job_t *j, int m0, \
                                                                         int n) {                \
        const int K = j->K;                                                                      \
        __m512i acc[ROWS][MC];                                                                   \
        for (int r = 0; r < ROWS; r++)                                                           \
            for (int m = 0; m < MC; m++) acc[r][m] = _mm512_setzero_si512();                     \
        /* The next pass's weights, fetched while this one computes (measured: a 1536 x 512  \
         * layer not in cache went from 110 to 42 us). */                                     \
        const char *ahead = (const char *)(j->w + (size_t)(n + ROWS) * K);                       \
        const int ahead_step = ROWS * 32;                                                        \
        for (int k = 0; k < K; k += 32) {                                                        \
            for (int b = 0; b < ahead_step; b += 64)                                             \
                _mm_prefetch(ahead + (size_t)k * ROWS + b, _MM_HINT_T0);                        \
            __m512i xv[MC];                                                                      \
            for (int m = 0; m < MC; m++)                                                         \
                xv[m] = _mm512_loadu_si512((const void *)(j->xq + (size_t)(m0 + m) * K + k));   \
            for (int r = 0; r < ROWS; r++) {                                                     \
                __m512i wv = _mm512_cvtepi8_epi16(                                               \
                    _mm256_loadu_si256((const __m256i *)(j->w + (size_t)(n + r) * K + k)));      \
                for (int m = 0; m < MC; m++) acc[r][m] = _mm512_dpwssd_epi32(acc[r][m], wv, xv[m]); \
            }                                                                                    \
        }                                                                                        \
        for (int r = 0; r < ROWS; r++)                                                           \
            for (int m = 0; m < MC; m++) {                                                       \
                float v = (float)_mm512_reduce_add_epi32(acc[r][m]) * j->xs[m0 + m] *            \
                          j->scale[n + r];                                                       \
                if (j->bias) v += j->bias[n + r];                                                \
                j->y[(size_t)(m0 + m) * j->N + n + r] = v;                                       \
            }                                                                                    \
    }

DEFINE_PASS(8, 1)
DEFINE_PASS(4, 2)
DEFINE_PASS(2, 4)
DEFINE_PASS(1, 1)

#define ROWS 8 /* n0 and the split between threads are multiples of this */

/* Rows m0 .. m0 + mc - 1 (mc <= 4) of y, channels n0 .. n1 - 1. */
static void run_block(const job_t *j, int m0, int mc) {
    int n = j->n0;
    if (mc == 1) {
        for (; n + 8 <= j->n1; n += 8) pass_8_1(j, m0, n);
    } else if (mc == 2) {
        for (; n + 4 <= j->n1; n += 4) pass_4_2(j, m0, n);
    } else if (mc == 4) {
        for (; n + 2 <= j->n1; n += 2) pass_2_4(j, m0, n);
    }
    for (; n < j->n1; n++)
        for (int m = 0; m < mc; m++) pass_1_1(j, m0 + m, n);
}

static void run(const job_t *j) {
    int m0 = 0;
    for (; m0 + 4 <= j->M; m0 += 4) run_block(j, m0, 4);
    if (j->M - m0 >= 2) { run_block(j, m0, 2); m0 += 2; }
    if (j->M - m0 == 1) run_block(j, m0, 1);
}

/* Returns 0; -1 when K is not a multiple of 32 (or M < 1), -2 when memory runs out. */
int sw_int8_linear(const float *x, const int8_t *w, const float *scale, const float *bias,
                   float *y, int M, int N, int K, int threads) {
    if (K % 32 != 0 || M < 1) return -1;
    int16_t *xq = aligned_alloc(64, ((size_t)M * K * sizeof(int16_t) + 63) / 64 * 64);
    float *xs = malloc((size_t)M * sizeof(float));
    if (!xq || !xs) { free(xq); free(xs); return -2; }
    /* |sum| <= 127 * qmax * K must stay below 2^31. */
    double bound = 2147483647.0 / (127.0 * (double)K);
    float qmax = bound < 32767.0 ? (float)floor(bound) : 32767.0f;
    for (int m = 0; m < M; m++) {
        const float *row = x + (size_t)m * K;
        float amax = 0.0f;
        for (int k = 0; k < K; k++) amax = fmaxf(amax, fabsf(row[k]));
        float s = amax > 0.0f ? amax / qmax : 1.0f;
        float inv = 1.0f / s;
        for (int k = 0; k < K; k++) xq[(size_t)m * K + k] = (int16_t)lrintf(row[k] * inv);
        xs[m] = s;
    }
    /* Two halves of the channels on two threads. OpenMP here is PyTorch's own runtime (the
     * library loaded with torch; the kernel links it by name), so the halves run on the
     * threads PyTorch's operators use, which are awake between the ~40 calls of a step:
     * no thread of our own competing with them for the cores. */
    int parts = threads > 1 && N >= 2 * ROWS ? 2 : 1;
    int split = parts == 2 ? (N / 2 + ROWS - 1) / ROWS * ROWS : N;
    job_t jobs[2] = {
        {xq, xs, w, scale, bias, y, M, N, K, 0, split},
        {xq, xs, w, scale, bias, y, M, N, K, split, N},
    };
#pragma omp parallel num_threads(parts)
    {
        /* OpenMP may grant fewer threads than asked (OMP_THREAD_LIMIT, nesting): then the
         * threads it gave share both halves. */
        for (int part = omp_get_thread_num(); part < parts; part += omp_get_num_threads())
            run(&jobs[part]);
    }
    free(xq);
    free(xs);
    return 0;
}
