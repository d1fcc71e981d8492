/*
 * c_counting — the counting test strategy in plain C against tickrail.h.
 *
 * Same semantics and snapshot format as the Rust `tickrail-plugin-counting` crate, so a hot swap
 * hands state over between the Rust and the C builds in either direction: it counts ticks, sums
 * their sequence numbers, chains them into an FNV-1a-style hash, and emits one market intent per
 * tick with client_tag = seq, qty = ticks so far and size_hint = 3 (this build's variant id).
 *
 * Configuration: "key=value" items separated by newlines, commas or semicolons: fail_at=SEQ
 * (return TR_ERROR on that tick), emit=0|1. panic_at is refused: C has no panics.
 *
 * Snapshot (48 bytes, little-endian): "TRCOUNT1", ticks, seq_sum, seq_hash, next_seq,
 * out_of_order (uint64 each).
 *
 * Build: cc -std=c11 -O2 -fPIC -shared -I abi/include plugins/c_counting/c_counting.c -o libc_counting.so
 * The TRC_* macros below exist so tests can build deliberately broken variants (another ABI
 * major, a truncated vtable, a wrong magic, no entry symbol) and, with -DTRC_HANG_CREATE, one
 * whose create() never returns: it takes a config key hang_until=PATH and sleeps until that file
 * exists (forever without the key), to show that a plugin stuck while loading is contained.
 */
#ifdef TRC_HANG_CREATE
#define _POSIX_C_SOURCE 200809L
#include <time.h>
#include <unistd.h>
#endif
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tickrail.h"

#ifndef TRC_MAGIC
#define TRC_MAGIC TR_ABI_MAGIC
#endif
#ifndef TRC_ABI_MAJOR
#define TRC_ABI_MAJOR TR_ABI_MAJOR
#endif
#ifndef TRC_STRUCT_SIZE
#define TRC_STRUCT_SIZE sizeof(tr_plugin_vtable)
#endif
#ifndef TRC_ENTRY
#define TRC_ENTRY tickrail_plugin_v1
#endif
#ifndef TRC_VERSION
#define TRC_VERSION "c-1.0.0"
#endif

#define VARIANT 3.0
#define SNAPSHOT_LEN 48
#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x00000100000001b3ULL

typedef struct counting {
    uint64_t ticks;
    uint64_t seq_sum;
    uint64_t seq_hash;
    uint64_t next_seq;
    uint64_t out_of_order;
    int has_fail_at;
    uint64_t fail_at;
    int emit;
#ifdef TRC_HANG_CREATE
    char hang_until[256];
#endif
} counting;

static _Thread_local char last_err[256];
static _Thread_local size_t last_err_len;

static tr_status fail(tr_status st, const char *msg) {
    size_t n = strlen(msg);
    if (n > sizeof last_err) n = sizeof last_err;
    memcpy(last_err, msg, n);
    last_err_len = n;
    return st;
}

static int parse_u64(const char *s, size_t n, uint64_t *out) {
    uint64_t v = 0;
    if (n == 0) return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) return 0;
        v = v * 10 + d;
    }
    *out = v;
    return 1;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

static tr_status parse_config(const uint8_t *cfg, size_t len, counting *c) {
    if (len > 0 && cfg == NULL) return fail(TR_NULL_ARGUMENT, "counting config: null with a length");
    c->has_fail_at = 0;
    c->fail_at = 0;
    c->emit = 1;
    size_t i = 0;
    while (i < len) {
        size_t start = i;
        while (i < len && cfg[i] != '\n' && cfg[i] != ',' && cfg[i] != ';') i++;
        const char *item = (const char *)cfg + start;
        size_t n = i - start;
        i++; /* skip the separator */
        while (n > 0 && is_space(item[0])) { item++; n--; }
        while (n > 0 && is_space(item[n - 1])) n--;
        if (n == 0) continue;
        const char *eq = memchr(item, '=', n);
        if (eq == NULL) return fail(TR_BAD_CONFIG, "counting config: an item is not key=value");
        size_t klen = (size_t)(eq - item);
        const char *v = eq + 1;
        size_t vlen = n - klen - 1;
        while (klen > 0 && is_space(item[klen - 1])) klen--;
        while (vlen > 0 && is_space(v[0])) { v++; vlen--; }
        uint64_t num;
        if (klen == 7 && memcmp(item, "fail_at", 7) == 0) {
            if (!parse_u64(v, vlen, &num))
                return fail(TR_BAD_CONFIG, "counting config: fail_at is not an unsigned integer");
            c->has_fail_at = 1;
            c->fail_at = num;
        } else if (klen == 4 && memcmp(item, "emit", 4) == 0) {
            if (!parse_u64(v, vlen, &num))
                return fail(TR_BAD_CONFIG, "counting config: emit is not an unsigned integer");
            c->emit = num != 0;
#ifdef TRC_HANG_CREATE
        } else if (klen == 10 && memcmp(item, "hang_until", 10) == 0) {
            if (vlen == 0 || vlen >= sizeof c->hang_until)
                return fail(TR_BAD_CONFIG, "counting config: hang_until is empty or too long");
            memcpy(c->hang_until, v, vlen);
            c->hang_until[vlen] = 0;
#endif
        } else if (klen == 8 && memcmp(item, "panic_at", 8) == 0) {
            return fail(TR_BAD_CONFIG, "counting config: panic_at is not supported by the C build");
        } else {
            return fail(TR_BAD_CONFIG, "counting config: unknown key (known: fail_at, emit)");
        }
    }
    return TR_OK;
}

static tr_status c_create(const uint8_t *config, size_t config_len, void **out_state) {
    if (out_state == NULL) return fail(TR_NULL_ARGUMENT, "create: out_state is null");
    counting *c = calloc(1, sizeof *c);
    if (c == NULL) return fail(TR_ERROR, "create: out of memory");
    tr_status st = parse_config(config, config_len, c);
    if (st != TR_OK) {
        free(c);
        return st;
    }
    c->seq_hash = FNV_OFFSET;
#ifdef TRC_HANG_CREATE
    /* Stuck in create: until the release file exists, or forever. */
    const struct timespec nap = {0, 5 * 1000 * 1000};
    while (c->hang_until[0] == 0 || access(c->hang_until, F_OK) != 0) nanosleep(&nap, NULL);
#endif
    *out_state = c;
    return TR_OK;
}

static tr_status c_on_tick(void *state, const tr_tick_input *input, tr_order_buf *out) {
    counting *c = state;
    if (c == NULL) return fail(TR_BAD_STATE, "on_tick: state is null");
    if (input == NULL || input->tick == NULL || out == NULL)
        return fail(TR_NULL_ARGUMENT, "on_tick: input, input->tick or out is null");
    const uint64_t seq = input->seq;
    const tr_tick *tick = input->tick;
    if (c->has_fail_at && c->fail_at == seq) return fail(TR_ERROR, "counting: fail_at reached");
    if (c->ticks > 0 && seq != c->next_seq) c->out_of_order++;
    c->ticks++;
    c->seq_sum += seq;
    c->seq_hash = (c->seq_hash ^ seq) * FNV_PRIME;
    c->next_seq = seq + 1;
    if (c->emit) {
        if (out->len >= out->cap) return fail(TR_BUFFER_FULL, "order buffer full");
        tr_order_intent *o = &out->ptr[out->len++];
        memset(o, 0, sizeof *o);
        o->qty = (int64_t)c->ticks;
        o->client_tag = seq;
        o->size_hint = VARIANT;
        o->symbol = tick->symbol;
        o->side = TR_SIDE_BUY;
        o->order_type = TR_ORDER_MARKET;
    }
    return TR_OK;
}

static tr_status c_on_fill(void *state, const tr_fill *fill) {
    if (state == NULL) return fail(TR_BAD_STATE, "on_fill: state is null");
    if (fill == NULL) return fail(TR_NULL_ARGUMENT, "on_fill: fill is null");
    return TR_OK;
}

static void put_u64(uint8_t *b, uint64_t v) {
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_u64(const uint8_t *b) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)b[i] << (8 * i);
    return v;
}

static tr_status c_snapshot(void *state, uint8_t *buf, size_t cap, size_t *len) {
    const counting *c = state;
    if (c == NULL) return fail(TR_BAD_STATE, "snapshot: state is null");
    if (len == NULL || (buf == NULL && cap > 0)) return fail(TR_NULL_ARGUMENT, "snapshot: buf or len is null");
    *len = SNAPSHOT_LEN;
    if (cap < SNAPSHOT_LEN) return TR_BUFFER_FULL;
    memcpy(buf, "TRCOUNT1", 8);
    put_u64(buf + 8, c->ticks);
    put_u64(buf + 16, c->seq_sum);
    put_u64(buf + 24, c->seq_hash);
    put_u64(buf + 32, c->next_seq);
    put_u64(buf + 40, c->out_of_order);
    return TR_OK;
}

static tr_status c_restore(const uint8_t *bytes, size_t len, const uint8_t *config, size_t config_len,
                           void **out_state) {
    if (out_state == NULL) return fail(TR_NULL_ARGUMENT, "restore: out_state is null");
    if (len != SNAPSHOT_LEN || bytes == NULL || memcmp(bytes, "TRCOUNT1", 8) != 0)
        return fail(TR_BAD_SNAPSHOT, "counting snapshot: expected 48 bytes starting with \"TRCOUNT1\"");
    counting *c = calloc(1, sizeof *c);
    if (c == NULL) return fail(TR_ERROR, "restore: out of memory");
    tr_status st = parse_config(config, config_len, c);
    if (st != TR_OK) {
        free(c);
        return st;
    }
    c->ticks = get_u64(bytes + 8);
    c->seq_sum = get_u64(bytes + 16);
    c->seq_hash = get_u64(bytes + 24);
    c->next_seq = get_u64(bytes + 32);
    c->out_of_order = get_u64(bytes + 40);
    *out_state = c;
    return TR_OK;
}

static void c_destroy(void *state) { free(state); }

static tr_status c_last_error(uint8_t *buf, size_t cap, size_t *len) {
    if (len == NULL || (buf == NULL && cap > 0)) return TR_NULL_ARGUMENT;
    size_t n = last_err_len < cap ? last_err_len : cap;
    if (n > 0) memcpy(buf, last_err, n);
    *len = n;
    return TR_OK;
}

static const tr_plugin_vtable VTABLE = {
    .magic = TRC_MAGIC,
    .abi_major = TRC_ABI_MAJOR,
    .abi_minor = TR_ABI_MINOR,
    .struct_size = TRC_STRUCT_SIZE,
    .tick_size = sizeof(tr_tick),
    .intent_size = sizeof(tr_order_intent),
    .fill_size = sizeof(tr_fill),
    .reserved = 0,
    .name = "counting",
    .version = TRC_VERSION,
    .create = c_create,
    .on_tick = c_on_tick,
    .on_fill = c_on_fill,
    .snapshot = c_snapshot,
    .restore = c_restore,
    .destroy = c_destroy,
    .last_error = c_last_error,
};

__attribute__((visibility("default"))) const tr_plugin_vtable *TRC_ENTRY(void) { return &VTABLE; }
