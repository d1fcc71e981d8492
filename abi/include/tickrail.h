/*
 * tickrail.h — the C ABI between the tickrail engine and its strategy plugins, version 2.0.
 *
 * A plugin is a shared library exporting one symbol:
 *
 *     const tr_plugin_vtable *tickrail_plugin_v1(void);
 *
 * returning a pointer to a static, immutable vtable. The host reads `magic`, `abi_major`,
 * `abi_minor` and `struct_size` first and calls nothing else unless they match: a different major
 * is refused; any minor of major 2 is accepted (minors only append vtable entries, which a host
 * uses when `struct_size` covers them); `struct_size` must be at least TR_VTABLE_BASE_SIZE;
 * `tick_size`, `intent_size` and `fill_size` must equal this header's sizeofs.
 *
 * Ownership: every pointer the host passes is borrowed for that call only. The host owns the
 * order buffer and the snapshot buffer; the plugin owns its state (allocated in create/restore,
 * freed in destroy, which the host calls exactly once per state). A state may be used from
 * different threads over its life, never from two at once. Functions must not block; on_tick must
 * not allocate or make system calls.
 *
 * Prices and quantities are fixed-point int64 with 8 decimals (TR_FIXED_SCALE).
 *
 * This file is written by hand; a test compiles it and compares every size, field offset and
 * constant with the Rust definitions in tickrail-abi, so the two cannot drift apart.
 */
#ifndef TICKRAIL_H
#define TICKRAIL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TR_ABI_MAGIC 0x4C4941524B434954ULL /* "TICKRAIL" as little-endian bytes */
#define TR_ABI_MAJOR 2
#define TR_ABI_MINOR 0
#define TR_ENTRY_SYMBOL "tickrail_plugin_v1"
#define TR_FIXED_SCALE 100000000LL

/* Status codes (uint32_t). */
typedef uint32_t tr_status;
#define TR_OK 0u
#define TR_ERROR 1u
#define TR_PANICKED 2u
#define TR_BUFFER_FULL 3u
#define TR_BAD_STATE 4u
#define TR_BAD_SNAPSHOT 5u
#define TR_BAD_CONFIG 6u
#define TR_BAD_OUTPUT 7u
#define TR_NULL_ARGUMENT 8u

/* tr_tick.kind */
#define TR_KIND_TRADE 1
#define TR_KIND_QUOTE 2
#define TR_KIND_DEPTH 3
#define TR_KIND_KLINE 4

/* tr_tick.side, tr_order_intent.side, tr_fill.side */
#define TR_SIDE_NONE 0
#define TR_SIDE_BUY 1
#define TR_SIDE_SELL 2

/* tr_order_intent.order_type */
#define TR_ORDER_MARKET 1
#define TR_ORDER_LIMIT 2

/* tr_fill.liquidity */
#define TR_LIQUIDITY_UNKNOWN 0
#define TR_LIQUIDITY_MAKER 1
#define TR_LIQUIDITY_TAKER 2

/* tr_tick.flags */
#define TR_TICK_FLAG_GAP_BEFORE (1u << 0)
#define TR_TICK_FLAG_KLINE_CLOSED (1u << 1)
#define TR_TICK_FLAG_BOOK_SYNCED (1u << 2)

typedef struct tr_trade {
    int64_t px;
    int64_t qty;
    uint64_t trade_id;
    uint64_t reserved[2];
} tr_trade;

typedef struct tr_quote {
    int64_t bid_px;
    int64_t bid_qty;
    int64_t ask_px;
    int64_t ask_qty;
    uint64_t update_id;
} tr_quote;

typedef struct tr_kline {
    int64_t open;
    int64_t high;
    int64_t low;
    int64_t close;
    int64_t volume;
} tr_kline;

typedef union tr_tick_data {
    tr_trade trade; /* kind == TR_KIND_TRADE */
    tr_quote quote; /* kind == TR_KIND_QUOTE or TR_KIND_DEPTH */
    tr_kline kline; /* kind == TR_KIND_KLINE */
    int64_t words[5];
} tr_tick_data;

/* One market event: exactly one 64-byte cache line. */
typedef struct tr_tick {
    int64_t ts_exch_ns; /* exchange time, ns since the Unix epoch */
    int64_t ts_recv_ns; /* local receive time, engine clock ns */
    uint16_t symbol;    /* index into the engine's symbol table */
    uint8_t kind;       /* TR_KIND_* */
    uint8_t side;       /* TR_SIDE_* (trade aggressor) */
    uint32_t flags;     /* TR_TICK_FLAG_* */
    tr_tick_data data;
} __attribute__((aligned(64))) tr_tick;

/* A borrowed run of doubles (features, model output). ptr is never NULL: with len == 0 it is a
 * dangling pointer aligned for double, which must not be read. */
typedef struct tr_f64_view {
    const double *ptr;
    size_t len;
} tr_f64_view;

typedef struct tr_order_intent {
    int64_t px;         /* limit price, fixed-point; 0 for market */
    int64_t qty;        /* fixed-point, > 0 */
    uint64_t client_tag;/* echoed in fills */
    double size_hint;   /* size hint / confidence, informational */
    uint16_t symbol;
    uint8_t side;       /* TR_SIDE_BUY or TR_SIDE_SELL */
    uint8_t order_type; /* TR_ORDER_* */
    uint32_t reserved0;
    uint64_t reserved1;
} tr_order_intent;

/* The inputs of one on_tick call, borrowed for the call. seq is the engine's tick sequence number:
 * strictly increasing, no gaps, across hot swaps. tick is never null. */
typedef struct tr_tick_input {
    uint64_t seq;
    const tr_tick *tick;
    tr_f64_view features; /* the configured feature vector (may be empty) */
    tr_f64_view model;    /* the model's outputs (may be empty) */
} tr_tick_input;

/* Host-owned output of on_tick: append at ptr[len], ++len; return TR_BUFFER_FULL at len == cap. */
typedef struct tr_order_buf {
    tr_order_intent *ptr;
    uint32_t cap;
    uint32_t len;
} tr_order_buf;

typedef struct tr_fill {
    int64_t px;
    int64_t qty;
    int64_t fee;        /* quote asset, fixed-point; negative = rebate */
    uint64_t order_tag; /* client_tag of the intent */
    int64_t ts_ns;
    uint16_t symbol;
    uint8_t side;
    uint8_t liquidity;  /* TR_LIQUIDITY_* */
    uint32_t reserved;
} tr_fill;

typedef tr_status (*tr_create_fn)(const uint8_t *config, size_t config_len, void **out_state);
typedef tr_status (*tr_on_tick_fn)(void *state, const tr_tick_input *input, tr_order_buf *out);
typedef tr_status (*tr_on_fill_fn)(void *state, const tr_fill *fill);
/* On TR_BUFFER_FULL, *len is the size needed and nothing else was written. */
typedef tr_status (*tr_snapshot_fn)(void *state, uint8_t *buf, size_t cap, size_t *len);
typedef tr_status (*tr_restore_fn)(const uint8_t *bytes, size_t len, const uint8_t *config,
                                   size_t config_len, void **out_state);
typedef void (*tr_destroy_fn)(void *state);
/* The calling thread's last error message (UTF-8, no NUL), truncated to cap; *len = bytes copied. */
typedef tr_status (*tr_last_error_fn)(uint8_t *buf, size_t cap, size_t *len);

typedef struct tr_plugin_vtable {
    uint64_t magic;       /* TR_ABI_MAGIC */
    uint16_t abi_major;   /* TR_ABI_MAJOR */
    uint16_t abi_minor;   /* TR_ABI_MINOR */
    uint32_t struct_size; /* sizeof(tr_plugin_vtable) */
    uint32_t tick_size;   /* sizeof(tr_tick) */
    uint32_t intent_size; /* sizeof(tr_order_intent) */
    uint32_t fill_size;   /* sizeof(tr_fill) */
    uint32_t reserved;
    const char *name;     /* static, NUL-terminated */
    const char *version;  /* static, NUL-terminated */
    tr_create_fn create;
    tr_on_tick_fn on_tick;
    tr_on_fill_fn on_fill;
    tr_snapshot_fn snapshot;
    tr_restore_fn restore;
    tr_destroy_fn destroy;
    tr_last_error_fn last_error;
} tr_plugin_vtable;

#define TR_VTABLE_BASE_SIZE 104u

typedef const tr_plugin_vtable *(*tr_entry_fn)(void);

#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(sizeof(tr_tick) == 64, "tr_tick is one cache line");
_Static_assert(sizeof(tr_order_intent) == 48, "tr_order_intent is 48 bytes");
_Static_assert(sizeof(tr_fill) == 48, "tr_fill is 48 bytes");
_Static_assert(sizeof(tr_tick_input) == 48, "tr_tick_input is 48 bytes");
_Static_assert(sizeof(tr_plugin_vtable) == TR_VTABLE_BASE_SIZE, "vtable size of ABI 2.0");
#endif

#ifdef __cplusplus
}
#endif

#endif /* TICKRAIL_H */
