// Streaming ed25519 verifier (strict rule): front end + verify engine.
//
// Requests: a header beat (req_tag, req_pubkey = A's 32 bytes, req_sig =
// R || S's 64 bytes, byte i of each at [8i+7:8i], req_len = message bytes,
// 0..4096, req_rule = 0 strict, 1 zip215, 2 zip215 amended) under
// req_valid/req_ready, then ceil(req_len/8) message words on
// msg_data under msg_valid/msg_ready (byte j of a word at [8j+7:8j]).
//
// Responses: resp_tag and resp_code (0 = pass; 1 public key does not
// decompress (amended: or is not reduced), 2 public key of small order, 3
// S >= L, 4 equation / R mismatch, 5 R of small order, 6 R does not
// decompress (cofactored rules; amended: or is not reduced)) under resp_valid/resp_ready. Up to 16
// requests are in flight; they complete in whatever order their contexts
// finish, so callers match responses by tag.
//
// The front end takes one request at a time: SHA-512(R || A || M) with
// padding (sha512_msg), the digest mod L (scalar_reduce), S < L, y of A and
// R reduced mod p; then it loads the job into a free engine context, once
// fewer than 16 requests are outstanding (so the 16-entry response FIFO
// never overflows).
//
// Reset is synchronous and active high.

module verify_top (
    input  wire         clk,
    input  wire         rst,
    input  wire         req_valid,
    output wire         req_ready,
    input  wire [15:0]  req_tag,
    input  wire [255:0] req_pubkey,
    input  wire [511:0] req_sig,
    input  wire [12:0]  req_len,
    input  wire [1:0]   req_rule,
    input  wire         msg_valid,
    output wire         msg_ready,
    input  wire [63:0]  msg_data,
    output wire         resp_valid,
    input  wire         resp_ready,
    output wire [15:0]  resp_tag,
    output wire [2:0]   resp_code,
    output wire         mul_busy
);

    localparam [254:0] P = {250'h3ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff, 5'b01101};
    localparam [2:0] F_IDLE = 3'd0, F_HASH = 3'd1, F_RED0 = 3'd2, F_RED = 3'd3, F_LOAD = 3'd4;

    reg [2:0]   fstate;
    reg [15:0]  tag_q;
    reg [255:0] pk_q;
    reg [511:0] sig_q;
    reg [1:0]   rule_q;

    // ---------------- hash and reduction ----------------
    wire         sha_busy, sha_done;
    wire [511:0] digest;
    sha512_msg sha (
        .clk       (clk),
        .rst       (rst),
        .start     (fstate == F_IDLE && req_valid),
        .prefix    ({req_pubkey, req_sig[255:0]}),
        .len       (req_len),
        .msg_valid (msg_valid),
        .msg_ready (msg_ready),
        .msg_data  (msg_data),
        .busy      (sha_busy),
        .done      (sha_done),
        .digest    (digest)
    );

    // The digest as a little-endian integer: digest byte i has weight 256^i.
    reg [511:0] digest_le;
    integer bi;
    always @(*) begin
        for (bi = 0; bi < 64; bi = bi + 1)
            digest_le[8*bi +: 8] = digest[511 - 8*bi -: 8];
    end

    wire         red_busy, red_done, s_ok;
    wire [252:0] k;
    scalar_reduce red (
        .clk   (clk),
        .rst   (rst),
        .start (fstate == F_RED0),
        .x     (digest_le),
        .busy  (red_busy),
        .done  (red_done),
        .r     (k),
        .s     (sig_q[511:256]),
        .s_ok  (s_ok)
    );

    // ---------------- y coordinates ----------------
    wire [255:0] ya_m, yr_m;
    wire         unused_co_ya, unused_co_yr;
    wide_add #(.W(256)) sub_ya (
        .a({1'b0, pk_q[254:0]}), .b(~{1'b0, P}), .cin(1'b1), .y(ya_m), .cout(unused_co_ya));
    wide_add #(.W(256)) sub_yr (
        .a({1'b0, sig_q[254:0]}), .b(~{1'b0, P}), .cin(1'b1), .y(yr_m), .cout(unused_co_yr));
    wire         ya_big = !ya_m[255];
    wire         yr_big = !yr_m[255];

    // ---------------- engine ----------------
    reg  [4:0] outstanding;
    wire       ld_free;
    wire       load = (fstate == F_LOAD) && (outstanding < 5'd16) && ld_free;
    wire       e_rsp_valid;
    wire [15:0] e_rsp_tag;
    wire [2:0]  e_rsp_code;

    engine eng (
        .clk       (clk),
        .rst       (rst),
        .ld_valid  (load),
        .ld_tag    (tag_q),
        .ld_ya     (ya_big ? ya_m[254:0] : pk_q[254:0]),
        .ld_yr     (yr_big ? yr_m[254:0] : sig_q[254:0]),
        .ld_sign_a (pk_q[255]),
        .ld_sign_r (sig_q[255]),
        .ld_r_bad  (yr_big),
        .ld_s_bad  (!s_ok),
        .ld_cof    (rule_q != 2'd0),
        .ld_amended(rule_q == 2'd2),
        .ld_a_bad  (ya_big),
        .ld_s      (sig_q[508:256]),
        .ld_k      (k),
        .ld_free   (ld_free),
        .rsp_valid (e_rsp_valid),
        .rsp_tag   (e_rsp_tag),
        .rsp_code  (e_rsp_code),
        .mul_busy  (mul_busy)
    );

    // ---------------- response FIFO ----------------
    reg [18:0] fifo [0:15];
    reg [3:0]  rd_ptr, wr_ptr;
    reg [4:0]  count;
    wire       pop = resp_valid && resp_ready;
    assign resp_valid = (count != 5'd0);
    assign resp_tag   = fifo[rd_ptr][18:3];
    assign resp_code  = fifo[rd_ptr][2:0];

    always @(posedge clk) begin
        if (rst) begin
            rd_ptr      <= 4'd0;
            wr_ptr      <= 4'd0;
            count       <= 5'd0;
            outstanding <= 5'd0;
        end else begin
            if (e_rsp_valid) begin
                fifo[wr_ptr] <= {e_rsp_tag, e_rsp_code};
                wr_ptr <= wr_ptr + 4'd1;
            end
            if (pop) rd_ptr <= rd_ptr + 4'd1;
            count       <= count + {4'd0, e_rsp_valid} - {4'd0, pop};
            outstanding <= outstanding + {4'd0, load} - {4'd0, pop};
        end
    end

    // ---------------- front-end sequence ----------------
    assign req_ready = (fstate == F_IDLE);
    wire   unused_busy = sha_busy ^ red_busy;

    always @(posedge clk) begin
        if (rst) begin
            fstate <= F_IDLE;
        end else begin
            case (fstate)
                F_IDLE: if (req_valid) begin
                    tag_q  <= req_tag;
                    pk_q   <= req_pubkey;
                    sig_q  <= req_sig;
                    rule_q <= req_rule;
                    fstate <= F_HASH;
                end
                F_HASH: if (sha_done) fstate <= F_RED0;
                F_RED0: fstate <= F_RED;
                F_RED:  if (red_done) fstate <= F_LOAD;
                F_LOAD: if (load) fstate <= F_IDLE;
                default: fstate <= F_IDLE;
            endcase
        end
    end

endmodule
