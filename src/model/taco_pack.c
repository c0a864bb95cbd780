/*
 * taco_pack.c - packed copies of the decoder-step weights for the AVX-512
 * GEMM kernel (float builds only; the gradient tests run unpacked).
 * SPDX-License-Identifier: GPL-3.0-or-later
 */
#include <stdlib.h>

#include "model/model.h"
#include "nn/gemm.h"

enum { N_PACKED = 10 };

int taco_pack(taco_model *m, int with_backward)
{
    if (!m->packed) {
        m->packed = calloc(1, sizeof *m->packed);
        if (!m->packed) return -1;
        m->packed->storage = calloc(N_PACKED, sizeof(nn_packed));
        if (!m->packed->storage) { free(m->packed); m->packed = NULL; return -1; }
    }
    nn_packed *st = m->packed->storage;
    const taco_config *c = &m->cfg;
    const taco_weights *w = &m->w;
    int D = 2 * c->enc_lstm, Ha = c->att_rnn, Hd = c->dec_rnn, ia = c->prenet2 + D, id = Ha + D;
    int fail = 0;
    fail |= nn_pack_wt(&st[0], w->arnn_wih, 3 * Ha, ia, ia);
    fail |= nn_pack_wt(&st[1], w->arnn_whh, 3 * Ha, Ha, Ha);
    fail |= nn_pack_wt(&st[4], w->drnn_wih, 3 * Hd, id, id);
    fail |= nn_pack_wt(&st[5], w->drnn_whh, 3 * Hd, Hd, Hd);
    fail |= nn_pack_wt(&st[8], w->query_w, c->att_dim, Ha, Ha);
    if (with_backward) {
        fail |= nn_pack_b(&st[2], w->arnn_wih, 3 * Ha, ia, ia);
        fail |= nn_pack_b(&st[3], w->arnn_whh, 3 * Ha, Ha, Ha);
        fail |= nn_pack_b(&st[6], w->drnn_wih, 3 * Hd, id, id);
        fail |= nn_pack_b(&st[7], w->drnn_whh, 3 * Hd, Hd, Hd);
        fail |= nn_pack_b(&st[9], w->query_w, c->att_dim, Ha, Ha);
    }
    if (fail) { taco_unpack(m); return -1; }
    taco_packed *p = m->packed;
    for (int i = 0; i < 4; i++) {
        p->arnn[i] = i < 2 || with_backward ? &st[i] : NULL;
        p->drnn[i] = i < 2 || with_backward ? &st[4 + i] : NULL;
    }
    p->query[0] = &st[8];
    p->query[1] = with_backward ? &st[9] : NULL;
    return 0;
}

void taco_unpack(taco_model *m)
{
    if (!m || !m->packed) return;
    nn_packed *st = m->packed->storage;
    for (int i = 0; st && i < N_PACKED; i++) nn_packed_free(&st[i]);
    free(st);
    free(m->packed);
    m->packed = NULL;
}
