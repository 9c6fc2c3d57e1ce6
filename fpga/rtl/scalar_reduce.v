// Reduction of a 512-bit integer (the SHA-512 digest read little-endian)
// modulo the group order L = 2^252 + 27742317777372353535851937790883648493,
// and the S < L check.
//
// Bit-serial: from the top bit down, r = 2r + bit, minus L if that reaches L
// (r < L keeps 2r + 1 < 2L, so one conditional subtraction suffices). `start`
// (taken when `busy` is low) latches `x`; 512 clocks later `done` pulses and
// `r` holds x mod L until the next start.
//
// `s_ok` is combinational: the 256-bit little-endian `s` is below L.
//
// Reset is synchronous and active high.

module scalar_reduce (
    input  wire         clk,
    input  wire         rst,
    input  wire         start,
    input  wire [511:0] x,
    output wire         busy,
    output reg          done,
    output reg  [252:0] r,
    input  wire [255:0] s,
    output wire         s_ok
);

    localparam [253:0] L = 254'h1000000000000000000000000000000014def9dea2f79cd65812631a5cf5d3ed;

    reg [511:0] sh;
    reg [9:0]   left;

    wire [253:0] twice = {r, sh[511]};
    // twice - L and s - L as carry-select adds (rtl/wide_add.v). Bit 253 of
    // the first is zero whenever it is used (no borrow means twice - L < L <
    // 2^253); bit 256 of the second is the borrow, set when s < L.
    /* verilator lint_off UNUSEDSIGNAL */
    wire [254:0] diff;
    wire [256:0] s_minus_l;
    /* verilator lint_on UNUSEDSIGNAL */
    wire         unused_co_diff, unused_co_s;
    wide_add #(.W(255)) sub_l (
        .a({1'b0, twice}), .b(~{1'b0, L}), .cin(1'b1), .y(diff), .cout(unused_co_diff));
    wide_add #(.W(257)) sub_s (
        .a({1'b0, s}), .b(~{3'b000, L}), .cin(1'b1), .y(s_minus_l), .cout(unused_co_s));
    assign busy = (left != 10'd0);
    assign s_ok = s_minus_l[256];

    always @(posedge clk) begin
        done <= 1'b0;
        if (rst) begin
            left <= 10'd0;
        end else if (!busy) begin
            if (start) begin
                sh   <= x;
                r    <= 253'd0;
                left <= 10'd512;
            end
        end else begin
            sh   <= {sh[510:0], 1'b0};
            r    <= diff[254] ? twice[252:0] : diff[252:0];
            left <= left - 10'd1;
            if (left == 10'd1) done <= 1'b1;
        end
    end

endmodule
