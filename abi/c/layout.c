/*
 * Prints the size of every struct and the offset of every field in tickrail.h, plus the ABI
 * constants, one "key value" per line. A test compares the output with the Rust definitions in
 * tickrail-abi, so the header cannot drift from them.
 */
#include <stddef.h>
#include <stdio.h>

#include "tickrail.h"

#define SIZE(t) printf("size.%s %zu\nalign.%s %zu\n", #t, sizeof(t), #t, _Alignof(t))
#define OFF(t, f) printf("offset.%s.%s %zu\n", #t, #f, offsetof(t, f))
#define CONST(c) printf("const.%s %llu\n", #c, (unsigned long long)(c))

int main(void) {
    SIZE(tr_trade);
    OFF(tr_trade, px); OFF(tr_trade, qty); OFF(tr_trade, trade_id); OFF(tr_trade, reserved);
    SIZE(tr_quote);
    OFF(tr_quote, bid_px); OFF(tr_quote, bid_qty); OFF(tr_quote, ask_px); OFF(tr_quote, ask_qty);
    OFF(tr_quote, update_id);
    SIZE(tr_kline);
    OFF(tr_kline, open); OFF(tr_kline, high); OFF(tr_kline, low); OFF(tr_kline, close);
    OFF(tr_kline, volume);
    SIZE(tr_tick_data);
    SIZE(tr_tick);
    OFF(tr_tick, ts_exch_ns); OFF(tr_tick, ts_recv_ns); OFF(tr_tick, symbol); OFF(tr_tick, kind);
    OFF(tr_tick, side); OFF(tr_tick, flags); OFF(tr_tick, data);
    SIZE(tr_f64_view);
    OFF(tr_f64_view, ptr); OFF(tr_f64_view, len);
    SIZE(tr_tick_input);
    OFF(tr_tick_input, seq); OFF(tr_tick_input, tick); OFF(tr_tick_input, features);
    OFF(tr_tick_input, model);
    SIZE(tr_order_intent);
    OFF(tr_order_intent, px); OFF(tr_order_intent, qty); OFF(tr_order_intent, client_tag);
    OFF(tr_order_intent, size_hint); OFF(tr_order_intent, symbol); OFF(tr_order_intent, side);
    OFF(tr_order_intent, order_type); OFF(tr_order_intent, reserved0); OFF(tr_order_intent, reserved1);
    SIZE(tr_order_buf);
    OFF(tr_order_buf, ptr); OFF(tr_order_buf, cap); OFF(tr_order_buf, len);
    SIZE(tr_fill);
    OFF(tr_fill, px); OFF(tr_fill, qty); OFF(tr_fill, fee); OFF(tr_fill, order_tag);
    OFF(tr_fill, ts_ns); OFF(tr_fill, symbol); OFF(tr_fill, side); OFF(tr_fill, liquidity);
    OFF(tr_fill, reserved);
    SIZE(tr_plugin_vtable);
    OFF(tr_plugin_vtable, magic); OFF(tr_plugin_vtable, abi_major); OFF(tr_plugin_vtable, abi_minor);
    OFF(tr_plugin_vtable, struct_size); OFF(tr_plugin_vtable, tick_size);
    OFF(tr_plugin_vtable, intent_size); OFF(tr_plugin_vtable, fill_size);
    OFF(tr_plugin_vtable, reserved); OFF(tr_plugin_vtable, name); OFF(tr_plugin_vtable, version);
    OFF(tr_plugin_vtable, create); OFF(tr_plugin_vtable, on_tick); OFF(tr_plugin_vtable, on_fill);
    OFF(tr_plugin_vtable, snapshot); OFF(tr_plugin_vtable, restore); OFF(tr_plugin_vtable, destroy);
    OFF(tr_plugin_vtable, last_error);
    CONST(TR_ABI_MAGIC); CONST(TR_ABI_MAJOR); CONST(TR_ABI_MINOR); CONST(TR_VTABLE_BASE_SIZE);
    CONST(TR_FIXED_SCALE);
    CONST(TR_OK); CONST(TR_ERROR); CONST(TR_PANICKED); CONST(TR_BUFFER_FULL); CONST(TR_BAD_STATE);
    CONST(TR_BAD_SNAPSHOT); CONST(TR_BAD_CONFIG); CONST(TR_BAD_OUTPUT); CONST(TR_NULL_ARGUMENT);
    CONST(TR_KIND_TRADE); CONST(TR_KIND_QUOTE); CONST(TR_KIND_DEPTH); CONST(TR_KIND_KLINE);
    CONST(TR_SIDE_NONE); CONST(TR_SIDE_BUY); CONST(TR_SIDE_SELL);
    CONST(TR_ORDER_MARKET); CONST(TR_ORDER_LIMIT);
    CONST(TR_LIQUIDITY_UNKNOWN); CONST(TR_LIQUIDITY_MAKER); CONST(TR_LIQUIDITY_TAKER);
    CONST(TR_TICK_FLAG_GAP_BEFORE); CONST(TR_TICK_FLAG_KLINE_CLOSED); CONST(TR_TICK_FLAG_BOOK_SYNCED);
    printf("entry %s\n", TR_ENTRY_SYMBOL);
    return 0;
}
