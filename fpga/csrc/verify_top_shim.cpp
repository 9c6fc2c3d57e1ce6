// C-ABI wrapper around the Verilator model of fpga/rtl/verify_top.v.
#include <cstdint>

#include "Vverify_top.h"
#include "verilated.h"
#include "wide.h"

namespace {
struct Model {
    VerilatedContext ctx;
    Vverify_top* top;
    Model() : top(new Vverify_top(&ctx)) {}
    ~Model() {
        top->final();
        delete top;
    }
};
Vverify_top* top(void* m) { return static_cast<Model*>(m)->top; }
}  // namespace

extern "C" {
void* rampart_verify_top_new() { return new Model(); }
void rampart_verify_top_free(void* m) { delete static_cast<Model*>(m); }
void rampart_verify_top_set_rst(void* m, uint8_t v) { top(m)->rst = v & 1; }
// rule: 0 strict, 1 zip215, 2 zip215 amended.
void rampart_verify_top_set_req(void* m, uint8_t valid, uint16_t tag, uint16_t len, uint8_t rule) {
    top(m)->req_valid = valid & 1;
    top(m)->req_rule = rule & 3;
    top(m)->req_tag = tag;
    top(m)->req_len = len & 0x1fff;
}
// Word i (0..4) of the 256-bit public key port.
void rampart_verify_top_set_pubkey_word(void* m, uint32_t i, uint64_t v) {
    rampart::set_wide(top(m)->req_pubkey, 256, i, v);
}
// Word i (0..8) of the 512-bit signature port.
void rampart_verify_top_set_sig_word(void* m, uint32_t i, uint64_t v) {
    rampart::set_wide(top(m)->req_sig, 512, i, v);
}
void rampart_verify_top_set_msg(void* m, uint8_t valid, uint64_t data) {
    top(m)->msg_valid = valid & 1;
    top(m)->msg_data = data;
}
void rampart_verify_top_set_resp_ready(void* m, uint8_t v) { top(m)->resp_ready = v & 1; }
uint8_t rampart_verify_top_req_ready(void* m) { return top(m)->req_ready; }
uint8_t rampart_verify_top_msg_ready(void* m) { return top(m)->msg_ready; }
uint8_t rampart_verify_top_resp_valid(void* m) { return top(m)->resp_valid; }
uint16_t rampart_verify_top_resp_tag(void* m) { return top(m)->resp_tag; }
uint8_t rampart_verify_top_resp_code(void* m) { return top(m)->resp_code; }
uint8_t rampart_verify_top_mul_busy(void* m) { return top(m)->mul_busy; }
void rampart_verify_top_eval(void* m) { top(m)->eval(); }
void rampart_verify_top_tick(void* m) {
    Vverify_top* t = top(m);
    t->clk = 0;
    t->eval();
    t->clk = 1;
    t->eval();
}
}  // extern "C"
