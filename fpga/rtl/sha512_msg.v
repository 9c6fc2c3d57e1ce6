// SHA-512 of (prefix || message) with the FIPS 180-4 padding done here.
//
// `start` (taken when `busy` is low) latches a 64-byte prefix (for ed25519,
// R || A; byte i at prefix[8i+7:8i]) and the message length in bytes
// (0..4096). The message then arrives as 64-bit words on msg_data under
// msg_valid/msg_ready, byte j of the word at [8j+7:8j] (little-endian
// packing), ceil(len/8) words; bytes past the length in the last word are
// ignored. `done` pulses for one cycle when `digest` holds the hash
// (digest[511:448] is H0, the first eight digest bytes big-endian); it stays
// valid until the next start.
//
// Because the prefix is 64 bytes, message word i is padded-stream word 8 + i:
// the padder only byte-swaps words, masks the tail, places the 0x80 byte and
// writes the 128-bit bit length into the last two words. Blocks are built
// one word per clock into a buffer while the compression core works on the
// previous block, so a message costs 16 + 82 clocks per block.
//
// Reset is synchronous and active high.

module sha512_msg (
    input  wire         clk,
    input  wire         rst,
    input  wire         start,
    input  wire [511:0] prefix,
    input  wire [12:0]  len,
    input  wire         msg_valid,
    output wire         msg_ready,
    input  wire [63:0]  msg_data,
    output wire         busy,
    output reg          done,
    output wire [511:0] digest
);

    localparam [1:0] S_IDLE = 2'd0, S_FILL = 2'd1, S_SEND = 2'd2, S_WAIT = 2'd3;

    reg [1:0]    state;
    reg [511:0]  pre_q;
    reg [12:0]   len_q;
    reg [13:0]   total;      // prefix + message bytes
    reg [10:0]   t;          // padded-stream word index
    reg [10:0]   last_word;  // index of the final word (16 * blocks - 1)
    reg [1023:0] blk;
    reg          first_block;

    wire core_ready;
    wire core_digest_valid;
    wire send = (state == S_SEND);

    sha512 core (
        .clk          (clk),
        .rst          (rst),
        .in_valid     (send),
        .in_ready     (core_ready),
        .first        (first_block),
        .block        (blk),
        .digest_valid (core_digest_valid),
        .digest       (digest)
    );

    // Message word index for padded word t (t >= 8) and whether it carries
    // message bytes.
    wire [10:0] mi        = t - 11'd8;
    wire [15:0] mi_bytes  = {2'd0, mi, 3'd0};
    wire        in_msg    = (t >= 11'd8) && (mi_bytes < {3'd0, len_q});

    // The word for position t, big-endian as SHA-512 wants it.
    reg [63:0] word;
    integer b;
    always @(*) begin
        word = 64'd0;
        if (t < 11'd8) begin
            for (b = 0; b < 8; b = b + 1)
                word[63 - 8*b -: 8] = pre_q[64*t[2:0] + 8*b +: 8];
        end else if (t == last_word) begin
            word = {47'd0, total, 3'd0};
        end else if (t == last_word - 11'd1) begin
            word = 64'd0;
        end else begin
            for (b = 0; b < 8; b = b + 1) begin
                if (mi_bytes + b[15:0] < {3'd0, len_q})
                    word[63 - 8*b -: 8] = msg_data[8*b +: 8];
                else if (mi_bytes + b[15:0] == {3'd0, len_q})
                    word[63 - 8*b -: 8] = 8'h80;
            end
        end
    end

    wire word_ok = !in_msg || msg_valid;
    assign msg_ready = (state == S_FILL) && in_msg;
    assign busy      = (state != S_IDLE);

    // Blocks: ceil((total + 17) / 128).
    wire [13:0] start_total = 14'd64 + {1'b0, len};
    // Only the block count (bits 13:7) of the padded length matters.
    /* verilator lint_off UNUSEDSIGNAL */
    wire [13:0] padded      = start_total + 14'd144;
    /* verilator lint_on UNUSEDSIGNAL */
    wire [10:0] words       = {padded[13:7], 4'd0};

    always @(posedge clk) begin
        done <= 1'b0;
        if (rst) begin
            state <= S_IDLE;
        end else begin
            case (state)
                S_IDLE: if (start) begin
                    pre_q       <= prefix;
                    len_q       <= len;
                    total       <= start_total;
                    last_word   <= words - 11'd1;
                    t           <= 11'd0;
                    first_block <= 1'b1;
                    state       <= S_FILL;
                end
                S_FILL: if (word_ok) begin
                    blk[1023 - 64*t[3:0] -: 64] <= word;
                    t <= t + 11'd1;
                    if (t[3:0] == 4'd15) state <= S_SEND;
                end
                S_SEND: if (core_ready) begin
                    first_block <= 1'b0;
                    state <= (t == last_word + 11'd1) ? S_WAIT : S_FILL;
                end
                default: if (core_digest_valid) begin   // S_WAIT
                    done  <= 1'b1;
                    state <= S_IDLE;
                end
            endcase
        end
    end

endmodule
