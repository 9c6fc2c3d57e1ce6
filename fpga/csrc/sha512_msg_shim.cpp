// C-ABI wrapper around the Verilator model of fpga/rtl/sha512_msg.v.
#include <cstdint>

#include "Vsha512_msg.h"
#include "verilated.h"
#include "wide.h"

namespace {
struct Model {
    VerilatedContext ctx;
    Vsha512_msg* top;
    Model() : top(new Vsha512_msg(&ctx)) {}
    ~Model() {
        top->final();
        delete top;
    }
};
Vsha512_msg* top(void* m) { return static_cast<Model*>(m)->top; }
}  // namespace

extern "C" {
void* rampart_sha512_msg_new() { return new Model(); }
void rampart_sha512_msg_free(void* m) { delete static_cast<Model*>(m); }
void rampart_sha512_msg_set_rst(void* m, uint8_t v) { top(m)->rst = v & 1; }
void rampart_sha512_msg_set_start(void* m, uint8_t v) { top(m)->start = v & 1; }
// Word i (0..8) of the 512-bit prefix port, least significant first.
void rampart_sha512_msg_set_prefix_word(void* m, uint32_t i, uint64_t v) {
    rampart::set_wide(top(m)->prefix, 512, i, v);
}
void rampart_sha512_msg_set_len(void* m, uint16_t v) { top(m)->len = v & 0x1fff; }
void rampart_sha512_msg_set_msg(void* m, uint8_t valid, uint64_t data) {
    top(m)->msg_valid = valid & 1;
    top(m)->msg_data = data;
}
uint8_t rampart_sha512_msg_msg_ready(void* m) { return top(m)->msg_ready; }
uint8_t rampart_sha512_msg_busy(void* m) { return top(m)->busy; }
uint8_t rampart_sha512_msg_done(void* m) { return top(m)->done; }
// Word i (0..8) of the 512-bit digest port, least significant first.
uint64_t rampart_sha512_msg_digest_word(void* m, uint32_t i) {
    return rampart::get_wide(top(m)->digest, i);
}
void rampart_sha512_msg_eval(void* m) { top(m)->eval(); }
void rampart_sha512_msg_tick(void* m) {
    Vsha512_msg* t = top(m);
    t->clk = 0;
    t->eval();
    t->clk = 1;
    t->eval();
}
}  // extern "C"
